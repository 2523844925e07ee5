import Foundation
import Testing
@testable import Durability

/// The real directory: on this machine's disk, with real descriptors and locks.
struct DirectoryFilesTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rkv-files-\(UUID().uuidString)/data").path
    }

    @Test func appendsSyncsReplacesAndRemoves() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let files = try DirectoryFiles(path: path)
        #expect(try files.read("absent") == nil)
        try files.append(Array("one ".utf8), to: "log")
        try files.append(Array("two".utf8), to: "log")
        try files.sync("log")
        #expect(try files.read("log") == Array("one two".utf8))
        try files.truncate("log", to: 3)
        #expect(try files.read("log") == Array("one".utf8))
        try files.append(Array("!".utf8), to: "log")
        #expect(try files.read("log") == Array("one!".utf8))
        try files.replace("id", with: Array("abc".utf8))
        try files.replace("id", with: Array("def".utf8))
        #expect(try files.read("id") == Array("def".utf8))
        #expect(Set(try files.names()) == ["log", "id"])
        try files.remove("id")
        try files.remove("id")
        #expect(try files.names() == ["log"])
    }

    /// Two servers started on one directory would interleave their logs; the second is refused with words saying so.
    @Test func aSecondOpenOfTheSameDirectoryIsRefusedUntilTheFirstCloses() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let first = try DirectoryFiles(path: path)
        #expect {
            try DirectoryFiles(path: path)
        } throws: { error in
            "\(error)".contains("another process is using this data directory")
        }
        first.close()
        _ = try DirectoryFiles(path: path)
    }

    /// A torn end on a real file is cut off and the log goes on; a full write-and-recover round trip on disk, over a
    /// preallocated segment: zeros after the records are its end, a record written in part over them is torn.
    @Test(arguments: [30, 7])
    func recoveryOnARealDirectoryCutsATornEnd(tornBytes: Int) throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let limits = LogEntryLimits(valueBytesMax: 1 << 16)
        let entries = (1...10).map {
            LogEntry.classicSet(key: "k\($0)", value: String(repeating: "v", count: $0 * 100))
        }
        do {
            let files = try DirectoryFiles(path: path)
            var log = WriteAheadLog(mode: .always, recovered: LogRecovery.Recovered(), nowMs: 0,
                                    preallocationBytes: 4_096)
            log.append(entries)
            try WriteAheadLog.carryOut(try #require(taking(&log, nowMs: 0)), on: files)
            let fileBytes = try #require(try files.read(log.segment)?.count)
            #expect(fileBytes > log.segmentBytes && fileBytes % 4_096 == 0, "the segment is preallocated")
            let clean = try LogRecovery.recover(files, limits: limits)
            #expect(clean.entries == entries && clean.cutOff == nil, "zeros after the records are no damage")
            #expect(clean.currentSegmentBytes == log.segmentBytes)
            // Part of a record over the zeros, as a crash in the middle of a write leaves it.
            try files.write(Array(LogFrame.framed(entries[0].payload).prefix(tornBytes)), to: log.segment,
                            at: log.segmentBytes)
        }
        let files = try DirectoryFiles(path: path)
        let recovered = try LogRecovery.recover(files, limits: limits)
        #expect(recovered.entries == entries)
        let cutOff = try #require(recovered.cutOff)
        #expect(cutOff.damage == (tornBytes >= LogFrame.headerBytes ? .payloadChecksum : .headerChecksum))
        #expect(try files.read(cutOff.segment)?.count == cutOff.offset, "the torn record and the zeros are cut off")
        #expect(try LogRecovery.recover(files, limits: limits).cutOff == nil)
    }
}
