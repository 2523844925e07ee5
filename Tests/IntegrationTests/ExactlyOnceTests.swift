import ClientKit
import Foundation
import Glibc
import Linearizability
import Placement
import Synchronization
import Testing
import Transport
import Wire

/// Exactly-once writes against real processes: a write whose primary dies between `replicate` and its reply is
/// retried under its write ID and applied once, and no write reported failed ever takes effect.
@Suite(.serialized)
struct ExactlyOnceTests {
    /// A `setr` of `key` as this project's client sends it, with write ID `writeID`.
    static func setr(_ key: String, _ value: String, _ writeID: WriteID, epoch: Int64, resent: Bool) -> JSONValue {
        var fields: JSONObject = ["cmd": "setr", "key": .string(key), "val": .string(value), "epoch": .integer(epoch)]
        writeID.add(to: &fields)
        if resent { fields["resent"] = true }
        return .object(fields)
    }

    static func connection(to address: String) throws -> FrameConnection {
        let (host, port) = splitAddress(address)!
        return try FrameConnection(host: host, port: port, timeoutMs: 5_000)
    }

    /// The write reaches one backup, the primary is SIGKILLed before it can answer, a reader sees the write, another
    /// client overwrites the key, and only then does the first client's retry arrive. Applying the retry would put
    /// the old value back after the newer, acknowledged one; it must be answered from the remembered write ID.
    @Test func aWriteRetriedAfterItsPrimaryDiedIsAnsweredFromItsIDNotAppliedAgain() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<3 { try cluster.startServer() }
        let view = try cluster.waitUntilSynced(servers: 3)
        try cluster.waitUntilServing(view)
        let key = "exactly-once"
        let replicas = HashRing(memberIDs: view.servers.map(\.id)).replicaSet(forKey: key)
        let process = { (id: String) throws in
            guard let server = cluster.server(withID: id) else { throw HarnessError.unexpected("no server \(id)") }
            return server
        }
        let primaryAddress = view.servers.first { $0.id == replicas[0] }!.address

        // One backup stopped: the primary waits for it, holding the write, while the other backup applies it.
        try process(replicas[2]).signal(SIGSTOP)
        let writeID = WriteID(client: 0x5EED, sequence: 1)
        let first = try Self.connection(to: primaryAddress)
        try first.send(Self.setr(key, "first", writeID, epoch: view.epoch, resent: false), timeoutMs: 5_000)
        usleep(300_000)
        try process(replicas[0]).kill(SIGKILL)
        guard case .mayHaveArrived = first.exchange(["cmd": "getr", "key": "x", "epoch": 0], timeoutMs: 2_000) else {
            Issue.record("the primary is dead: the connection must break")
            return
        }
        try process(replicas[2]).signal(SIGCONT)
        let two = try cluster.waitUntilSynced(servers: 2)
        try cluster.waitUntilServing(two)

        let reader = cluster.replicatedClient()
        #expect(try reader.getr(key) == "first", "the write reached a backup, so after failover it is the key's value")
        try cluster.replicatedClient().setr(key, "second")
        let newPrimary = HashRing(memberIDs: two.servers.map(\.id)).primary(forKey: key)!
        let retry = try Self.connection(to: two.servers.first { $0.id == newPrimary }!.address)
        defer { retry.close() }
        let answer = try retry.call(Self.setr(key, "first", writeID, epoch: two.epoch, resent: true), timeoutMs: 5_000)
        #expect(answer == ["status": "ok", "deduplicated": true])
        #expect(try reader.getr(key) == "second", "the retry must not undo the later write")
    }

    /// Writers on one key (a fresh one per round, so the checker's search stays small) through the real client
    /// library while the key's primary is SIGKILLed over and over:
    /// no write reported failed takes effect, the history is linearizable (a write applied twice around a later one
    /// would not be), and maybe-applied writes are retried instead of ending unknown.
    @Test func writesThroughRepeatedPrimaryKillsApplyOnceAndNoFailedWriteTakesEffect() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<4 { try cluster.startServer() }
        var view = try cluster.waitUntilSynced(servers: 4)
        try cluster.waitUntilServing(view)
        let round = Atomic<Int>(0)
        let history = Mutex<[RecordedOperation]>([])
        let answeredFromWriteID = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let startedNs = MonotonicClock.nowNs()
        let microseconds: @Sendable () -> Int64 = { Int64((MonotonicClock.nowNs() - startedNs) / 1_000) }

        for process in 0..<3 {
            Thread {
                let client = cluster.replicatedClient()
                var sequence = 0
                while !stopping.load(ordering: .relaxed) {
                    sequence += 1
                    let key = "contended-\(round.load(ordering: .relaxed))"
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
                answeredFromWriteID.add(client.retriesAnsweredFromWriteID, ordering: .relaxed)
                finished.signal()
            }.start()
        }
        for kill in 0..<4 {
            usleep(400_000)
            let primary = HashRing(memberIDs: view.servers.map(\.id)).primary(forKey: "contended-\(kill)")!
            try #require(cluster.server(withID: primary)).kill(SIGKILL)
            try cluster.startServer()
            // Until the dead primary expires, a view of four synced servers may still be the one it was in.
            repeat {
                usleep(50_000)
                view = try cluster.waitUntilSynced(servers: 4)
            } while view.servers.contains { $0.id == primary }
            round.store(kill + 1, ordering: .relaxed)
        }
        usleep(400_000)
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<3 { finished.wait() }

        let operations = history.withLock { $0 }
        let figures = WriteOutcomeFigures(history: operations,
                                          answeredFromWriteID: answeredFromWriteID.load(ordering: .relaxed))
        print("exactly-once under primary kills: \(operations.count) operations; \(figures)")
        #expect(figures.failedButTookEffect == 0)
        #expect(LinearizabilityChecker.check(operations) == .linearizable)
        #expect(operations.count { $0.outcome == .ok && !$0.kind.isRead } > 20, "the writers made progress")
    }
}

extension RecordedOperation.Kind {
    var isRead: Bool {
        if case .read = self { return true }
        return false
    }
}
