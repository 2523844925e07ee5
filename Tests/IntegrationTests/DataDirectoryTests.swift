import Campaign
import ClientKit
import Foundation
import Glibc
import Linearizability
import Synchronization
import Testing
import Transport
import Wire

/// Servers with a data directory, as real processes on a real disk: SIGKILL loses nothing acknowledged, a torn
/// last record is cut off, damage before it stops start-up with its place named, and one directory has one owner.
@Suite(.serialized)
struct DataDirectoryTests {
    func classicSet(port: Int, _ key: String, _ value: String) throws -> JSONValue {
        try rawConnection(port: port).call(["cmd": "set", "key": .string(key), "val": .string(value)], timeoutMs: 5_000)
    }

    func classicGet(port: Int, _ key: String) throws -> JSONValue? {
        try rawConnection(port: port).call(["cmd": "get", "key": .string(key)], timeoutMs: 5_000).objectValue?["value"]
    }

    /// Every server killed at once, mid-stream, then started again on its directory: every write acknowledged
    /// before the kill is read back, replicated (`setr`) and classic (`set`) alike.
    @Test func everyAcknowledgedWriteSurvivesKillingEveryServerAtOnce() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directories = (0..<3).map { cluster.directory.appendingPathComponent("data\($0)").path }
        var ports: [Int] = []
        var ids: [String] = []
        for directory in directories {
            let started = try cluster.startServer(arguments: ["--data-dir", directory])
            ports.append(started.port)
            ids.append(started.id)
        }
        _ = try cluster.waitForView { $0.servers.count == 3 }
        let client = cluster.replicatedClient()
        var acknowledged: [String: String] = [:]
        for index in 0..<150 {
            let key = "key\(index)"
            try client.setr(key, "value\(index)")
            acknowledged[key] = "value\(index)"
        }
        try client.delr("key7")
        acknowledged["key7"] = nil
        #expect(try classicSet(port: ports[0], "classic", "kept").objectValue?["status"] == "ok")

