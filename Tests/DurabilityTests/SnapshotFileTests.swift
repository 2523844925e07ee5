import Placement
import Testing
import Wire
@testable import Durability

/// Snapshots: what a writer frames reads back entry for entry; any damage, a missing trailer or a header that
/// disagrees with the file's name is refused with the file and offset named, never read as a shorter snapshot.
struct SnapshotFileTests {
    let limits = LogEntryLimits(valueBytesMax: 1 << 16)

    func entries(_ count: Int) -> [LogEntry] {
        (0..<count).map(entry)
    }

    /// Classic sets, values and tombstones with a remembered write ID each.
    func entry(_ index: Int) -> LogEntry {
        if index % 3 == 2 { return .classicSet(key: "c\(index)", value: "classic \(index)") }
        let version = Version(epoch: 2, counter: Int64(index))
        let value: String? = index % 5 == 4 ? nil : "value \(index)"
        let remembered = RememberedWrite(writeID: WriteID(client: 7, sequence: Int64(index + 1)), version: version)
        return .replicated(PulledEntry(key: "k\(index)", entry: VersionedEntry(value: value, version: version),
                                       writeIDs: [remembered]))
    }

    func snapshot(_ written: [LogEntry], through: UInt64, takingEvery: Int = 10) -> [UInt8] {
        var writer = SnapshotFile.Writer(through: through)
        var bytes: [UInt8] = []
        for (index, entry) in written.enumerated() {
            writer.add(entry)
            if index % takingEvery == 0 { bytes += writer.take() }
        }
        return bytes + writer.finish()
    }

    func read(_ bytes: [UInt8], name: String) throws -> [LogEntry] {
        var read: [LogEntry] = []
        let count = try SnapshotFile.read(bytes, name: name, limits: limits) { read.append($0) }
        #expect(count == read.count)
        return read
    }

    @Test func whatTheWriterFramesReadsBackInOrder() throws {
        let written = entries(100)
        let name = SnapshotFile.name(through: 4_321)
        #expect(try read(snapshot(written, through: 4_321), name: name) == written)
        #expect(try read(snapshot([], through: 4_321), name: name) == [], "an empty store's snapshot")
    }

