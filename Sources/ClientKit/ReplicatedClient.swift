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
    /// First pause between attempts; doubles up to `backoffMsMax`.
    public static let backoffMsMin = 5
    public static let backoffMsMax = 200

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

    /// Sends `request` to the key's primary until it is answered, refreshing the view between attempts.
    private func perform(_ request: JSONObject, key: String, isWrite: Bool) throws(ReplicatedError) -> JSONValue {
        let deadline = MonotonicClock.nowMs() + Int64(retryBudgetMs)
        var backoffMs = Self.backoffMsMin
        var maybeApplied = false
        var lastProblem = "no attempt made"
        while true {
            switch attempt(request, key: key, maybeApplied: &maybeApplied) {
            case .answered(let reply): return reply
            case .rejected(let message): throw .errorReply(message)
            case .retry(let problem): lastProblem = problem
            }
            guard MonotonicClock.nowMs() + Int64(backoffMs) < deadline else { break }
            usleep(useconds_t(backoffMs * 1_000))
            backoffMs = min(Self.backoffMsMax, backoffMs * 2)
            view = nil
        }
        if isWrite && maybeApplied {
            throw .unknownOutcome("gave up after \(retryBudgetMs) ms; the write may or may not have taken effect "
                + "(last problem: \(lastProblem))")
        }
        throw .unavailable("gave up after \(retryBudgetMs) ms: \(lastProblem)")
    }

    /// How one try ended.
    enum Attempt {
        case answered(JSONValue)
        /// The request itself is bad; retrying would not help.
        case rejected(String)
        /// Worth retrying after a backoff; says why it did not work this time.
        case retry(String)
    }

    private func attempt(_ request: JSONObject, key: String, maybeApplied: inout Bool) -> Attempt {
        do {
            if view == nil { view = try viewLeader.queryServers() }
        } catch {
            return .retry("cannot get the view: \(error)")
        }
        let view = view!
        guard let primary = view.ring.primary(forKey: key), let address = view.address(of: primary),
              let (host, port) = splitAddress(address)
        else {
            return .retry("no live servers in epoch \(view.epoch)")
        }
        var message = request
        message["epoch"] = .integer(view.epoch)
        let endpoint = endpoints[address] ?? EndpointClient(host: host, candidatePorts: [port], timeoutMs: timeoutMs)
        endpoints[address] = endpoint
        let reply: JSONValue
        do {
            reply = try endpoint.call(.object(message))
        } catch {
            // Only a failure to connect proves the request never left; anything later may have reached it.
            if case .timedOut = error { maybeApplied = true }
            if case .unreachable(let detail) = error, !detail.contains("cannot connect") { maybeApplied = true }
            endpoints[address] = nil
            return .retry("\(primary) at \(address): \(error)")
        }
        switch reply.objectValue?["status"]?.stringValue {
        case "ok", "not_found":
            return .answered(reply)
        case "retry":
            if reply.objectValue?["maybe_applied"] == true { maybeApplied = true }
            return .retry("\(primary) asked to retry: \(reply.objectValue?["error"]?.stringValue ?? "no reason given")")
        case "error":
            return .rejected(reply.objectValue?["error"]?.stringValue ?? "no explanation given")
        default:
            return .retry("unexpected reply from \(primary): \(reply)")
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
