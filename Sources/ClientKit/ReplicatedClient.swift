import Dispatch
import Glibc
import Authentication
import Placement
import Transport
import Wire

/// The replicated store as one linearizable map: routes each key to its primary, and hides view changes.
///
/// On a refusal (stale epoch, not primary, range in motion) or a dead server it refreshes the view and retries
/// with bounded exponential backoff until `retryBudgetMs` runs out. Every write carries a write ID (this
/// client's random ID and a sequence number), so a write whose attempt may have taken effect is retried under
/// the same ID and applied at most once; it is reported `.unknownOutcome` only when the budget runs out first.
///
/// One operation at a time: a client retries only its latest write, which is what lets each key remember one
/// write ID per client. Use one `ReplicatedClient` per thread.
public final class ReplicatedClient {
    public let viewLeader: ViewLeaderClient
    public let timeoutMs: Int
    public let retryBudgetMs: Int
    /// This client's half of every write ID: random, so that two clients never share one.
    public let clientID: UInt64
    public private(set) var view: ViewDescription?
    /// Writes acknowledged by a replica that remembered their ID: an earlier attempt had taken effect.
    public private(set) var retriesAnsweredFromWriteID = 0
    private var nextSequence: Int64 = 1
    private var endpoints: [String: EndpointClient] = [:]

    /// The key every connection authenticates with; nil for a cluster that takes no keys.
    public let key: Key?
    /// Told, at most once a second once an operation has retried for a second, what it is waiting for: so a
    /// command line never waits silently.
    public var onWaiting: ((String) -> Void)?
    /// Waiting longer than this before telling `onWaiting`, and between tellings.
    public static let waitingNoticeIntervalMs: Int64 = 1_000

    /// `key` defaults to the process's (`ConnectionCredentials`, set by `client --key-file`).
    public init(viewLeaderHost: String, viewLeaderPort: Int?, timeoutMs: Int = 2_000, retryBudgetMs: Int = 15_000,
                key: Key? = ConnectionCredentials.key) {
        self.key = key
        viewLeader = ViewLeaderClient(host: viewLeaderHost, port: viewLeaderPort, timeoutMs: timeoutMs, key: key)
        self.timeoutMs = timeoutMs
        precondition((0...Int(ReplicatedOperation.retryBudgetMsMax)).contains(retryBudgetMs),
                     "a retry budget is at most \(ReplicatedOperation.retryBudgetMsMax) ms")
        self.retryBudgetMs = retryBudgetMs
        clientID = UInt64.random(in: 1...UInt64.max)
    }

    public func setr(_ key: String, _ value: String) throws(ReplicatedError) {
        _ = try write(key, value)
    }

    /// The key's value, or nil when it has none.
    public func getr(_ key: String) throws(ReplicatedError) -> String? {
        let reply = try perform(.read(key: key), writeID: nil)
        if case .value(let value) = reply { return value }
        return nil
    }

    public func delr(_ key: String) throws(ReplicatedError) {
        _ = try write(key, nil)
    }

    /// Writes `value` (nil: deletes) under the client's next write ID.
    private func write(_ key: String, _ value: String?) throws(ReplicatedError) -> ServerReply {
        let writeID = WriteID(client: clientID, sequence: nextSequence)
        nextSequence += 1
        return try perform(.write(key: key, value: value), writeID: writeID)
    }

    /// Carries out a `ReplicatedOperation`'s steps on sockets until it has an outcome.
    private func perform(_ request: ReplicatedOperation.Request, writeID: WriteID?)
        throws(ReplicatedError) -> ServerReply
    {
        var operation = ReplicatedOperation(request, writeID: writeID, nowMs: MonotonicClock.nowMs(),
                                            retryBudgetMs: Int64(retryBudgetMs), view: view)
        var step = operation.begin(nowMs: MonotonicClock.nowMs())
        let startedMs = MonotonicClock.nowMs()
        var toldMs = startedMs
        while true {
            switch step {
            case .fetchView:
                let fetched: Result<ViewDescription, ViewFetchProblem>
                do {
                    fetched = .success(try viewLeader.queryServers())
                } catch where Self.isNotAViewLeader(error) {
                    fetched = .failure(ViewFetchProblem("\(viewLeader.endpoint.endpointDescription) is not a "
                        + "viewleader (it answered query_servers: \(error)); check --viewleader",
                                                        permanence: .notAViewLeader))
                } catch .refused(let reason) {
                    fetched = .failure(ViewFetchProblem(reason, permanence: .refused))
                } catch {
                    fetched = .failure(ViewFetchProblem("\(error)"))
                }
                step = operation.viewFetched(fetched, nowMs: MonotonicClock.nowMs())
            case .send(let address, let message):
                step = operation.sent(send(message.json, to: address), nowMs: MonotonicClock.nowMs())
            case .pause(let ms):
                tellWaiting(operation, startedMs: startedMs, toldMs: &toldMs)
                view = nil
                usleep(useconds_t(ms * 1_000))
                step = operation.pauseElapsed(nowMs: MonotonicClock.nowMs())
            case .finish(let result):
                view = operation.view
                if operation.answeredFromWriteID { retriesAnsweredFromWriteID += 1 }
                return try result.get()
            }
        }
    }

    /// Tells `onWaiting` what `operation` waits for, once it has retried for a second, and then once a second.
    private func tellWaiting(_ operation: ReplicatedOperation, startedMs: Int64, toldMs: inout Int64) {
        let nowMs = MonotonicClock.nowMs()
        guard let onWaiting, nowMs - toldMs >= Self.waitingNoticeIntervalMs else { return }
        toldMs = nowMs
        onWaiting("still trying after \((nowMs - startedMs) / 1_000) s (gives up after \(retryBudgetMs / 1_000) s; "
            + "Ctrl-C stops): \(operation.lastProblemDescription)")
    }

    /// Whether the viewleader's answer says it is not a viewleader (a server, or another service, named by
    /// mistake): it does not know `query_servers`.
    static func isNotAViewLeader(_ error: ClientError) -> Bool {
        guard case .errorReply(let message) = error else { return false }
        return message.hasPrefix("unknown command \"query_servers\"")
    }

    /// Sends one attempt over the connection kept for `address`; the transport says whether it may have arrived.
    private func send(_ message: JSONValue, to address: String) -> SendOutcome {
        guard let (host, port) = splitAddress(address) else { return .neverSent("cannot read address \(address)") }
        let endpoint = endpoints[address] ?? EndpointClient(host: host, candidatePorts: [port], timeoutMs: timeoutMs,
                                                                 key: key)
        endpoints[address] = endpoint
        let outcome = endpoint.send(message)
        if case .answered = outcome { return outcome }
        endpoints[address] = nil
        return outcome
    }
}

/// Why a replicated operation did not complete.
public enum ReplicatedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No server could serve the key within the retry budget, and no attempt can have taken effect.
    case unavailable(String)
    /// A write may or may not have taken effect: an attempt may have reached a replica, and none was acknowledged
    /// before the retry budget ran out.
    case unknownOutcome(String)
    /// The server rejected the request itself (bad input), and no earlier attempt can have taken effect.
    case errorReply(String)
    /// The viewleader or the key's primary refused this client's key, or the key's role for the request; no
    /// attempt took effect, and no retry can help.
    case refused(String)

    public var description: String {
        switch self {
        case .unavailable(let detail): return "unavailable: \(detail)"
        case .unknownOutcome(let detail): return "outcome unknown: \(detail)"
        case .errorReply(let message): return "the server replied with an error: \(message)"
        case .refused(let reason): return "refused: \(reason)"
        }
    }
}
