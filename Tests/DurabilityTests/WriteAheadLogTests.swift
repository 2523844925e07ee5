import Placement
import Testing
import Wire
@testable import Durability

struct WriteAheadLogTests {
    let limits = LogEntryLimits(valueBytesMax: 1 << 16)

    func write(_ key: String, _ counter: Int64) -> LogEntry {
        .replicated(PulledEntry(key: key, entry: VersionedEntry(value: "v\(counter)",
                                                                version: Version(epoch: 1, counter: counter))))
    }

    func freshLog(_ mode: WriteAheadLog.SyncMode = .always) -> WriteAheadLog {
        WriteAheadLog(mode: mode, recovered: LogRecovery.Recovered(), nowMs: 0, preallocationBytes: 4_096)
    }

    /// Everything appended while one batch is being synced goes out in the next batch, under one sync.
    @Test func oneSyncCoversEveryEntryThatArrivedMeanwhile() throws {
        var log = freshLog()
        log.append([write("a", 1)])
        let first = try #require(taking(&log, nowMs: 0))
        #expect(first.through == 1 && first.sync)
        for counter in 2...50 { log.append([write("k\(counter)", Int64(counter))]) }
        #expect(taking(&log, nowMs: 0) == nil, "one batch at a time")
        #expect(log.releasedSequence == 0)
        log.finished(nowMs: 1)
        #expect(log.releasedSequence == 1)
        let second = try #require(taking(&log, nowMs: 1))
        #expect(second.through == 50 && second.sync)
        #expect(LogScan.payloads(of: second.bytes).payloads.count == 49)
        log.finished(nowMs: 2)
        #expect(log.releasedSequence == 50 && log.replyBarrier == 50)
        #expect(taking(&log, nowMs: 2) == nil)
    }

    /// `everysec` lets replies go once written and syncs at least once a second; `no` never syncs.
    @Test func everysecSyncsWithinASecondAndNoNeverSyncs() throws {
        var everysec = freshLog(.everysec)
        everysec.append([write("a", 1)])
        let written = try #require(taking(&everysec, nowMs: 0))
        #expect(!written.sync)
        everysec.finished(nowMs: 0)
        #expect(everysec.releasedSequence == 1 && everysec.syncedSequence == 0)
        #expect(taking(&everysec, nowMs: 999) == nil)
        let sync = try #require(taking(&everysec, nowMs: 1_000))
        #expect(sync.sync && sync.bytes.isEmpty && sync.through == 1)
        everysec.finished(nowMs: 1_000)
        #expect(everysec.syncedSequence == 1)

        var never = freshLog(.no)
        never.append([write("a", 1)])
        #expect(try #require(taking(&never, nowMs: 0)).sync == false)
        never.finished(nowMs: 0)
        #expect(taking(&never, nowMs: 100_000) == nil)
    }

