import Placement
import Wire

/// One replicated request, from its first attempt to its outcome, as a pure state machine.
///
/// It decides where to send the request, whether a failure is worth another try, how long to back off, and
/// whether a write that never got an acknowledgement may have taken effect. It reads no clock and does no I/O:
/// `ReplicatedClient` carries out each `Step` on sockets, and the simulator carries out the same steps on its
/// seeded network, so both exercise the same retry rules.
public struct ReplicatedOperation: Sendable {
    /// What the caller must do next.
    public enum Step: Equatable, Sendable {
        /// Ask the viewleader for the view, then call `viewFetched`.
        case fetchView
        /// Send `message` to the server at `address`, then call `answered` or `failed`.
        case send(address: String, message: JSONValue)
        /// Wait this long, then call `pauseElapsed`.
        case pause(ms: Int64)
        /// The operation is over: the reply (`ok` or `not_found`), or why there is none.
        case finish(Result<JSONValue, ReplicatedError>)
    }

    /// How a send failed, which decides whether the request may have reached the server.
    public enum SendFailure: Equatable, Sendable {
        /// No connection could be made: the request never left.
        case notSent
        /// The connection broke or no reply came in time: the server may have acted on the request.
        case lostAfterSend
    }

    /// First pause between attempts; doubles up to `backoffMsMax`.
    public static let backoffMsMin: Int64 = 5
    public static let backoffMsMax: Int64 = 200

    let request: JSONObject
    let key: String
    let isWrite: Bool
    let retryBudgetMs: Int64
    /// Monotonic milliseconds after which no new attempt starts.
    let deadlineMs: Int64
    var backoffMs = ReplicatedOperation.backoffMsMin
    /// True once a write may have reached a server without being acknowledged.
    public private(set) var maybeApplied = false
    private var lastProblem = "no attempt made"
    /// The view attempts are routed by; nil when it must be fetched first. Callers keep it for the next operation.
    public private(set) var view: View?
    /// The server the current attempt went to, for messages.
    private var primary = ""

    /// An operation started at `nowMs`; `view` is a view the caller still trusts, if any.
    public init(request: JSONObject, key: String, isWrite: Bool, nowMs: Int64, retryBudgetMs: Int64, view: View?) {
        precondition(retryBudgetMs >= 0, "a retry budget cannot be negative")
        self.request = request
        self.key = key
        self.isWrite = isWrite
        self.retryBudgetMs = retryBudgetMs
        deadlineMs = nowMs + retryBudgetMs
        self.view = view
    }

    /// The first step.
    public mutating func begin(nowMs: Int64) -> Step {
        view == nil ? .fetchView : route(nowMs: nowMs)
    }

    /// The viewleader described the view, or could not be asked (`problem` says why).
    public mutating func viewFetched(_ result: Result<View, ViewFetchProblem>, nowMs: Int64) -> Step {
        switch result {
        case .success(let fetched):
            view = fetched
            return route(nowMs: nowMs)
        case .failure(let problem):
            return retry(after: "cannot get the view: \(problem.description)", nowMs: nowMs)
        }
    }

    /// The server answered the request sent by the last `.send`.
    public mutating func answered(_ reply: JSONValue, nowMs: Int64) -> Step {
        let fields = reply.objectValue
        switch fields?["status"]?.stringValue {
        case "ok", "not_found":
            return .finish(.success(reply))
        case "retry":
            if fields?["maybe_applied"] == true { maybeApplied = true }
            let reason = fields?["error"]?.stringValue ?? "no reason given"
            return retry(after: "\(primary) asked to retry: \(reason)", nowMs: nowMs)
        case "error":
            return .finish(.failure(.errorReply(fields?["error"]?.stringValue ?? "no explanation given")))
        default:
            return retry(after: "unexpected reply from \(primary): \(reply)", nowMs: nowMs)
        }
    }

    /// The request sent by the last `.send` got no answer; `detail` says what happened.
    public mutating func failed(_ failure: SendFailure, detail: String, nowMs: Int64) -> Step {
        if failure == .lostAfterSend { maybeApplied = true }
        return retry(after: "\(primary): \(detail)", nowMs: nowMs)
    }

    /// The pause asked for by the last `.pause` is over: start the next attempt from a fresh view.
    public mutating func pauseElapsed(nowMs: Int64) -> Step {
        view = nil
        return .fetchView
    }

    // MARK: Internals

    private mutating func route(nowMs: Int64) -> Step {
        guard let view else { return .fetchView }
        guard let primary = view.ring.primary(forKey: key), let address = view.address(of: primary) else {
            return retry(after: "no live servers in epoch \(view.epoch)", nowMs: nowMs)
        }
        self.primary = "\(primary) at \(address)"
        var message = request
        message["epoch"] = .integer(view.epoch)
        return .send(address: address, message: .object(message))
    }

    /// Backs off and tries again, or gives up: once the next attempt would start after the deadline, or at once
    /// when a write may already have taken effect.
    ///
    /// Sending such a write again could apply it a second time after other clients' later writes, and a reader
    /// would see the key go back to an older value (the simulator found exactly that). Like etcd's client, this
    /// one retries a write only while it certainly has not reached a server, and otherwise reports it unknown.
    private mutating func retry(after problem: String, nowMs: Int64) -> Step {
        lastProblem = problem
        if isWrite && maybeApplied { return .finish(.failure(givingUp())) }
        guard nowMs + backoffMs < deadlineMs else { return .finish(.failure(givingUp())) }
        let pauseMs = backoffMs
        backoffMs = min(Self.backoffMsMax, backoffMs * 2)
        return .pause(ms: pauseMs)
    }

    private func givingUp() -> ReplicatedError {
        if isWrite && maybeApplied {
            return .unknownOutcome("the write may or may not have taken effect, and sending it again could apply it "
                + "after later writes; read the key to see (\(lastProblem))")
        }
        return .unavailable("gave up after \(retryBudgetMs) ms: \(lastProblem)")
    }
}

/// Why the view could not be fetched, in words for the operator.
public struct ViewFetchProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
