import Dispatch
import Glibc
import Placement
import Wire

/// The replicated store as one linearizable map: routes each key to its primary, and hides view changes.
///
/// On a refusal (stale epoch, not primary, range in motion) or a dead server it refreshes the view and retries
/// with bounded exponential backoff until `retryBudgetMs` runs out. A write whose request may have reached a
/// primary or backup without an acknowledgement coming back is reported as `.unknownOutcome`, never as failed.
public final class ReplicatedClient {
    public let viewLeader: ViewLeaderClient
    public let timeoutMs: Int
    public let retryBudgetMs: Int
    public private(set) var view: View?
    private var endpoints: [String: EndpointClient] = [:]

    public init(viewLeaderHost: String, viewLeaderPort: Int?, timeoutMs: Int = 2_000, retryBudgetMs: Int = 15_000) {
        viewLeader = ViewLeaderClient(host: viewLeaderHost, port: viewLeaderPort, timeoutMs: timeoutMs)
        self.timeoutMs = timeoutMs
        self.retryBudgetMs = retryBudgetMs
    }

    public func setr(_ key: String, _ value: String) throws(ReplicatedError) {
        _ = try perform(["cmd": "setr", "key": .string(key), "val": .string(value)], key: key, isWrite: true)
    }

    /// The key's value, or nil when it has none.
    public func getr(_ key: String) throws(ReplicatedError) -> String? {
        let reply = try perform(["cmd": "getr", "key": .string(key)], key: key, isWrite: false)
        return reply.objectValue?["value"]?.stringValue
    }

    public func delr(_ key: String) throws(ReplicatedError) {
        _ = try perform(["cmd": "delr", "key": .string(key)], key: key, isWrite: true)
    }

    /// Carries out a `ReplicatedOperation`'s steps on sockets until it has an outcome.
    private func perform(_ request: JSONObject, key: String, isWrite: Bool) throws(ReplicatedError) -> JSONValue {
        var operation = ReplicatedOperation(request: request, key: key, isWrite: isWrite,
                                            nowMs: MonotonicClock.nowMs(), retryBudgetMs: Int64(retryBudgetMs),
                                            view: view)
        var step = operation.begin(nowMs: MonotonicClock.nowMs())
        while true {
            switch step {
            case .fetchView:
                let fetched: Result<View, ViewFetchProblem>
                do {
                    fetched = .success(try viewLeader.queryServers())
                } catch {
                    fetched = .failure(ViewFetchProblem("\(error)"))
                }
                step = operation.viewFetched(fetched, nowMs: MonotonicClock.nowMs())
            case .send(let address, let message):
                step = send(message, to: address, &operation)
            case .pause(let ms):
                view = nil
                usleep(useconds_t(ms * 1_000))
                step = operation.pauseElapsed(nowMs: MonotonicClock.nowMs())
            case .finish(let result):
                view = operation.view
                return try result.get()
            }
        }
    }

    private func send(_ message: JSONValue, to address: String, _ operation: inout ReplicatedOperation)
        -> ReplicatedOperation.Step
    {
        guard let (host, port) = splitAddress(address) else {
            return operation.failed(.notSent, detail: "cannot read address \(address)", nowMs: MonotonicClock.nowMs())
        }
        let endpoint = endpoints[address] ?? EndpointClient(host: host, candidatePorts: [port], timeoutMs: timeoutMs)
        endpoints[address] = endpoint
        do {
            let reply = try endpoint.call(message)
            return operation.answered(reply, nowMs: MonotonicClock.nowMs())
        } catch {
            endpoints[address] = nil
            // Only a failure to connect proves the request never left; anything later may have reached it.
            var failure = ReplicatedOperation.SendFailure.lostAfterSend
            if case .unreachable(let detail) = error, detail.contains("cannot connect") { failure = .notSent }
            return operation.failed(failure, detail: "\(error)", nowMs: MonotonicClock.nowMs())
        }
    }
}

/// Why a replicated operation did not complete.
public enum ReplicatedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No server could serve the key within the retry budget; nothing was written.
    case unavailable(String)
    /// A write may or may not have taken effect: it reached a server but was never acknowledged.
    case unknownOutcome(String)
    /// The server rejected the request itself (bad input); retrying would not help.
    case errorReply(String)

    public var description: String {
        switch self {
        case .unavailable(let detail): return "unavailable: \(detail)"
        case .unknownOutcome(let detail): return "outcome unknown: \(detail)"
        case .errorReply(let message): return "the server replied with an error: \(message)"
        }
    }
}
