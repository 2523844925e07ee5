import ClientKit
import Foundation
import Glibc
import Placement
import Synchronization
import Testing
import Wire

/// One writer raises a counter while readers read it, through a primary's SIGKILL and a join: no read may
/// return less than a write acknowledged before the read began, and no reader may see the counter go down.
@Suite(.serialized)
struct LinearizabilityTests {
    @Test func readsNeverGoBackwardsNorMissAcknowledgedWritesThroughFailoverAndJoin() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<4 { try cluster.startServer() }
        let view = try cluster.waitUntilSynced(servers: 4)
        let acknowledged = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let violations = Mutex<[String]>([])
        let readsDone = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)

        Thread {
            let client = cluster.replicatedClient()
            var next = 1
            while !stopping.load(ordering: .relaxed) {
                if (try? client.setr("counter", String(next))) != nil {
                    acknowledged.store(next, ordering: .sequentiallyConsistent)
                }
                next += 1
            }
            finished.signal()
        }.start()
        for reader in 0..<2 {
            Thread {
                let client = cluster.replicatedClient()
                var lastSeen = 0
                while !stopping.load(ordering: .relaxed) {
                    let floor = acknowledged.load(ordering: .sequentiallyConsistent)
                    let text: String?
                    do {
                        text = try client.getr("counter")
                    } catch {
                        continue
                    }
                    // Not found reads as 0: the counter before its first write.
                    let value = text.map { Int($0) ?? -1 } ?? 0
                    if value < floor {
                        violations.withLock { $0.append("reader \(reader) read \(value) after \(floor) was acknowledged") }
                    }
                    if value < lastSeen {
                        violations.withLock { $0.append("reader \(reader) read \(value) after reading \(lastSeen)") }
                    }
                    lastSeen = max(lastSeen, value)
                    readsDone.add(1, ordering: .relaxed)
                }
                finished.signal()
            }.start()
        }

        // Progress is waited for, not timed: how many operations fit in a second depends on the machine.
        let progress = { (writes: Int, reads: Int) throws in
            let deadline = Date().addingTimeInterval(30)
            while acknowledged.load(ordering: .relaxed) < writes || readsDone.load(ordering: .relaxed) < reads {
                guard Date() < deadline else { throw HarnessError.timedOut("no progress through the faults") }
                usleep(10_000)
            }
        }
        try progress(10, 10)
        let primaryID = HashRing(memberIDs: view.servers.map(\.id)).primary(forKey: "counter")!
        cluster.server(withID: primaryID)?.kill(SIGKILL)
        _ = try cluster.waitUntilSynced(servers: 3)
        try cluster.startServer()
        _ = try cluster.waitUntilSynced(servers: 4)
        try progress(acknowledged.load(ordering: .relaxed) + 11, readsDone.load(ordering: .relaxed) + 11)
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<3 { finished.wait() }

        let found = violations.withLock { Array($0.prefix(5)) }
        #expect(found.isEmpty, "linearizability violated: \(found)")
        #expect(acknowledged.load(ordering: .relaxed) > 20, "the writer made progress through the faults")
        #expect(readsDone.load(ordering: .relaxed) > 20, "the readers made progress through the faults")
    }
}
