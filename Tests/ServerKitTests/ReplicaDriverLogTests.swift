import Durability
import Testing
import Wire
@testable import ServerKit

/// A server with a data directory: nothing it changed is revealed (a reply, a heartbeat) before the log holds it.
struct ReplicaDriverLogTests {
    func makeDriver(_ mode: WriteAheadLog.SyncMode = .always) throws -> (ReplicaDriver<RecordingHost>, RecordingHost) {
        let host = RecordingHost()
        let recovered = try RecoveredState.recover(from: SimulatedFiles(), mode: mode, recordLimits: .standard,
                                                   snapshotPolicy: .standard, nowMs: host.nowMs)
        let driver = ReplicaDriver(host: host, identity: ServerIdentity(id: "s1"), port: 38_000, advertisedHost: nil,
                                   heartbeatIntervalMs: 200, recovered: recovered)
        return (driver, host)
    }

    func batches(_ effects: [RecordingHost.Effect]) -> [WriteAheadLog.Batch] {
        effects.compactMap { if case .writeLog(let batch) = $0 { batch } else { nil } }
    }

    func answers(_ effects: [RecordingHost.Effect]) -> [Int] {
        effects.compactMap { if case .answer(let responder, _) = $0 { responder } else { nil } }
    }

    /// A `set` is answered only once its batch is synced; a `get` that arrives meanwhile waits behind it (it could
    /// reveal the value), and both go out in order when the sync completes. Everything that arrives while one batch
    /// is being synced goes to the disk in one next batch.
    @Test func repliesWaitForTheSyncThatCoversWhatTheyMayReveal() throws {
        let (driver, host) = try makeDriver()
        driver.receive(.set(key: "k", value: "v1"), from: 1)
        var effects = host.take()
        #expect(answers(effects).isEmpty)
        let first = try #require(batches(effects).first)
        #expect(first.through == 1 && first.sync)

        driver.receive(.get(key: "k"), from: 2)
        driver.receive(.set(key: "k", value: "v2"), from: 3)
        driver.receive(.set(key: "k", value: "v3"), from: 4)
        effects = host.take()
        #expect(answers(effects).isEmpty && batches(effects).isEmpty, "one batch at a time")

        driver.logWritten(nil)
        effects = host.take()
        #expect(answers(effects) == [1, 2], "the set and the read behind it, in order")
        let second = try #require(batches(effects).first)
        #expect(second.through == 3, "both later sets in one batch")
        #expect(LogScan.payloads(of: second.bytes).payloads.count == 2)

        driver.logWritten(nil)
        #expect(answers(host.take()) == [3, 4])
        driver.receive(.get(key: "k"), from: 5)
        #expect(host.take() == [.answer(responder: 5, .storedValue(EncodedString("v3")))], "nothing to wait for")
    }

    /// A heartbeat may report a synced epoch, so it waits for the log like a reply does.
    @Test func aHeartbeatWaitsForTheLog() throws {
        let (driver, host) = try makeDriver()
        driver.timerFired(.heartbeat)
        #expect(host.take().contains { if case .callViewLeader(_, .heartbeat, _) = $0 { true } else { false } })
        driver.receive(.set(key: "k", value: "v"), from: 1)
        _ = host.take()
        driver.timerFired(.heartbeat)
        #expect(!host.take().contains { if case .callViewLeader = $0 { true } else { false } })
        driver.logWritten(nil)
        #expect(host.take().contains { if case .callViewLeader(_, .heartbeat, _) = $0 { true } else { false } })
    }

    /// A failed write or sync is never retried: the server stops, and nothing waiting on it is acknowledged.
    @Test func aFailedLogWriteStopsTheServerWithoutAcknowledging() throws {
        let (driver, host) = try makeDriver()
        driver.receive(.set(key: "k", value: "v"), from: 1)
        _ = host.take()
        driver.logWritten(.failed(operation: "sync", path: "/data/wal-0000000000000001.log", reason: "I/O error"))
        let effects = host.take()
        guard case .stopped(let message)? = effects.first, effects.count == 1 else {
            Issue.record("expected only a stop, got \(effects)")
            return
        }
        #expect(message.contains("cannot sync /data/wal-0000000000000001.log: I/O error"))
        driver.receive(.get(key: "k"), from: 2)
        driver.logWritten(nil)
        #expect(answers(host.take()).isEmpty)
    }

