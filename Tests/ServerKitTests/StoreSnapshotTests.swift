import Durability
import Testing
import Wire
@testable import ServerKit

/// Snapshots of a server's stores: written beside the running server from the stores as they were when the log
/// began a new segment, they replace the segments before it, and a restart reads back exactly what the server
/// held — whether it stopped before, during or after writing one.
struct StoreSnapshotTests {
    /// Every entry of a store with its write IDs, and every classic key with its value: what a restart must
    /// bring back.
    func contents(_ store: VersionedStore, _ classic: KeyValueStore) -> [String] {
        var lines: [String] = []
        store.forEachEntry {
            lines.append("\($0.key)=\($0.entry.value ?? "<deleted>")@\($0.entry.version) \($0.writeIDs)")
        }
        classic.forEachEntry { key, value in lines.append("classic \(key)=\(value.text)") }
        return lines.sorted()
    }

    @Test func aSnapshotReadsBackAsTheStoresItWasTakenFrom() throws {
        var store = VersionedStore()
        var classic = KeyValueStore()
        for index in 0..<500 {
            let version = Version(epoch: 3, counter: Int64(index))
            let value: String? = index % 7 == 0 ? nil : "value \(index) \u{00e9}\u{0000}"
            let key = "key\(index)"
            store.apply(VersionedEntry(value: value, version: version), to: key, at: store.position(of: key),
                        writeID: index % 2 == 0 ? WriteID(client: UInt64(index % 5), sequence: Int64(index + 1)) : nil,
                        nowMs: 0)
            classic["classic\(index)"] = EncodedString("classic value \(index)")
        }
        let disk = SimulatedFiles()
        let snapshot = StoreSnapshot(through: 1_234, store: store, classic: classic)
        let bytes = try snapshot.write(to: disk)
        #expect(try disk.names() == [SnapshotFile.name(through: 1_234)])
        #expect(try disk.read(SnapshotFile.name(through: 1_234))?.count == bytes)
        let recovered = try RecoveredState.recover(from: disk, mode: .always, recordLimits: .standard,
                                                   snapshotPolicy: .standard, nowMs: 0)
        #expect(recovered.snapshotEntries == 1_000 && recovered.logEntries == 0 && recovered.snapshotBytes == bytes)
        #expect(contents(recovered.store, recovered.classic.store) == contents(store, classic))
        #expect(recovered.log.segment == WriteAheadLog.segmentName(firstSequence: 1_235))
    }

    // MARK: A server writing snapshots

    func makeDriver(_ disk: SimulatedFiles, logBytesMin: Int = 4_096) throws
        -> (ReplicaDriver<RecordingHost>, RecordingHost)
    {
        let host = RecordingHost()
        let policy = SnapshotPolicy(logBytesMin: logBytesMin)
        let recovered = try RecoveredState.recover(from: disk, mode: .always, recordLimits: .standard,
                                                   snapshotPolicy: policy, nowMs: 0)
        let driver = ReplicaDriver(host: host, identity: ServerIdentity(id: "s1"), port: 38_000, advertisedHost: nil,
                                   heartbeatIntervalMs: 200, recovered: recovered, snapshotPolicy: policy)
        return (driver, host)
    }

    /// Carries out every log batch the driver hands over, at once; keeps snapshots for the test to write.
    func pump(_ driver: ReplicaDriver<RecordingHost>, _ host: RecordingHost, _ disk: SimulatedFiles) throws {
        var effects = host.take()
        while !effects.isEmpty {
            for case .writeLog(let batch) in effects {
                try WriteAheadLog.carryOut(batch, on: disk)
                driver.logWritten(nil)
            }
            effects = host.take()
        }
    }

    func value(_ index: Int, round: Int) -> String {
        "round \(round) of key \(index): " + String(repeating: "x", count: 80)
    }

