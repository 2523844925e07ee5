import Placement
import Testing
import Wire
@testable import ClientKit

/// The client's retry rules for each transport outcome, driven by hand: no sockets, no clock.
struct ReplicatedOperationTests {
    static let view = ViewDescription(epoch: 4, servers: [ViewDescription.Server(id: "a", address: "h:1")])
    static let writeID = WriteID(client: 7, sequence: 3)

    static func write(budgetMs: Int64 = 1_000, withID: Bool = true) -> ReplicatedOperation {
        ReplicatedOperation(.write(key: "k", value: "v"), writeID: withID ? writeID : nil, nowMs: 0,
                            retryBudgetMs: budgetMs, view: view)
    }

    static func read() -> ReplicatedOperation {
        ReplicatedOperation(.read(key: "k"), nowMs: 0, retryBudgetMs: 1_000, view: view)
    }

    /// The message of a `.send` step.
    static func message(_ step: ReplicatedOperation.Step) -> JSONObject? {
        if case .send(_, let message) = step { return message.json.objectValue }
        return nil
    }

    /// Follows a pause and a view fetch to the next send.
    static func nextSend(_ operation: inout ReplicatedOperation, after step: ReplicatedOperation.Step, nowMs: Int64)
        -> ReplicatedOperation.Step
    {
        guard case .pause = step else { return step }
        #expect(operation.pauseElapsed(nowMs: nowMs) == .fetchView)
        return operation.viewFetched(.success(view), nowMs: nowMs)
    }