        for server in cluster.servers { server.kill(SIGKILL) }
        var restartedPorts: [Int] = []
        for directory in directories {
            let restarted = try cluster.startServer(arguments: ["--data-dir", directory])
            restartedPorts.append(restarted.port)
            #expect(restarted.id == ids[restartedPorts.count - 1], "each server keeps the ID its directory holds")
            #expect(restarted.process.log.contains("recovered"), "\(restarted.process.log)")
        }
        let reader = cluster.replicatedClient()
        for index in 0..<150 {
            let key = "key\(index)"
            #expect(try reader.getr(key) == acknowledged[key], "\(key)")
        }
        #expect(try classicGet(port: restartedPorts[0], "classic") == "kept")
    }

    /// Servers that write snapshots as their logs grow: each directory keeps one snapshot and the log after it,
    /// not the whole history, and every server killed mid-stream reads every acknowledged write back from its
    /// snapshot and log.
    @Test func snapshotsReplaceTheLogAndARestartReadsThemBack() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directories = (0..<3).map { cluster.directory.appendingPathComponent("data\($0)").path }
        let arguments = { (directory: String) in ["--data-dir", directory, "--snapshot-log-bytes", "65536"] }
        for directory in directories { _ = try cluster.startServer(arguments: arguments(directory)) }
        _ = try cluster.waitForView { $0.servers.count == 3 }
        let client = cluster.replicatedClient()
        let padding = String(repeating: "p", count: 200)
        for round in 0..<3 {
            for index in 0..<500 { try client.setr("key\(index)", "round \(round) \(padding)") }
        }
        for server in cluster.servers { server.kill(SIGKILL) }
        for directory in directories {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            let snapshots = names.filter { $0.hasPrefix("snap-") && $0.hasSuffix(".snap") }
            #expect(snapshots.count == 1, "one snapshot kept: \(names)")
            let logBytes = try names.filter { $0.hasPrefix("wal-") }.reduce(0) { total, name in
                total + (try FileManager.default.attributesOfItem(
                    atPath: directory + "/" + name)[.size] as? Int ?? 0)
            }
            #expect(logBytes < 3 * 65_536, "the log before the snapshot is gone: \(logBytes) bytes in \(names)")
        }
        for directory in directories {
            let restarted = try cluster.startServer(arguments: arguments(directory))
            let recovery = restarted.process.log.split(separator: "\n").first { $0.contains("recovered") } ?? ""
            #expect(!recovery.contains("(0 from a snapshot"), "\(recovery)")
        }
        let reader = cluster.replicatedClient()
        for index in 0..<500 { #expect(try reader.getr("key\(index)") == "round 2 \(padding)", "key\(index)") }
    }

    /// A crash in the middle of a write leaves part of a record after the last one, over the zeros the segment was
    /// preallocated with: the restart cuts it off, says so, and serves everything before it.
    @Test func aTornLastRecordIsCutOffAndTheRestServed() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directory = cluster.directory.appendingPathComponent("data").path
        let server = try cluster.startServer(arguments: ["--data-dir", directory])
        #expect(try classicSet(port: server.port, "k", "before the tear").objectValue?["status"] == "ok")
        server.process.kill(SIGKILL)
        let segment = URL(fileURLWithPath: directory).appendingPathComponent("wal-0000000000000001.log")
        let bytes = try Data(contentsOf: segment)
        let recordsEnd = try #require(bytes.lastIndex { $0 != 0 }) + 1
        #expect(bytes.count > recordsEnd, "the segment is preallocated past its record")
        let handle = try FileHandle(forWritingTo: segment)
        try handle.seek(toOffset: UInt64(recordsEnd))
        try handle.write(contentsOf: Data([0, 0, 0, 40, 1, 2, 3, 4]))
        try handle.close()

        let restarted = try cluster.startServer(arguments: ["--data-dir", directory])
        #expect(try classicGet(port: restarted.port, "k") == "before the tear")
        #expect(restarted.process.log.contains(
            "cut off a record header whose checksum does not match at offset \(recordsEnd)"),
                "\(restarted.process.log)")
    }

    /// A damaged record with records after it is not a torn write: start-up stops, naming the file and offset and
    /// what to do, and the file is left as it was.
    @Test func damageBeforeTheEndStopsStartUpNamingTheFileAndOffset() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directory = cluster.directory.appendingPathComponent("data").path
        let server = try cluster.startServer(arguments: ["--data-dir", directory])
        for value in ["one", "two", "three"] { _ = try classicSet(port: server.port, "k", value) }
        server.process.kill(SIGKILL)
        let segment = URL(fileURLWithPath: directory).appendingPathComponent("wal-0000000000000001.log")
        var bytes = try Data(contentsOf: segment)
        bytes[14] ^= 0xFF
        try bytes.write(to: segment)

        let result = try runTool("server", ["--port", "0", "--viewleader", "127.0.0.1:\(cluster.viewLeaderPort)",
                                            "--data-dir", directory])
        #expect(result.status == 71)
        #expect(result.stderr.contains("wal-0000000000000001.log holds a record whose checksum does not match at "
            + "offset 0"), "\(result.stderr)")
        #expect(result.stderr.contains("restore the data directory from a backup"))
        #expect(try Data(contentsOf: segment) == bytes, "nothing was cut")
    }

    @Test func aSecondServerOnTheSameDirectoryIsRefused() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directory = cluster.directory.appendingPathComponent("data").path
        _ = try cluster.startServer(arguments: ["--data-dir", directory])
        let result = try runTool("server", ["--port", "0", "--viewleader", "127.0.0.1:\(cluster.viewLeaderPort)",
                                            "--data-dir", directory])
        #expect(result.status == 71)
        #expect(result.stderr.contains("another process is using this data directory"), "\(result.stderr)")
    }

    /// A disk filling up: before the log could fail, `set` is refused with a reason naming the reserve, reads go
    /// on, and the server keeps running. The reserve is set 8 MiB below what this disk has free now, so the test
    /// fills 8 MiB of the real disk, not all of it.
    @Test func aFillingDiskRefusesSetsWithAReasonWhileReadsGoOn() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directory = cluster.directory.appendingPathComponent("data").path
        var status = statvfs()
        #expect(statvfs(cluster.directory.path, &status) == 0)
        let freeBytes = Int(status.f_bavail) * Int(status.f_frsize)
        let reserve = freeBytes - (8 << 20)
        let server = try cluster.startServer(arguments: ["--data-dir", directory, "--min-free-disk", String(reserve)])
        let value = String(repeating: "v", count: 512 << 10)
        var refusal: String?
        var stored = 0
        while refusal == nil && stored < 100 {
            let reply = try classicSet(port: server.port, "k\(stored)", value)
            if reply.objectValue?["status"] == "ok" {
                stored += 1
            } else {
                refusal = reply.objectValue?["error"]?.stringValue
            }
        }
        let message = try #require(refusal, "no refusal after \(stored) writes of 512 KiB")
        #expect(message.contains("disk full") && message.contains("--min-free-disk"), "\(message)")
        #expect(try classicGet(port: server.port, "k0")?.stringValue == value)
        #expect(server.process.isRunning)
    }

    /// `--fsync everysec` writes each batch before replying (synced within a second): a crash of the process alone,
    /// which leaves the page cache to the kernel, loses nothing acknowledged.
    @Test func everysecLosesNothingAcknowledgedWhenOnlyTheProcessDies() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directory = cluster.directory.appendingPathComponent("data").path
        let server = try cluster.startServer(arguments: ["--data-dir", directory, "--fsync", "everysec"])
        for index in 0..<200 {
            #expect(try classicSet(port: server.port, "k\(index)", "v\(index)").objectValue?["status"] == "ok")
        }
        server.process.kill(SIGKILL)
        let restarted = try cluster.startServer(arguments: ["--data-dir", directory, "--fsync", "everysec"])
        for index in 0..<200 {
            #expect(try classicGet(port: restarted.port, "k\(index)")?.stringValue == "v\(index)")
        }
        let recovery = "recovered 200 entries (0 from a snapshot, 200 from the log)"
        #expect(restarted.process.log.contains(recovery), "\(restarted.process.log)")
    }

    /// The viewleader and every server SIGKILLed at once while two writers and a reader run, then all restarted
    /// (the viewleader on its state file, each server on its data directory): the history across the crash is
    /// linearizable, no write reported failed took effect, and every key ends with a value the history allows.
    @Test func killingTheViewLeaderAndEveryServerAtOnceKeepsTheHistoryLinearizable() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let directories = (0..<3).map { cluster.directory.appendingPathComponent("data\($0)").path }
        for directory in directories { try cluster.startServer(arguments: ["--data-dir", directory]) }
        let view = try cluster.waitUntilSynced(servers: 3)
        let ringBefore = Set(view.servers.map(\.id))
        try cluster.waitUntilServing(view)
        let history = Mutex<[RecordedOperation]>([])
        let stopping = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let startedNs = MonotonicClock.nowNs()
        let microseconds: @Sendable () -> Int64 = { Int64((MonotonicClock.nowNs() - startedNs) / 1_000) }
        let keys = ["a", "b", "c"]
        for process in 0..<3 {
            Thread {
                let client = cluster.replicatedClient()
                var sequence = 0
                while !stopping.load(ordering: .relaxed) {
                    sequence += 1
                    let key = keys[sequence % keys.count]
                    let invoked = microseconds()
                    var kind = RecordedOperation.Kind.write("p\(process)-\(sequence)")
                    var outcome = RecordedOperation.Outcome.ok
                    do throws(ReplicatedError) {
                        if process == 2 {
                            kind = .read(observed: try client.getr(key))
                        } else {
                            try client.setr(key, "p\(process)-\(sequence)")
                        }
                    } catch {
                        if case .unknownOutcome = error { outcome = .unknown } else {
                            outcome = process == 2 ? .unknown : .fail
                        }
                    }
                    history.withLock {
                        $0.append(RecordedOperation(process: process, key: key, kind: kind, invokedAt: invoked,
                                                    completedAt: microseconds(), outcome: outcome))
                    }
                }
                finished.signal()
            }.start()
        }
        usleep(700_000)
        cluster.viewLeader.kill(SIGKILL)
        for server in cluster.servers { server.kill(SIGKILL) }
        try cluster.restartViewLeader()
        for directory in directories { try cluster.startServer(arguments: ["--data-dir", directory]) }
        usleep(3_000_000)
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<3 { finished.wait() }

        let reader = cluster.replicatedClient()
        var operations = history.withLock { $0 }
        let end = microseconds()
        for key in keys {
            operations.append(RecordedOperation(process: 3, key: key, kind: .read(observed: try reader.getr(key)),
                                                invokedAt: end, completedAt: microseconds(), outcome: .ok))
        }
        let figures = WriteOutcomeFigures(history: operations, answeredFromWriteID: 0)
        print("whole cluster killed and restarted on its data: \(operations.count) operations; \(figures)")
        #expect(figures.failedButTookEffect == 0)
        #expect(LinearizabilityChecker.check(operations) == .linearizable)
        let acknowledgedBefore = operations.filter { !$0.kind.isRead && $0.outcome == .ok && $0.completedAt < 700_000 }
        #expect(acknowledgedBefore.count > 10, "the writers made progress before the crash")
        #expect(operations.contains { !$0.kind.isRead && $0.outcome == .ok && $0.invokedAt > 700_000 },
                "writes were acknowledged after the restart")
        let ringAfter = Set(try cluster.waitUntilSynced(servers: 3).servers.map(\.id))
        #expect(ringAfter == ringBefore, "the same IDs, so the same ring: no key moved")
    }

    /// A server SIGKILLed and started again on its directory keeps its ID (and so its ring position) as a new
    /// incarnation: restarted within its lease it replaces its previous self in a new epoch and pulls almost
    /// nothing; restarted after it expired it joins again and pulls only the keys written while it was away.
    @Test func aRestartedServerKeepsItsIDAndPullsOnlyWhatChangedWhileItWasAway() throws {
        // A 4 s lease, so the restart lands within it however loaded the machine is.
        let cluster = try LocalCluster(viewLeaderArguments: ["--lease", "4"])
        defer { cluster.stop() }
        let directories = (0..<3).map { cluster.directory.appendingPathComponent("data\($0)").path }
        var ids: [String] = []
        for directory in directories { ids.append(try cluster.startServer(arguments: ["--data-dir", directory]).id) }
        try cluster.waitUntilServing(try cluster.waitUntilSynced(servers: 3))
        let client = cluster.replicatedClient()
        for index in 0..<300 { try client.setr("key\(index)", "value \(index)") }
        func pulled(_ process: ChildProcess) -> Int {
            process.log.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: ": pulled ") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }.reduce(0, +)
        }

        // Within its lease: started again at once, before the viewleader noticed anything.
        cluster.server(withID: ids[0])!.kill(SIGKILL)
        let withinLease = try cluster.startServer(arguments: ["--data-dir", directories[0]])
        #expect(withinLease.id == ids[0])
        #expect(withinLease.process.log.contains("incarnation 2"), "\(withinLease.process.log)")
        try cluster.waitUntilServing(try cluster.waitUntilSynced(servers: 3))
        #expect(cluster.viewLeader.log.contains("server \(ids[0]) restarted at"), "\(cluster.viewLeader.log)")
        let pulledWithinLease = pulled(withinLease.process)
        #expect(pulledWithinLease < 30, "its directory held the 300 keys: it pulled \(pulledWithinLease) entries")

        // After its expiry: the others go on without it, then it joins again under the same ID.
        withinLease.process.kill(SIGKILL)
        _ = try cluster.waitForView { $0.servers.count == 2 }
        for index in 300..<350 { try client.setr("key\(index)", "value \(index)") }
        let afterExpiry = try cluster.startServer(arguments: ["--data-dir", directories[0]])
        #expect(afterExpiry.id == ids[0])
        let view = try cluster.waitUntilSynced(servers: 3)
        try cluster.waitUntilServing(view)
        #expect(Set(view.servers.map(\.id)) == Set(ids), "the ring is the one it was")
        let pulledAfterExpiry = pulled(afterExpiry.process)
        print("a restarted server pulled \(pulledWithinLease) entries after a restart within its lease and "
            + "\(pulledAfterExpiry) after one past its expiry (50 keys written while it was away; it holds 350)")
        #expect(pulledAfterExpiry >= 50 && pulledAfterExpiry < 100, "pulled \(pulledAfterExpiry) entries")
        let keys = try rawConnection(port: afterExpiry.port).call(["cmd": "query_all_keys"], timeoutMs: 5_000)
        #expect(keys.objectValue?["result"]?.arrayValue?.count == 350, "it holds every key, old and new")
        for index in 0..<350 { #expect(try client.getr("key\(index)") == "value \(index)") }
    }

    /// Without --data-dir a server keeps its data under the state directory, one directory per port, so a plain
    /// restart on the same port finds its keys and its ID; --in-memory keeps nothing.
    @Test func withoutADataDirectoryAServerKeepsItsDataByPortUnderTheStateDirectory() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let root = cluster.directory.appendingPathComponent("servers").path
        let inMemory = try cluster.startServer(arguments: ["--in-memory", "--state-dir", root])
        inMemory.process.kill(SIGTERM)
        _ = inMemory.process.waitForExit()
        #expect(!inMemory.process.log.contains("recovered"), "in memory: nothing read back")
        #expect(!FileManager.default.fileExists(atPath: root), "in memory: nothing written")
        // A fixed port below the kernel's ephemeral range, so no parallel test's port-0 listener or outgoing
        // connection can take it between the two starts; another fixed-port user is tried around.
        var started: (process: ChildProcess, port: Int, id: String)?
        for _ in 0..<5 where started == nil {
            started = try? cluster.startServer(arguments: ["--port", String(Int.random(in: 20_000...32_000)),
                                                           "--state-dir", root])
        }
        let first = try #require(started)
        let arguments = ["--port", String(first.port), "--state-dir", root]
        _ = try cluster.waitUntilSynced(servers: 1)
        let client = cluster.replicatedClient()
        for index in 0..<20 { try client.setr("key\(index)", "value \(index)") }
        first.process.kill(SIGKILL)
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/server-\(first.port)")
        #expect(names.contains("server-id") && names.contains { $0.hasPrefix("wal-") }, "\(names)")
        let second = try cluster.startServer(arguments: arguments)
        #expect(second.id == first.id, "the same directory, so the same ID")
        #expect(second.process.log.contains("recovered 20 entries"), "\(second.process.log)")
        for index in 0..<20 { #expect(try client.getr("key\(index)") == "value \(index)") }
    }
}
