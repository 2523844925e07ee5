import ClientKit
import Foundation
import Glibc
import Placement
import Synchronization
import Testing
import Wire

/// The replicated store's guarantees against real processes: SIGKILL, SIGSTOP past the lease, joins, and a
/// viewleader restart, each followed by reading back every acknowledged write and checking exact placement.
@Suite(.serialized)
struct ReplicationTests {
    static let keyCount = 2_000

    /// Writes `count` keys (value "KEY=ROUND"), returning the acknowledged value of each.
    func writeKeys(_ client: ReplicatedClient, count: Int, round: Int) throws -> [String: String] {
        var written: [String: String] = [:]
        for index in 0..<count {
            let key = "key-\(index)"
            try client.setr(key, "\(key)=\(round)")
            written[key] = "\(key)=\(round)"
        }
        return written
    }

    func expectEveryKeyReadsBack(_ expected: [String: String], _ client: ReplicatedClient) throws {
        var wrong: [String] = []
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            let got = try client.getr(key)
            if got != value { wrong.append("\(key): got \(got ?? "nothing"), expected \(value)") }
        }
        let firstWrong = Array(wrong.prefix(5))
        #expect(wrong.count == 0, "\(wrong.count) keys wrong, first: \(firstWrong)")
    }

    @Test func fiveServersLoseNothingWhenTwoAreKilledAtOnceAndTwoJoin() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let servers = try (0..<5).map { _ in try cluster.startServer() }
        _ = try cluster.waitUntilSynced(servers: 5)
        let client = cluster.replicatedClient()
        let written = try writeKeys(client, count: Self.keyCount, round: 1)

        servers[1].process.kill(SIGKILL)
        servers[3].process.kill(SIGKILL)
        let three = try cluster.waitUntilSynced(servers: 3)
        try expectEveryKeyReadsBack(written, client)
        let threeProblems = try cluster.placementProblems(keys: written.keys, view: three)
        let firstThreeProblems = Array(threeProblems.prefix(5))
        #expect(threeProblems.count == 0, "\(threeProblems.count) misplaced, first: \(firstThreeProblems)")

        try cluster.startServer()
        try cluster.startServer()
        let five = try cluster.waitUntilSynced(servers: 5)
        try expectEveryKeyReadsBack(written, client)
        let problems = try cluster.placementProblems(keys: written.keys, view: five)
        let firstProblems = Array(problems.prefix(5))
        #expect(problems.count == 0, "\(problems.count) misplaced, first: \(firstProblems)")
    }

    @Test func writesRunningThroughKillsAndJoinsAreNeverLost() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let servers = try (0..<5).map { _ in try cluster.startServer() }
        _ = try cluster.waitUntilSynced(servers: 5)
        let load = WriteLoad(cluster: cluster, keys: 200)
        load.start()
        // Progress is waited for, not timed: how many writes fit in a second depends on the machine.
        try load.waitUntilAcknowledged(50)
        servers[0].process.kill(SIGKILL)
        servers[4].process.kill(SIGKILL)
        _ = try cluster.waitUntilSynced(servers: 3)
        try cluster.startServer()
        try cluster.startServer()
        _ = try cluster.waitUntilSynced(servers: 5)
        try load.waitUntilAcknowledged(load.acknowledged + 50)
        let outcome = load.stop()
        #expect(outcome.acknowledged >= 100, "the load kept writing through the faults")
        let view = try cluster.waitUntilSynced(servers: 5)
        let client = cluster.replicatedClient()
        var lost: [String] = []
        for (key, acceptable) in outcome.acceptableFinalValues {
            let got = try client.getr(key)
            if !acceptable.contains(got) { lost.append("\(key): read \(got ?? "nothing"), acceptable \(acceptable)") }
        }
        let firstLost = Array(lost.prefix(5))
        #expect(lost.count == 0, "\(lost.count) keys lost or stale, first: \(firstLost)")
        let problems = try cluster.placementProblems(keys: outcome.acceptableFinalValues.keys, view: view)
        #expect(problems.count == 0, "\(problems.count) misplaced")
    }

    @Test func serverPausedPastItsLeaseServesNothingStale() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<4 { try cluster.startServer() }
        let before = try cluster.waitUntilSynced(servers: 4)
        let client = cluster.replicatedClient()
        try client.setr("color", "blue")
        let primaryID = HashRing(memberIDs: before.servers.map(\.id)).primary(forKey: "color")!
        let primary = try #require(cluster.server(withID: primaryID))
        let primaryPort = try #require(splitAddress(before.servers.first { $0.id == primaryID }!.address)).port
        primary.signal(SIGSTOP)
        _ = try cluster.waitUntilSynced(servers: 3)
        // A new client: this one's cached view still names the stopped primary, and a write that times out there
        // is reported unknown rather than sent again.
        try cluster.replicatedClient().setr("color", "green")
        // Reads queued in its socket while it is stopped are handled the moment it wakes, before any heartbeat
        // reply can tell it about the new view: only its own lease check stands between them and "blue".
        let connection = try rawConnection(port: primaryPort)
        var batch: [UInt8] = []
        for _ in 0..<20 {
            FrameEncoder.append(["cmd": "getr", "key": "color", "epoch": .integer(before.epoch)], to: &batch)
        }
        try connection.sendRaw(batch, timeoutMs: 5_000)
        primary.signal(SIGCONT)
        for _ in 0..<20 {
            let reply = try connection.receive(timeoutMs: 5_000)
            #expect(reply.objectValue?["status"] == "retry", "a paused primary answered \(reply)")
        }
        #expect(try client.getr("color") == "green")
    }

    @Test func viewLeaderRestartLosesNoDataAndNoEpoch() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        _ = try (0..<4).map { _ in try cluster.startServer() }
        let before = try cluster.waitUntilSynced(servers: 4)
        let client = cluster.replicatedClient()
        let written = try writeKeys(client, count: 300, round: 1)
        try cluster.restartViewLeader()
        let after = try cluster.waitUntilSynced(servers: 4)
        #expect(after.epoch >= before.epoch)
        try expectEveryKeyReadsBack(written, client)
        let more = try writeKeys(client, count: 300, round: 2)
        try expectEveryKeyReadsBack(more, client)
    }

    @Test func deletedKeysStayDeletedThroughFailuresAndJoins() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let servers = try (0..<4).map { _ in try cluster.startServer() }
        _ = try cluster.waitUntilSynced(servers: 4)
        let client = cluster.replicatedClient()
        var written = try writeKeys(client, count: 200, round: 1)
        for index in stride(from: 0, to: 200, by: 2) {
            try client.delr("key-\(index)")
            written["key-\(index)"] = nil
        }
        servers[2].process.kill(SIGKILL)
        _ = try cluster.waitUntilSynced(servers: 3)
        try cluster.startServer()
        try cluster.startServer()
        let view = try cluster.waitUntilSynced(servers: 5)
        for index in stride(from: 0, to: 200, by: 2) {
            #expect(try client.getr("key-\(index)") == nil)
        }
        try expectEveryKeyReadsBack(written, client)
        let held = try cluster.keysByServer(view).values.reduce(Set<String>()) { $0.union($1) }
        #expect(held.filter { key in Int(key.dropFirst(4)).map { $0 % 2 == 0 } ?? false }.isEmpty,
                "no deleted key shows up in query_all_keys anywhere")
    }
}