    /// `everysec` answers once a batch is written, and syncs on its timer.
    @Test func everysecAnswersOnceWrittenAndSyncsOnItsTimer() throws {
        let (driver, host) = try makeDriver(.everysec)
        driver.start()
        #expect(host.take().contains(.timer(afterMs: WriteAheadLog.everysecSyncIntervalMs, .logSync)))
        driver.receive(.set(key: "k", value: "v"), from: 1)
        let written = try #require(batches(host.take()).first)
        #expect(!written.sync)
        driver.logWritten(nil)
        #expect(answers(host.take()) == [1])
        host.nowMs += WriteAheadLog.everysecSyncIntervalMs
        driver.timerFired(.logSync)
        let effects = host.take()
        #expect(effects.contains(.timer(afterMs: WriteAheadLog.everysecSyncIntervalMs, .logSync)))
        let sync = try #require(batches(effects).first)
        #expect(sync.sync && sync.bytes.isEmpty)
    }
}

/// A data directory's disk running out of room: writes that add a value are refused while room remains, with a
/// reason; reads go on; nothing that was acknowledged is lost and the server never stops for it.
struct DiskReserveTests {
    @Test func aWriteIsRefusedWhenItWouldLeaveLessThanTheReserve() {
        let reserve = DiskReserve(freeBytesMin: 1_000)
        #expect(reserve.refusal(freeBytes: 2_000, unwrittenBytes: 0, incomingBytes: 872) == nil)
        #expect(reserve.refusal(freeBytes: 2_000, unwrittenBytes: 0, incomingBytes: 873) != nil)
        #expect(reserve.refusal(freeBytes: 2_000, unwrittenBytes: 1, incomingBytes: 872) != nil,
                "bytes logged and not yet written count")
        #expect(reserve.refusal(freeBytes: .max, unwrittenBytes: 0, incomingBytes: 1 << 20) == nil)
    }

    @Test func aServerOnAFillingDiskRefusesSetsAndGoesOnReading() throws {
        let disk = SimulatedFiles()
        disk.capacityBytes = 30_000
        let host = RecordingHost()
        let recovered = try RecoveredState.recover(from: disk, mode: .always, recordLimits: .standard,
                                                   snapshotPolicy: SnapshotPolicy(logBytesMin: 4_096),
                                                   nowMs: host.nowMs)
        let driver = ReplicaDriver(host: host, identity: ServerIdentity(id: "s1"), port: 38_000, advertisedHost: nil,
                                   heartbeatIntervalMs: 200, recovered: recovered,
                                   diskReserve: DiskReserve(freeBytesMin: 5_000))
        let value = String(repeating: "v", count: 1_000)
        var refusal: String?
        var stored = 0
        for index in 0..<30 where refusal == nil {
            driver.receive(.set(key: "k\(index)", value: value), from: index)
            for effect in host.take() {
                switch effect {
                case .writeLog(let batch):
                    try WriteAheadLog.carryOut(batch, on: disk)
                    driver.logWritten(nil, freeBytes: try disk.freeBytes())
                    #expect(host.take() == [.answer(responder: index, .ok)])
                    stored += 1
                case .answer(_, .error(let message)):
                    refusal = message
                default:
                    Issue.record("unexpected \(effect)")
                }
            }
        }
        let message = try #require(refusal)
        #expect(message.hasPrefix("disk full: the data directory's disk has "), "\(message)")
        #expect(message.contains("keeps 5000 (--min-free-disk)"))
        let freeAtTheEnd = try disk.freeBytes()
        #expect(stored >= 10 && freeAtTheEnd >= 5_000, "refused while room remained")
        driver.receive(.get(key: "k0"), from: 100)
        #expect(host.take() == [.answer(responder: 100, .storedValue(EncodedString(value)))])
        #expect(!driver.stoppedByDisk)
    }
}