    /// The log grows, a snapshot is taken as a new segment begins; the server goes on writing while the snapshot
    /// is written; the snapshot replaces the segments before it, and a restart reads the last value of every key.
    @Test func aSnapshotReplacesTheLogBeforeItWhileWritesGoOn() throws {
        let disk = SimulatedFiles()
        let (driver, host) = try makeDriver(disk)
        var responder = 0
        for round in 0..<3 {
            for index in 0..<40 {
                driver.receive(.set(key: "k\(index)", value: value(index, round: round)), from: responder)
                responder += 1
                try pump(driver, host, disk)
            }
        }
        let snapshot = try #require(host.snapshots.first, "the log passed 4096 bytes")
        #expect(host.snapshots.count == 1, "one snapshot at a time")
        // The server changes its stores after the snapshot was taken; the snapshot still holds them as they were.
        driver.receive(.set(key: "k0", value: "after the snapshot was taken"), from: responder)
        try pump(driver, host, disk)
        let written = try snapshot.write(to: disk)
        driver.snapshotWritten(.success(written))
        #expect(driver.snapshotsWritten == 1 && driver.lastSnapshotBytes == written)
        let names = Set(try disk.names())
        #expect(names.contains(SnapshotFile.name(through: snapshot.through)))
        let segments = names.filter { $0.hasPrefix("wal-") }
        #expect(segments == [WriteAheadLog.segmentName(firstSequence: snapshot.through + 1)],
                "the segments before the snapshot are removed: \(names)")

        let recovered = try RecoveredState.recover(from: disk, mode: .always, recordLimits: .standard,
                                                   snapshotPolicy: .standard, nowMs: 0)
        #expect(recovered.snapshotEntries == min(Int(snapshot.through), 40))
        #expect(recovered.logEntries == 121 - Int(snapshot.through))
        #expect(recovered.classic.store["k0"]?.text == "after the snapshot was taken")
        for index in 1..<40 { #expect(recovered.classic.store["k\(index)"]?.text == value(index, round: 2)) }
    }

    /// Killed while the snapshot is written (before it is renamed into place, or after but before the old
    /// segments are removed), the server reads back everything it acknowledged, and tidies what was left.
    @Test func aCrashDuringASnapshotLosesNothing() throws {
        for crashPoint in ["while writing", "after renaming"] {
            let disk = SimulatedFiles()
            let (driver, host) = try makeDriver(disk)
            for index in 0..<60 {
                driver.receive(.set(key: "k\(index)", value: value(index, round: 0)), from: index)
                try pump(driver, host, disk)
            }
            let snapshot = try #require(host.snapshots.first)
            let name = SnapshotFile.name(through: snapshot.through)
            if crashPoint == "while writing" {
                try disk.append([1, 2, 3, 4, 5], to: name + SnapshotFile.temporarySuffix)
            } else {
                _ = try snapshot.write(to: disk)
                // As if killed before the covered segments were removed: put one back.
                try disk.replace(WriteAheadLog.segmentName(firstSequence: 1), with: [0xFF])
            }
            disk.crash()
            let recovered = try RecoveredState.recover(from: disk, mode: .always, recordLimits: .standard,
                                                   snapshotPolicy: .standard, nowMs: 0)
            for index in 0..<60 {
                #expect(recovered.classic.store["k\(index)"]?.text == value(index, round: 0), "\(crashPoint)")
            }
            #expect(!recovered.removed.isEmpty, "\(crashPoint): the leftover is removed")
            #expect(try !disk.names().contains { $0.hasSuffix(SnapshotFile.temporarySuffix) })
        }
    }

    /// A snapshot that cannot be written loses nothing: the log keeps everything, and the server keeps serving.
    @Test func aFailedSnapshotIsLoggedAndTheLogKeepsEverything() throws {
        let disk = SimulatedFiles()
        let (driver, host) = try makeDriver(disk)
        for index in 0..<60 {
            driver.receive(.set(key: "k\(index)", value: value(index, round: 0)), from: index)
            try pump(driver, host, disk)
        }
        _ = try #require(host.snapshots.first)
        driver.snapshotWritten(.failure(.full(operation: "write", path: "/data/snap.tmp")))
        let warning = host.take().first
        guard case .log(let line, warning: true)? = warning else {
            Issue.record("expected a warning, got \(String(describing: warning))")
            return
        }
        #expect(line.contains("could not write a snapshot") && line.contains("Nothing is lost"))
        #expect(!driver.stoppedByDisk)
        let recovered = try RecoveredState.recover(from: disk, mode: .always, recordLimits: .standard,
                                                   snapshotPolicy: .standard, nowMs: 0)
        #expect(recovered.classic.store.count == 60 && recovered.snapshotEntries == 0)
    }
}
