import Placement
import Authentication
import Wire

/// One replicated request, from its first attempt to its outcome, as a pure state machine.
///
/// It decides where to send the request, whether a failure is worth another try, how long to back off, and
/// whether a write that never got an acknowledgement may have taken effect. It reads no clock and does no I/O:
/// `ReplicatedClient` carries out each `Step` on sockets, and the simulator carries out the same steps on its
/// seeded network, so both exercise the same retry rules.
///
/// A write carrying a `WriteID` is retried under that ID until it is acknowledged or the budget runs out, also
/// after an attempt that may have taken effect: the key's replicas remember the IDs of writes they applied and
/// answer a retry of one from memory instead of applying it again. Only a write whose budget ran out after such an
/// attempt (or whose replicas say they no longer remember) ends `.unknownOutcome`. A write without an ID (as the
/// classic clients send) stops at the first attempt that may have taken effect, since sending it again could
/// apply it after later writes.
public struct ReplicatedOperation: Sendable {
    /// What the caller must do next.
    public enum Step: Equatable, Sendable {
        /// Ask the viewleader for the view, then call `viewFetched`.
        case fetchView
        /// Send `message` to the server at `address`, then call `sent` with what became of it.
        case send(address: String, message: ServerRequest)
        /// Wait this long, then call `pauseElapsed`.
        case pause(ms: Int64)
        /// The operation is over: the reply (`ok`, `deduplicated`, `value` or `notFound`), or why there is none.
        case finish(Result<ServerReply, ReplicatedError>)
    }

    /// What the operation asks for: a key's value, or a write (nil value: delete) of it.
    public enum Request: Equatable, Sendable {
        case read(key: String)
        case write(key: String, value: String?)

        public var key: String {
            switch self {
            case .read(let key), .write(let key, _): return key
            }
        }
    }

    /// First pause between attempts; doubles up to `backoffMsMax`.
    public static let backoffMsMin: Int64 = 5
    public static let backoffMsMax: Int64 = 200
    /// Longest retry budget an operation accepts. Servers remember a write ID for `WriteIDMemory.retentionMs`
    /// (60 s), well past the last retry any budget allows, so a retry never finds its write forgotten by age.
    public static let retryBudgetMsMax: Int64 = 30_000

    let request: Request
    var key: String { request.key }
    var isWrite: Bool { if case .write = request { true } else { false } }
    /// The write's ID; nil for reads and for writes sent without one.
    public let writeID: WriteID?
    let retryBudgetMs: Int64
    /// Monotonic milliseconds after which no new attempt starts.
    let deadlineMs: Int64
    var backoffMs = ReplicatedOperation.backoffMsMin
    /// True once a write may have reached a server without being acknowledged.
    public private(set) var maybeApplied = false
    /// True when the acknowledgement came from a replica remembering this write ID: an earlier attempt had
    /// taken effect, and this one was not applied again.
    public private(set) var answeredFromWriteID = false
    private var lastProblem = "no attempt made"
    /// Why the last attempt did not complete, for a caller telling its user what it is waiting for.
    public var lastProblemDescription: String { lastProblem }
    /// The view attempts are routed by; nil when it must be fetched first. Callers keep it for the next operation.
    public private(set) var view: ViewDescription?
    /// The server the current attempt went to, for messages.
    private var primary = ""

    /// An operation started at `nowMs`; `view` is a view the caller still trusts, if any. Every attempt of a
    /// write carries `writeID`, if it has one.
    public init(_ request: Request, writeID: WriteID? = nil, nowMs: Int64, retryBudgetMs: Int64,
                view: ViewDescription?) {
        precondition((0...Self.retryBudgetMsMax).contains(retryBudgetMs), "a retry budget is 0...30 s")
        if case .read = request { precondition(writeID == nil, "only writes carry write IDs") }
        self.request = request
        self.writeID = writeID
        self.retryBudgetMs = retryBudgetMs
        deadlineMs = nowMs + retryBudgetMs
        self.view = view
    }

    /// The first step.
    public mutating func begin(nowMs: Int64) -> Step {
        view == nil ? .fetchView : route(nowMs: nowMs)
    }

    /// The viewleader described the view, or could not be asked (`problem` says why).
    public mutating func viewFetched(_ result: Result<ViewDescription, ViewFetchProblem>, nowMs: Int64) -> Step {
        switch result {
        case .success(let fetched):
            view = fetched
            return route(nowMs: nowMs)
        case .failure(let problem) where problem.permanence == .refused:
            return refused("cannot get the view: \(problem.description)", problem.description)
        case .failure(let problem) where problem.permanence == .notAViewLeader:
            lastProblem = "cannot get the view: \(problem.description)"
            return .finish(.failure(isWrite && maybeApplied ? unknownOutcome() : .errorReply(lastProblem)))
        case .failure(let problem):
            return retry(after: "cannot get the view: \(problem.description)", nowMs: nowMs)
        }
    }