    @Test func anyFlippedByteIsRefusedWithTheOffset() throws {
        let bytes = snapshot(entries(12), through: 9)
        let name = SnapshotFile.name(through: 9)
        for offset in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[offset] ^= 0x20
            #expect(throws: RecoveryError.self, "a flipped byte at \(offset)") { try read(damaged, name: name) }
        }
    }

    @Test func aSnapshotCutShortIsRefusedNotReadAsAShorterOne() throws {
        let bytes = snapshot(entries(12), through: 9)
        let name = SnapshotFile.name(through: 9)
        let boundaries = LogScan.payloads(of: bytes).payloads.count
        #expect(boundaries == 14, "header, 12 entries, trailer")
        for length in [0, 5, LogFrame.headerBytes, bytes.count / 2, bytes.count - 1] {
            #expect(throws: RecoveryError.self, "cut to \(length) bytes") {
                try read(Array(bytes.prefix(length)), name: name)
            }
        }
        // Cut exactly at a record boundary before the trailer: every record is whole, only the trailer is missing.
        var withoutTrailer = SnapshotFile.Writer(through: 9)
        for entry in entries(12) { withoutTrailer.add(entry) }
        #expect {
            try read(withoutTrailer.take(), name: name)
        } throws: { error in
            "\(error)".contains("no trailer: the snapshot ends early")
        }
    }

    @Test func aHeaderThatDisagreesWithTheNameIsRefused() {
        #expect(throws: RecoveryError.self) {
            try read(snapshot(entries(3), through: 9), name: SnapshotFile.name(through: 10))
        }
    }

    @Test func namesRoundTripAndOthersAreIgnored() {
        #expect(SnapshotFile.name(through: 26) == "snap-000000000000001a.snap")
        #expect(SnapshotFile.sequence(ofSnapshot: SnapshotFile.name(through: .max)) == .max)
        for other in ["LOCK", "snap-1a.snap", "snap-000000000000001a.snap.tmp", "wal-000000000000001a.log"] {
            #expect(SnapshotFile.sequence(ofSnapshot: other) == nil, "\(other)")
        }
    }

    // MARK: Recovery from a snapshot and the log after it

    func segment(_ first: UInt64, _ entries: [LogEntry]) -> (String, [UInt8]) {
        (WriteAheadLog.segmentName(firstSequence: first), entries.flatMap { LogFrame.framed($0.payload) })
    }

    /// The newest snapshot, then the segments after it; segments it covers, older snapshots and an unfinished
    /// snapshot are leftovers of a crash, removed.
    @Test func recoveryReadsTheNewestSnapshotThenTheLogAfterIt() throws {
        let all = entries(30)
        let disk = SimulatedFiles()
        for (name, bytes) in [segment(1, Array(all[0..<10])), segment(11, Array(all[10..<20])),
                              segment(21, Array(all[20..<30]))] {
            try disk.replace(name, with: bytes)
        }
        try disk.replace(SnapshotFile.name(through: 10), with: snapshot(Array(all[0..<10]), through: 10))
        try disk.replace(SnapshotFile.name(through: 20), with: snapshot(Array(all[0..<20]), through: 20))
        try disk.replace(SnapshotFile.name(through: 30) + SnapshotFile.temporarySuffix, with: [1, 2, 3])
        let recovered = try LogRecovery.recover(disk, limits: limits)
        #expect(recovered.entries == all)
        #expect(recovered.snapshot?.name == SnapshotFile.name(through: 20) && recovered.snapshot?.entries == 20)
        #expect(recovered.logEntries == 10 && recovered.lastSequence == 30)
        #expect(recovered.currentSegment == WriteAheadLog.segmentName(firstSequence: 21))
        #expect(Set(try disk.names()) == [SnapshotFile.name(through: 20), WriteAheadLog.segmentName(firstSequence: 21)])
        #expect(Set(recovered.removed).count == 4)
    }

    /// A snapshot with no log after it: new entries go to the segment that begins after it.
    @Test func aSnapshotAloneContinuesAfterItsSequence() throws {
        let disk = SimulatedFiles()
        try disk.replace(SnapshotFile.name(through: 7), with: snapshot(entries(5), through: 7))
        let recovered = try LogRecovery.recover(disk, limits: limits)
        #expect(recovered.entries == entries(5) && recovered.lastSequence == 7)
        #expect(recovered.currentSegment == WriteAheadLog.segmentName(firstSequence: 8))
    }

    @Test func aSegmentMissingAfterTheSnapshotIsRefused() throws {
        let disk = SimulatedFiles()
        try disk.replace(SnapshotFile.name(through: 7), with: snapshot(entries(5), through: 7))
        let (name, bytes) = segment(9, entries(2))
        try disk.replace(name, with: bytes)
        #expect(throws: RecoveryError.self) { try LogRecovery.recover(disk, limits: limits) }
    }

    /// A damaged snapshot stops start-up: the segments it replaced are gone, so nothing could stand in for it.
    @Test func aDamagedSnapshotStopsRecoveryNamingIt() throws {
        let disk = SimulatedFiles()
        var bytes = snapshot(entries(5), through: 7)
        bytes[bytes.count / 2] ^= 0x01
        try disk.replace(SnapshotFile.name(through: 7), with: bytes)
        #expect {
            try LogRecovery.recover(disk, limits: limits)
        } throws: { error in
            "\(error)".hasPrefix("\(SnapshotFile.name(through: 7)) holds ")
        }
    }

    // MARK: The log's side: a new segment at each snapshot

    /// Starting a segment closes the current one with a synced batch that goes before anything of the new one, so
    /// only the last segment can ever end torn; the new one is named after the entry that follows.
    @Test func aNewSegmentBeginsOnlyAfterTheOldOneIsSynced() throws {
        var log = WriteAheadLog(mode: .no, recovered: LogRecovery.Recovered(), nowMs: 0)
        log.append(Array(entries(3)))
        let inFlight = try #require(taking(&log, nowMs: 0))
        #expect(!inFlight.sync)
        log.append(Array(entries(5)[3...]))
        #expect(log.startSegment() == 5)
        #expect(log.segment == WriteAheadLog.segmentName(firstSequence: 6) && log.segmentBytes == 0)
        log.append(entries(1))
        #expect(!log.earlierSegmentsSettled)
        log.finished(nowMs: 0)
        let seal = try #require(taking(&log, nowMs: 0))
        #expect(seal.segment == WriteAheadLog.segmentName(firstSequence: 1) && seal.sync && seal.through == 5)
        #expect(LogScan.payloads(of: seal.bytes).payloads.count == 2)
        #expect(!log.earlierSegmentsSettled)
        log.finished(nowMs: 0)
        #expect(log.earlierSegmentsSettled && log.syncedSequence == 5)
        let next = try #require(taking(&log, nowMs: 0))
        #expect(next.segment == WriteAheadLog.segmentName(firstSequence: 6) && next.through == 6 && !next.sync)
        #expect(log.earlierSegmentsSettled, "the writer is on the new segment")
    }
}
