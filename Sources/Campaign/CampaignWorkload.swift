import Authentication
import ClientKit
import Foundation
import Glibc
import Linearizability
import Seeded
import Synchronization
import Transport
import Wire

/// Client threads doing random setr/getr/delr through the client library, recording every operation for the
/// checker. They share a few contended keys (renewed every `keyGenerationMs`) and also write keys of their
/// own that no one writes again, so that view changes have data to move and the final read has much to find.
final class CampaignWorkload: @unchecked Sendable {
    private let configuration: CampaignConfiguration
    private let viewLeaderHost: String
    private let viewLeaderPort: Int
    private let startedAtMs = MonotonicClock.nowMs()
    private let stopping = Atomic<Bool>(false)
    private let operations = Mutex<[RecordedOperation]>([])
    /// Writes acknowledged by a replica that remembered their ID, summed over the clients as they stop.
    private let answeredFromWriteID = Atomic<Int>(0)
    /// Why writes ended with an unknown outcome (the client's last problem), the first `unknownReasonsMax`.
    private let unknownReasons = Mutex<[String]>([])
    static let unknownReasonsMax = 10
    private let finished = DispatchSemaphore(value: 0)

    /// The key the clients authenticate with, on a campaign with keys.
    private let key: Key?

    init(configuration: CampaignConfiguration, viewLeaderHost: String, viewLeaderPort: Int, key: Key?) {
        self.key = key
        self.configuration = configuration
        self.viewLeaderHost = viewLeaderHost
        self.viewLeaderPort = viewLeaderPort
    }

    /// The shared keys clients use `elapsedMs` into the campaign.
    static func contendedKeys(elapsedMs: Int64, configuration: CampaignConfiguration) -> [String] {
        let generation = elapsedMs / Int64(configuration.keyGenerationMs)
        return (0..<configuration.contendedKeys).map { "g\(generation)-k\($0)" }
    }

    var currentContendedKeys: [String] {
        Self.contendedKeys(elapsedMs: MonotonicClock.nowMs() - startedAtMs, configuration: configuration)
    }

    func start(seed: UInt64) {
        for process in 0..<configuration.clients {
            Thread { [self] in
                runClient(process, random: SplitMix64(seed: seed &+ UInt64(process) &* 7_919))
                finished.signal()
            }.start()
        }
    }

    /// Stops the clients after their current operation; returns everything they recorded, and how many of their
    /// writes were acknowledged from a remembered write ID.
    func stop() -> (history: [RecordedOperation], answeredFromWriteID: Int, unknownReasons: [String]) {
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<configuration.clients { finished.wait() }
        return (operations.withLock { $0 }, answeredFromWriteID.load(ordering: .relaxed), unknownReasons.withLock { $0 })
    }

    private func runClient(_ process: Int, random: consuming SplitMix64) {
        let client = ReplicatedClient(viewLeaderHost: viewLeaderHost, viewLeaderPort: viewLeaderPort,
                                      timeoutMs: configuration.clientTimeoutMs,
                                      retryBudgetMs: configuration.clientRetryBudgetMs, key: key)
        var sequence = 0
        while !stopping.load(ordering: .relaxed) {
            usleep(useconds_t(configuration.clientThinkMs * 1_000))
            sequence += 1
            var value = "c\(process)-\(sequence)"
            if Int(random.next() % 100) < configuration.largeValuePercent {
                let valueBytesMax = RecordLimits(frameBytesMax: configuration.frameBytesMax).valueBytesMax
                let length = valueBytesMax - Int(random.next() % UInt64(configuration.largeValueSpreadBytes))
                value += "-" + String(repeating: "x", count: length - value.utf8.count - 1)
            }
            let roll = Int(random.next() % 100)
            let shared = currentContendedKeys
            let key = shared[Int(random.next() % UInt64(shared.count))]
            let operation: Operation
            switch roll {
            case ..<configuration.readPercent: operation = .read(key)
            case ..<(configuration.readPercent + configuration.deletePercent): operation = .delete(key)
            case ..<(configuration.readPercent + configuration.deletePercent + configuration.spreadWritePercent):
                operation = .write("s\(process)-\(sequence)", value)
            default: operation = .write(key, value)
            }
            let (recorded, unknownBecause) = Self.perform(operation, process: process, client: client)
            operations.withLock { $0.append(recorded) }
            if let unknownBecause {
                unknownReasons.withLock { if $0.count < Self.unknownReasonsMax { $0.append("\(recorded): \(unknownBecause)") } }
            }
        }
        answeredFromWriteID.add(client.retriesAnsweredFromWriteID, ordering: .relaxed)
    }

    enum Operation {
        case read(String)
        case write(String, String)
        case delete(String)
    }

    /// Runs one operation and records what the client saw: a write that may have applied is unknown, one that
    /// was never sent failed; a read that got no answer is unknown (it changed nothing either way).
    /// Also returns, for a write whose outcome is unknown, what the client last saw.
    static func perform(_ operation: Operation, process: Int, client: ReplicatedClient)
        -> (RecordedOperation, unknownBecause: String?)
    {
        let invoked = microseconds()
        let key: String
        var kind: RecordedOperation.Kind
        switch operation {
        case .read(let name): (key, kind) = (name, .read(observed: nil))
        case .write(let name, let value): (key, kind) = (name, .write(value))
        case .delete(let name): (key, kind) = (name, .delete)
        }
        var outcome = RecordedOperation.Outcome.ok
        var unknownBecause: String?
        do throws(ReplicatedError) {
            switch operation {
            case .read: kind = .read(observed: try client.getr(key))
            case .write(_, let value): try client.setr(key, value)
            case .delete: try client.delr(key)
            }
        } catch {
            switch error {
            case .unknownOutcome(let detail):
                outcome = .unknown
                unknownBecause = detail
            case .unavailable, .errorReply, .refused: outcome = kind.isRead ? .unknown : .fail
            }
        }
        return (RecordedOperation(process: process, key: key, kind: kind, invokedAt: invoked,
                                  completedAt: microseconds(), outcome: outcome), unknownBecause)
    }
}

/// History times: microseconds, so two operations of one client a millisecond apart stay ordered.
private func microseconds() -> Int64 { Int64(MonotonicClock.nowNs() / 1_000) }

extension RecordedOperation.Kind {
    var isRead: Bool {
        if case .read = self { return true }
        return false
    }
}