/// Writers running on their own threads, recording for every key which final values are acceptable: the last
/// acknowledged value, or any later write whose outcome is unknown.
final class WriteLoad: @unchecked Sendable {
    struct Outcome {
        var acknowledged = 0
        var acceptableFinalValues: [String: Set<String?>] = [:]
    }

    private let cluster: LocalCluster
    private let keys: Int
    private let stopping = Atomic<Bool>(false)
    private let state = Mutex(Outcome())
    private let done = DispatchSemaphore(value: 0)

    init(cluster: LocalCluster, keys: Int) {
        self.cluster = cluster
        self.keys = keys
    }

    func start() {
        Thread { [self] in
            let client = cluster.replicatedClient()
            var sequence = 0
            while !stopping.load(ordering: .relaxed) {
                sequence += 1
                let key = "load-\(sequence % keys)"
                let value = "\(key)#\(sequence)"
                do {
                    try client.setr(key, value)
                    state.withLock {
                        $0.acknowledged += 1
                        $0.acceptableFinalValues[key] = [value]
                    }
                } catch ReplicatedError.unknownOutcome {
                    state.withLock { _ = $0.acceptableFinalValues[key, default: [nil]].insert(value) }
                } catch {
                    // Unavailable: nothing was written, so the acceptable values stay as they were.
                }
            }
            done.signal()
        }.start()
    }

    var acknowledged: Int { state.withLock { $0.acknowledged } }

    /// Waits until at least `count` writes were acknowledged in all; the load must make progress within 30 s.
    func waitUntilAcknowledged(_ count: Int) throws {
        let deadline = Date().addingTimeInterval(30)
        while acknowledged < count {
            guard Date() < deadline else {
                throw HarnessError.timedOut("the write load made no progress: \(acknowledged) of \(count) acknowledged")
            }
            usleep(10_000)
        }
    }

    func stop() -> Outcome {
        stopping.store(true, ordering: .relaxed)
        done.wait()
        return state.withLock { $0 }
    }
}