    /// What became of the request sent by the last `.send`.
    public mutating func sent(_ outcome: SendOutcome, nowMs: Int64) -> Step {
        switch outcome {
        case .answered(let reply):
            return answered(reply, nowMs: nowMs)
        case .neverSent(let detail):
            return retry(after: "\(primary): \(detail)", nowMs: nowMs)
        case .refused(let reason):
            return refused("\(primary): \(reason)", reason)
        case .mayHaveArrived(let detail):
            if isWrite { maybeApplied = true }
            return retry(after: "\(primary): \(detail)", nowMs: nowMs)
        }
    }

    /// The pause asked for by the last `.pause` is over: start the next attempt from a fresh view.
    public mutating func pauseElapsed(nowMs: Int64) -> Step {
        view = nil
        return .fetchView
    }

    // MARK: Internals

    private mutating func answered(_ json: JSONValue, nowMs: Int64) -> Step {
        let reply: ServerReply
        do throws(MalformedReply) {
            reply = try ServerReply(json)
        } catch {
            return retry(after: "unexpected reply from \(primary): \(json)", nowMs: nowMs)
        }
        switch reply {
        case .ok, .value, .storedValue, .notFound, .deduplicated:
            answeredFromWriteID = reply == .deduplicated
            return .finish(.success(reply))
        case .retry(let reason, _, let mayBeApplied):
            if isWrite && mayBeApplied { maybeApplied = true }
            return retry(after: "\(primary) asked to retry: \(reason)", nowMs: nowMs)
        case .unknownOutcome(let reason):
            lastProblem = "\(primary): \(reason)"
            return .finish(.failure(unknownOutcome()))
        case .error(let message) where AuthorityRefusal.isRefusal(message):
            return refused("\(primary) refused the key: \(message)", message)
        case .error(let message):
            // A refusal of this attempt says nothing about an earlier one that may have taken effect.
            guard !maybeApplied else {
                lastProblem = "\(primary) refused a retry: \(message)"
                return .finish(.failure(unknownOutcome()))
            }
            return .finish(.failure(.errorReply(message)))
        case .keys, .page:
            return retry(after: "unexpected reply from \(primary): \(json)", nowMs: nowMs)
        }
    }

    private mutating func route(nowMs: Int64) -> Step {
        guard let view else { return .fetchView }
        guard let primary = view.ring.primary(forKey: key), let address = view.address(of: primary) else {
            return retry(after: "no live servers in epoch \(view.epoch)", nowMs: nowMs)
        }
        self.primary = "\(primary) at \(address)"
        let message: ServerRequest = switch request {
        case .read(let key):
            .getr(key: key, epoch: view.epoch)
        case .write(let key, let value):
            // `resent` tells the primary that this ID may already have taken effect, so a forgotten one is not
            // applied blindly.
            .write(key: key, value: value, epoch: view.epoch, writeID: writeID,
                   resent: maybeApplied && writeID != nil)
        }
        return .send(address: address, message: message)
    }

    /// Backs off and tries again, or gives up: once the next attempt would start after the deadline, or at once
    /// when a write without an ID may already have taken effect.
    ///
    /// Sending such a write again could apply it a second time after other clients' later writes, and a reader
    /// would see the key go back to an older value (the simulator found exactly that). A write with an ID is safe
    /// to send again: its replicas answer a retry of a write they applied without applying it twice.
    private mutating func retry(after problem: String, nowMs: Int64) -> Step {
        lastProblem = problem
        if isWrite && maybeApplied && writeID == nil { return .finish(.failure(unknownOutcome())) }
        guard nowMs + backoffMs < deadlineMs else { return .finish(.failure(givingUp())) }
        let pauseMs = backoffMs
        backoffMs = min(Self.backoffMsMax, backoffMs * 2)
        return .pause(ms: pauseMs)
    }

    /// A refused key or role stays refused: the operation ends at once rather than hide the reason for the whole
    /// budget. Unknown still, if an earlier attempt may have taken effect.
    private mutating func refused(_ problem: String, _ reason: String) -> Step {
        lastProblem = problem
        return .finish(.failure(isWrite && maybeApplied ? unknownOutcome() : .refused(reason)))
    }

    private func givingUp() -> ReplicatedError {
        if isWrite && maybeApplied { return unknownOutcome() }
        return .unavailable("gave up after \(retryBudgetMs) ms: \(lastProblem)")
    }

    private func unknownOutcome() -> ReplicatedError {
        if writeID == nil {
            return .unknownOutcome("the write may or may not have taken effect, and sending it again could apply it "
                + "after later writes; read the key to see (\(lastProblem))")
        }
        return .unknownOutcome("an attempt may have taken effect but none was acknowledged (budget "
            + "\(retryBudgetMs) ms); read the key to see (\(lastProblem))")
    }
}

/// Why the view could not be fetched, in words for the operator.
public struct ViewFetchProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// Whether asking again can help; when it cannot, the operation ends at once instead of retrying for its
    /// whole budget.
    public enum Permanence: Equatable, Sendable {
        /// Unreachable, busy, recovering: ask again after a pause.
        case transient
        /// The peer named as the viewleader is not one (it does not know `query_servers`).
        case notAViewLeader
        /// The viewleader refused this client's key (`ClientError.refused`).
        case refused
    }

    public let description: String
    public let permanence: Permanence

    public init(_ description: String, permanence: Permanence = .transient) {
        self.description = description
        self.permanence = permanence
    }
}
