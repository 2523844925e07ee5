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
        WriteAheadLog(mode: mode, recovered: LogRecovery.Recovered(), nowMs: 0)
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
            try disk.append(unsynced.bytes, to: unsynced.segment)
            disk.crash { _ in tornBytes }

            let recovered = try LogRecovery.recover(disk, limits: limits)
            let survivors = Self.wholeRecords(in: tornBytes, of: Array(entries[20...]))
            #expect(recovered.entries == Array(entries[0..<20 + survivors]), "torn after \(tornBytes) bytes")
            #expect(recovered.lastSequence == UInt64(20 + survivors))
            let frameEnds = entries[20...].reduce(into: [0]) {
                $0.append($0.last! + LogFrame.headerBytes + $1.payload.count)
            }
            #expect((recovered.cutOff != nil) == !frameEnds.contains(min(tornBytes, unsynced.bytes.count)))
            // The cut is durable: reading again finds a clean log.
            #expect(try LogRecovery.recover(disk, limits: limits).cutOff == nil)

            // Writing goes on after the recovered entries.
            var resumed = WriteAheadLog(mode: .always, recovered: recovered, nowMs: 0)
            resumed.append([write("after", 99)])
            try WriteAheadLog.carryOut(try #require(taking(&resumed, nowMs: 0)), on: disk)
            #expect(try LogRecovery.recover(disk, limits: limits).entries
                == Array(entries[0..<20 + survivors]) + [write("after", 99)])
        }
    }

    /// How many of `entries`' records lie whole within the first `bytes` bytes of their batch.
    static func wholeRecords(in bytes: Int, of entries: [LogEntry]) -> Int {
        var end = 0
        for (index, entry) in entries.enumerated() {
            end += LogFrame.headerBytes + entry.payload.count
            if end > bytes { return index }
        }
        return entries.count
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
