import Testing
@testable import ViewLeaderKit

struct LockTableTests {
    @Test func firstRequestorIsGrantedAndMayAskAgain() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        #expect(table.acquire("L", by: "r1", nowMs: 0) == .granted)
        #expect(table.acquire("L", by: "r1", nowMs: 1) == .granted)
    }

    /// Lock IDs and requestors are their exact bytes: "é" composed and decomposed are two locks, two requestors.
    @Test func canonicallyEquivalentNamesAreDifferentLocksAndRequestors() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        #expect(table.acquire("caf\u{E9}", by: "r1", nowMs: 0) == .granted)
        #expect(table.acquire("cafe\u{301}", by: "r2", nowMs: 0) == .granted, "a different lock")
        #expect(table.acquire("L", by: "caf\u{E9}", nowMs: 0) == .granted)
        #expect(table.acquire("L", by: "cafe\u{301}", nowMs: 0) == .queued(position: 1), "a different requestor")
        #expect(table.release("L", by: "cafe\u{301}") == .withdrawn)
        #expect(table.locks.count == 3)
    }

    @Test func waitersQueueInArrivalOrderAndKeepTheirPlaceWhenAskingAgain() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("L", by: "holder", nowMs: 0)
        #expect(table.acquire("L", by: "w1", nowMs: 1) == .queued(position: 1))
        #expect(table.acquire("L", by: "w2", nowMs: 2) == .queued(position: 2))
        #expect(table.acquire("L", by: "w2", nowMs: 3) == .queued(position: 2))
        #expect(table.acquire("L", by: "w1", nowMs: 4) == .queued(position: 1))
    }

    @Test func releasePassesTheLockToTheFirstWaiter() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("L", by: "holder", nowMs: 0)
        _ = table.acquire("L", by: "w1", nowMs: 1)
        _ = table.acquire("L", by: "w2", nowMs: 2)
        #expect(table.release("L", by: "holder") == .released(nextHolder: "w1"))
        #expect(table.acquire("L", by: "w2", nowMs: 3) == .queued(position: 1))
        #expect(table.acquire("L", by: "w1", nowMs: 3) == .granted)
    }

    @Test func waiterWithdrawingLeavesTheQueue() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("L", by: "holder", nowMs: 0)
        _ = table.acquire("L", by: "w1", nowMs: 1)
        _ = table.acquire("L", by: "w2", nowMs: 1)
        #expect(table.release("L", by: "w1") == .withdrawn)
        #expect(table.acquire("L", by: "w2", nowMs: 2) == .queued(position: 1))
        #expect(table.release("L", by: "holder") == .released(nextHolder: "w2"))
    }

    @Test func releasingALockOneNeitherHoldsNorWaitsForIsUnknown() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        #expect(table.release("L", by: "r") == .unknown)
        _ = table.acquire("L", by: "holder", nowMs: 0)
        #expect(table.release("L", by: "stranger") == .unknown)
    }

    @Test func lastReleaseRemovesTheLock() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("L", by: "r", nowMs: 0)
        #expect(table.release("L", by: "r") == .released(nextHolder: nil))
        #expect(table.locks.isEmpty)
        #expect(table.acquire("L", by: "other", nowMs: 1) == .granted)
    }

    @Test func releaseAllFreesHeldLocksAndWithdrawsWaits() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("A", by: "dead", nowMs: 0)
        _ = table.acquire("A", by: "next", nowMs: 0)
        _ = table.acquire("B", by: "other", nowMs: 0)
        _ = table.acquire("B", by: "h:1", nowMs: 0)
        let results = table.releaseAll(of: ["dead", "h:1"])
        #expect(results.count == 2)
        #expect(table.locks["A"]?.holder == "next")
        #expect(table.locks["B"]?.waiters.isEmpty == true)
    }

    @Test func waiterThatStopsAskingLosesItsPlace() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("L", by: "holder", nowMs: 0)
        _ = table.acquire("L", by: "silent", nowMs: 0)
        _ = table.acquire("L", by: "patient", nowMs: 0)
        _ = table.acquire("L", by: "patient", nowMs: 900)
        let dropped = table.dropSilentWaiters(nowMs: 1_500)
        #expect(dropped.map(\.requestor) == ["silent"])
        #expect(table.release("L", by: "holder") == .released(nextHolder: "patient"))
    }

    @Test func queueBeyondItsLimitIsRefused() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        _ = table.acquire("L", by: "holder", nowMs: 0)
        for index in 0..<LockTable.waitersPerLockMax {
            _ = table.acquire("L", by: "w\(index)", nowMs: 0)
        }
        guard case .refused = table.acquire("L", by: "one-too-many", nowMs: 0) else {
            Issue.record("expected a refusal past \(LockTable.waitersPerLockMax) waiters")
            return
        }
    }
}

struct LockTableLimitTests {
    @Test func newLockBeyondTheLockLimitIsRefused() {
        var table = LockTable(waiterTimeoutMs: 1_000)
        for index in 0..<LockTable.locksMax {
            _ = table.acquire("L\(index)", by: "r", nowMs: 0)
        }
        guard case .refused = table.acquire("one-more", by: "r", nowMs: 0) else {
            Issue.record("expected a refusal past \(LockTable.locksMax) locks")
            return
        }
        #expect(table.acquire("L0", by: "r", nowMs: 0) == .granted, "existing locks keep working")
    }
}