    /// A view fetch that cannot succeed by asking again (the peer is not a viewleader) ends the operation at once;
    /// any other failure is retried within the budget; and a write that may have been applied stays unknown.
    @Test func aPermanentViewFetchFailureEndsTheOperationAtOnce() {
        var read = ReplicatedOperation(.read(key: "k"), nowMs: 0, retryBudgetMs: 1_000, view: nil)
        #expect(read.begin(nowMs: 0) == .fetchView)
        #expect(read.viewFetched(.failure(ViewFetchProblem("refused")), nowMs: 0) != .finish(.failure(
            .errorReply("cannot get the view: refused"))))
        var wrong = ReplicatedOperation(.read(key: "k"), nowMs: 0, retryBudgetMs: 1_000, view: nil)
        _ = wrong.begin(nowMs: 0)
        let notAViewLeader = ViewFetchProblem("x is not a viewleader", permanence: .notAViewLeader)
        #expect(wrong.viewFetched(.failure(notAViewLeader), nowMs: 0)
            == .finish(.failure(.errorReply("cannot get the view: x is not a viewleader"))))

        var refusedView = ReplicatedOperation(.read(key: "k"), nowMs: 0, retryBudgetMs: 1_000, view: nil)
        _ = refusedView.begin(nowMs: 0)
        #expect(refusedView.viewFetched(.failure(ViewFetchProblem("authentication required: x", permanence: .refused)),
                                        nowMs: 0) == .finish(.failure(.refused("authentication required: x"))))
        var refusedKey = Self.read()
        _ = refusedKey.begin(nowMs: 0)
        #expect(refusedKey.sent(.refused("authentication failed: wrong key"), nowMs: 0)
            == .finish(.failure(.refused("authentication failed: wrong key"))))
        var refusedRole = Self.write()
        _ = refusedRole.begin(nowMs: 0)
        #expect(refusedRole.sent(.answered(["status": "error", "error": "authentication required: y"]), nowMs: 0)
            == .finish(.failure(.refused("authentication required: y"))))

        var write = Self.write()
        _ = write.begin(nowMs: 0)
        _ = write.sent(.mayHaveArrived("no reply"), nowMs: 10)
        #expect(write.pauseElapsed(nowMs: 20) == .fetchView)
        guard case .finish(.failure(.unknownOutcome)) = write.viewFetched(
            .failure(ViewFetchProblem("x is not a viewleader", permanence: .notAViewLeader)), nowMs: 20) else {
            Issue.record("a write that may have been applied must end unknown")
            return
        }
    }

    @Test func aWriteCarriesItsIDAndTheEpochAndIsNotMarkedResentAtFirst() {
        var operation = Self.write()
        let first = Self.message(operation.begin(nowMs: 0))
        #expect(first?["client_id"] == "0000000000000007" && first?["seq"] == 3 && first?["epoch"] == 4)
        #expect(first?["resent"] == nil)
    }

    @Test func aWriteThatWasNeverSentIsRetriedAndIsNotMaybeApplied() {
        var operation = Self.write()
        _ = operation.begin(nowMs: 0)
        let step = operation.sent(.neverSent("connection refused"), nowMs: 1)
        #expect(step == .pause(ms: ReplicatedOperation.backoffMsMin))
        #expect(!operation.maybeApplied)
        #expect(Self.message(Self.nextSend(&operation, after: step, nowMs: 10))?["resent"] == nil)
    }

    @Test func aWriteThatMayHaveArrivedIsRetriedUnderTheSameIDMarkedResent() {
        var operation = Self.write()
        _ = operation.begin(nowMs: 0)
        let step = operation.sent(.mayHaveArrived("the connection broke"), nowMs: 1)
        #expect(operation.maybeApplied)
        let retry = Self.message(Self.nextSend(&operation, after: step, nowMs: 10))
        #expect(retry?["resent"] == true && retry?["client_id"] == "0000000000000007" && retry?["seq"] == 3)
    }

    @Test func aRetryAnsweredFromTheWriteIDSucceedsAndIsCounted() {
        var operation = Self.write()
        _ = operation.begin(nowMs: 0)
        let step = operation.sent(.mayHaveArrived("timeout"), nowMs: 1)
        _ = Self.nextSend(&operation, after: step, nowMs: 10)
        let done = operation.sent(.answered(["status": "ok", "deduplicated": true]), nowMs: 11)
        guard case .finish(.success) = done else {
            Issue.record("expected success, got \(done)")
            return
        }
        #expect(operation.answeredFromWriteID)
    }

    /// A 50 ms write whose first attempt is answered `first` and every later one is refused before it is sent:
    /// the step it ends with once its budget has run out.
    static func finalStep(afterFirstAnswer first: JSONValue) -> ReplicatedOperation.Step {
        var operation = Self.write(budgetMs: 50)
        _ = operation.begin(nowMs: 0)
        var step = operation.sent(.answered(first), nowMs: 1)
        var nowMs: Int64 = 1
        while case .pause(let ms) = step {
            nowMs += ms
            step = Self.nextSend(&operation, after: step, nowMs: nowMs)
            step = operation.sent(.neverSent("refused"), nowMs: nowMs)
        }
        return step
    }

    @Test func aMaybeAppliedWriteWhoseBudgetRunsOutIsUnknownNeverFailed() {
        let step = Self.finalStep(afterFirstAnswer: ["status": "retry", "maybe_applied": true, "error": "backup failed"])
        guard case .finish(.failure(.unknownOutcome)) = step else {
            Issue.record("expected unknown outcome, got \(step)")
            return
        }
    }

    @Test func aWriteThatCertainlyNeverTookEffectIsReportedUnavailableWhenTheBudgetRunsOut() {
        let step = Self.finalStep(afterFirstAnswer: ["status": "retry", "error": "not the primary"])
        guard case .finish(.failure(.unavailable)) = step else {
            Issue.record("expected unavailable, got \(step)")
            return
        }
    }

    @Test func anErrorReplyAfterAMaybeAppliedAttemptIsUnknownNotAnError() {
        var operation = Self.write()
        _ = operation.begin(nowMs: 0)
        let step = operation.sent(.mayHaveArrived("reset"), nowMs: 1)
        _ = Self.nextSend(&operation, after: step, nowMs: 10)
        guard case .finish(.failure(.unknownOutcome)) = operation.sent(.answered(Reply.error("no")), nowMs: 11) else {
            Issue.record("an error about the retry says nothing about the first attempt")
            return
        }
        var fresh = Self.write()
        _ = fresh.begin(nowMs: 0)
        #expect(fresh.sent(.answered(Reply.error("bad key")), nowMs: 1) == .finish(.failure(.errorReply("bad key"))))
    }

    @Test func aReplicaThatForgotTheWriteIDMakesTheOutcomeUnknown() {
        var operation = Self.write()
        _ = operation.begin(nowMs: 0)
        let step = operation.sent(.mayHaveArrived("reset"), nowMs: 1)
        _ = Self.nextSend(&operation, after: step, nowMs: 10)
        let done = operation.sent(.answered(["status": "unknown_outcome", "error": "forgotten"]), nowMs: 11)
        guard case .finish(.failure(.unknownOutcome(let detail))) = done else {
            Issue.record("expected unknown, got \(done)")
            return
        }
        #expect(detail.contains("forgotten"))
    }

    @Test func aWriteWithoutAnIDStopsAtTheFirstAttemptThatMayHaveTakenEffect() {
        var operation = Self.write(withID: false)
        _ = operation.begin(nowMs: 0)
        guard case .finish(.failure(.unknownOutcome)) = operation.sent(.mayHaveArrived("reset"), nowMs: 1) else {
            Issue.record("sending it again could apply it after later writes")
            return
        }
    }

    @Test func aReadIsRetriedWhateverBecameOfItsRequest() {
        var operation = Self.read()
        _ = operation.begin(nowMs: 0)
        #expect(operation.sent(.mayHaveArrived("reset"), nowMs: 1) == .pause(ms: ReplicatedOperation.backoffMsMin))
        #expect(!operation.maybeApplied)
    }
}