    /// Batches carried out on a disk, then a crash: recovery reads back the synced entries, in order, and of the
    /// unsynced batch whatever whole records survived; the part of a record after them is cut off.
    @Test func recoveryReadsBackWhatWasSyncedAndCutsTheTornRest() throws {
        for tornBytes in [0, 1, 11, 12, 13, 26, 40, 1_000] {
            let disk = SimulatedFiles()
            var log = freshLog()
            let entries = (1...30).map { write("key\($0)", Int64($0)) }
            log.append(Array(entries[0..<20]))
            try WriteAheadLog.carryOut(try #require(taking(&log, nowMs: 0)), on: disk)
            log.finished(nowMs: 0)
            log.append(Array(entries[20...]))
            let unsynced = try #require(taking(&log, nowMs: 0))
            #expect(unsynced.zeroFill == nil, "the first batch preallocated room for the second")
            try WriteAheadLog.carryOut(unsynced, on: disk, syncing: false)
            disk.crash { _ in tornBytes }

            let recovered = try LogRecovery.recover(disk, limits: limits)
            let (survivors, tornRecord) = Self.wholeRecords(in: tornBytes, of: unsynced.bytes)
            #expect(recovered.entries == Array(entries[0..<20 + survivors]), "torn after \(tornBytes) bytes")
            #expect(recovered.lastSequence == UInt64(20 + survivors))
            #expect((recovered.cutOff != nil) == tornRecord)
            // The cut is durable: reading again finds a clean log.
            #expect(try LogRecovery.recover(disk, limits: limits).cutOff == nil)

            // Writing goes on after the recovered entries.
            var resumed = WriteAheadLog(mode: .always, recovered: recovered, nowMs: 0, preallocationBytes: 4_096)
            resumed.append([write("after", 99)])
            try WriteAheadLog.carryOut(try #require(taking(&resumed, nowMs: 0)), on: disk)
            #expect(try LogRecovery.recover(disk, limits: limits).entries
                == Array(entries[0..<20 + survivors]) + [write("after", 99)])
        }
    }

    /// How many records of `batch` a crash that kept its first `kept` bytes, over preallocated zeros, leaves whole
    /// (a record whose missing bytes were all zeros is whole), and whether part of the next one is left.
    static func wholeRecords(in kept: Int, of batch: [UInt8]) -> (count: Int, torn: Bool) {
        let onDisk = Array(batch.prefix(kept)) + [UInt8](repeating: 0, count: batch.count - min(kept, batch.count))
        var (start, count) = (0, 0)
        while start < batch.count {
            let length = batch.withUnsafeBytes { LogFrame.readBigEndian($0, at: start) }
            let end = start + LogFrame.headerBytes + Int(length)
            guard onDisk[start..<end] == batch[start..<end] else {
                return (count, onDisk[start...].contains { $0 != 0 })
            }
            (start, count) = (end, count + 1)
        }
        return (count, false)
    }

    /// Each batch goes right after the one before; one that would pass the zeros already written first fills the
    /// next whole chunks of `preallocationBytes`, and a new segment starts again from nothing.
    @Test func batchesFollowEachOtherAndPreallocateAheadInWholeChunks() throws {
        var log = WriteAheadLog(mode: .always, recovered: LogRecovery.Recovered(), nowMs: 0, preallocationBytes: 100)
        var end = 0
        var allocated = 0
        var fills = 0
        for counter in 1...40 {
            log.append((0..<counter % 4).map { write("k\(counter)-\($0)", Int64(counter)) })
            if counter == 25 { _ = log.startSegment() }
            while let batch = log.nextBatch(nowMs: 0) {
                if batch.offset == 0 && end > 0 {
                    (end, allocated) = (0, 0)
                    #expect(batch.segment == log.segment, "a new segment starts at its beginning")
                }
                #expect(batch.offset == end, "batch \(counter) follows the previous one")
                end += batch.bytes.count
                if let fill = batch.zeroFill {
                    fills += 1
                    #expect(fill.lowerBound == allocated && fill.upperBound > end && fill.upperBound % 100 == 0)
                    allocated = fill.upperBound
                } else {
                    #expect(end <= allocated, "no batch runs past the zeros written")
                }
                log.finished(nowMs: 0)
            }
        }
        #expect(fills > 5)
    }

    /// A preallocated segment read back: its zeros are its end, not damage, and writing goes on over them without
    /// filling again until they are used up; a crash in the middle of a fill loses nothing synced.
    @Test func aPreallocatedSegmentIsReadBackAndWrittenOnInPlace() throws {
        let disk = SimulatedFiles()
        var log = WriteAheadLog(mode: .always, recovered: LogRecovery.Recovered(), nowMs: 0, preallocationBytes: 4_096)
        let entries = (1...10).map { write("key\($0)", Int64($0)) }
        log.append(Array(entries[0..<5]))
        let first = try #require(taking(&log, nowMs: 0))
        #expect(first.zeroFill == 0..<4_096)
        try WriteAheadLog.carryOut(first, on: disk)
        log.finished(nowMs: 0)
        disk.crash()
        let recovered = try LogRecovery.recover(disk, limits: limits)
        #expect(recovered.entries == Array(entries[0..<5]) && recovered.cutOff == nil)
        #expect(recovered.currentSegmentBytes == first.bytes.count && recovered.currentSegmentFileBytes == 4_096)

        var resumed = WriteAheadLog(mode: .always, recovered: recovered, nowMs: 0, preallocationBytes: 4_096)
        resumed.append(Array(entries[5...]))
        let second = try #require(taking(&resumed, nowMs: 0))
        #expect(second.offset == first.bytes.count && second.zeroFill == nil)
        try WriteAheadLog.carryOut(second, on: disk)
        resumed.finished(nowMs: 0)
        #expect(try LogRecovery.recover(disk, limits: limits).entries == entries)

        // A batch past the preallocated end, torn anywhere in its fill or its records: the synced entries stay.
        let big = (11...60).map { write(String(repeating: "x", count: 90) + "\($0)", Int64($0)) }
        resumed.append(big)
        let crossing = try #require(taking(&resumed, nowMs: 0))
        let fill = try #require(crossing.zeroFill)
        for tornBytes in [0, 100, fill.count] {
            let copy = SimulatedFiles()
            for name in try disk.names() { try copy.replace(name, with: try #require(try disk.read(name))) }
            try WriteAheadLog.carryOut(crossing, on: copy, syncing: false)
            copy.crash { _ in tornBytes }
            #expect(try LogRecovery.recover(copy, limits: limits).entries == entries, "torn after \(tornBytes)")
        }
    }

    /// A damaged record with records after it stops recovery, naming the segment and offset; nothing is cut.
    @Test func damageBeforeTheEndStopsRecoveryWithTheFileAndOffset() throws {
        let disk = SimulatedFiles()
        var log = freshLog()
        log.append((1...3).map { write("key\($0)", Int64($0)) })
        let batch = try #require(taking(&log, nowMs: 0))
        var bytes = batch.bytes
        let secondRecord = LogFrame.headerBytes + write("key1", 1).payload.count
        bytes[secondRecord + LogFrame.headerBytes + 2] ^= 0x01
        try disk.replace(batch.segment, with: bytes)
        #expect {
            try LogRecovery.recover(disk, limits: limits)
        } throws: { error in
            guard case RecoveryError.corrupt(let segment, let offset, .payloadChecksum) = error else { return false }
            return segment == batch.segment && offset == secondRecord
                && "\(error)".contains(
                    "\(batch.segment) holds a record whose checksum does not match at offset \(secondRecord)")
        }
        #expect(try disk.read(batch.segment) == bytes, "nothing was cut")
    }

    @Test func aMissingSegmentIsRefused() throws {
        let disk = SimulatedFiles()
        try disk.replace(WriteAheadLog.segmentName(firstSequence: 1), with: LogFrame.framed(write("a", 1).payload))
        try disk.replace(WriteAheadLog.segmentName(firstSequence: 5), with: LogFrame.framed(write("b", 5).payload))
        #expect(throws: RecoveryError.self) { try LogRecovery.recover(disk, limits: limits) }
    }

    @Test func segmentNamesRoundTripAndOthersAreIgnored() {
        #expect(WriteAheadLog.segmentName(firstSequence: 1) == "wal-0000000000000001.log")
        #expect(WriteAheadLog.firstSequence(ofSegment: WriteAheadLog.segmentName(firstSequence: .max)) == .max)
        for other in ["LOCK", "server-id", "wal-1.log", "wal-000000000000000g.log", "wal-0000000000000000.log"] {
            #expect(WriteAheadLog.firstSequence(ofSegment: other) == nil, "\(other)")
        }
    }
}

/// `nextBatch` outside an expectation macro, which cannot take a mutating call.
func taking(_ log: inout WriteAheadLog, nowMs: Int64) -> WriteAheadLog.Batch? {
    log.nextBatch(nowMs: nowMs)
}
