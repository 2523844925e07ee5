import ClientKit
import Foundation
import Glibc
import Linearizability
import Synchronization
import Wire

/// Clients doing random setr/getr/delr on a few keys, recording every operation for the checker.
final class HistoryRecorder: @unchecked Sendable {
    /// Operations one client issues at most, so the checked history stays small.
    static let operationsPerClientMax = 600
    /// Pause between a client's operations, so the history spreads over the whole campaign.
    static let pauseBetweenOperationsMs = 5

    private let cluster: LocalCluster
    private let keys: [String]
    private let stopping = Atomic<Bool>(false)
    private let operations = Mutex<[RecordedOperation]>([])
    private let finished = DispatchSemaphore(value: 0)
    private var clientCount = 0

    init(cluster: LocalCluster, keys: [String]) {
        self.cluster = cluster
        self.keys = keys
    }

    func start(clients: Int, seed: UInt64) {
        clientCount = clients
        for process in 0..<clients {
            Thread { [self] in
                var random = SplitMix64(seed: seed &+ UInt64(process))
                let client = ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: cluster.viewLeaderPort,
                                              timeoutMs: 1_000, retryBudgetMs: 3_000)
                var sequence = 0
                while !stopping.load(ordering: .relaxed) && sequence < Self.operationsPerClientMax {
                    usleep(useconds_t(Self.pauseBetweenOperationsMs * 1_000))
                    sequence += 1
                    let key = keys[Int(random.next() % UInt64(keys.count))]
                    record(process: process, key: key, choice: random.next() % 10, client: client,
                           value: "p\(process)-\(sequence)")
                }
                finished.signal()
            }.start()
        }
    }

    private func record(process: Int, key: String, choice: UInt64, client: ReplicatedClient, value: String) {
        let invoked = MonotonicClock.nowMs()
        let kind: RecordedOperation.Kind
        let outcome: RecordedOperation.Outcome
        do {
            switch choice {
            case 0..<4:
                try client.setr(key, value)
                kind = .write(value)
            case 4:
                try client.delr(key)
                kind = .delete
            default:
                kind = .read(observed: try client.getr(key))
            }
            outcome = .ok
        } catch {
            let isWrite = choice < 5
            kind = choice < 4 ? .write(value) : (choice == 4 ? .delete : .read(observed: nil))
            switch error {
            case .unknownOutcome: outcome = .unknown
            case .unavailable, .errorReply: outcome = isWrite ? .fail : .unknown
            }
        }
        let completed = MonotonicClock.nowMs()
        operations.withLock {
            $0.append(RecordedOperation(process: process, key: key, kind: kind, invokedAt: invoked, completedAt: completed,
                                outcome: outcome))
        }
    }

    func stop() -> [RecordedOperation] {
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<clientCount { finished.wait() }
        return operations.withLock { $0 }
    }
}
