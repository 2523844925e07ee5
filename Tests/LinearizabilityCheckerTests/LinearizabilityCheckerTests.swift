import Testing
@testable import Linearizability

/// Hand-made histories: linearizable ones pass, and each classic anomaly is caught with a window naming it.
struct LinearizabilityCheckerTests {
    static func op(_ process: Int, _ kind: RecordedOperation.Kind, _ invoked: Int64, _ completed: Int64,
                   _ outcome: RecordedOperation.Outcome = .ok, key: String = "k") -> RecordedOperation {
        RecordedOperation(process: process, key: key, kind: kind, invokedAt: invoked, completedAt: completed, outcome: outcome)
    }

    @Test func sequentialHistoryIsLinearizable() {
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(1, .read(observed: "a"), 2, 3),
                       Self.op(1, .delete, 4, 5), Self.op(1, .read(observed: nil), 6, 7)]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func concurrentReadMaySeeEitherValue() {
        let write = Self.op(1, .write("b"), 0, 10)
        #expect(LinearizabilityChecker.check([write, Self.op(2, .read(observed: "b"), 1, 2)]) == .linearizable)
        #expect(LinearizabilityChecker.check([write, Self.op(2, .read(observed: nil), 1, 2)]) == .linearizable)
    }

    @Test func staleReadIsCaught() {
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(1, .write("b"), 2, 3),
                       Self.op(2, .read(observed: "a"), 4, 5)]
        guard case .violation(let key, let window) = LinearizabilityChecker.check(history) else {
            Issue.record("a stale read must be caught")
            return
        }
        #expect(key == "k")
        #expect(window.contains(history[2]))
    }

    @Test func readsGoingBackwardsAreCaught() {
        // The write is concurrent with both reads, but once one read saw "b" a later read cannot see the old value.
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(1, .write("b"), 2, 20),
                       Self.op(2, .read(observed: "b"), 3, 4), Self.op(3, .read(observed: "a"), 5, 6)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
    }

    @Test func lostWriteIsCaught() {
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(2, .read(observed: nil), 2, 3)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
    }

    @Test func readOfANeverWrittenValueIsCaught() {
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(2, .read(observed: "zzz"), 2, 3)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
    }

    @Test func undoneWriteIsCaught() {
        // "b" was read, then "a" came back without anyone writing it again.
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(1, .write("b"), 2, 3),
                       Self.op(2, .read(observed: "b"), 4, 5), Self.op(2, .read(observed: "a"), 6, 7)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
    }

    @Test func unknownWriteMayTakeEffectLateOrNever() {
        let unknown = Self.op(1, .write("x"), 0, 1, .unknown)
        #expect(LinearizabilityChecker.check([unknown, Self.op(2, .read(observed: nil), 5, 6)]) == .linearizable)
        #expect(LinearizabilityChecker.check([unknown, Self.op(2, .read(observed: "x"), 100, 101)]) == .linearizable)
        #expect(LinearizabilityChecker.check([unknown, Self.op(2, .read(observed: "x"), 100, 101),
                                              Self.op(2, .read(observed: nil), 102, 103)]) != .linearizable,
                "once seen, an unknown write has happened")
    }

    @Test func unknownWriteCannotTakeEffectBeforeItWasInvoked() {
        let history = [Self.op(2, .read(observed: "x"), 0, 1), Self.op(1, .write("x"), 5, 6, .unknown)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
    }

    @Test func failedOperationsNeverHappened() {
        let history = [Self.op(1, .write("x"), 0, 1, .fail), Self.op(2, .read(observed: "x"), 2, 3)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
        #expect(LinearizabilityChecker.check([Self.op(1, .write("x"), 0, 1, .fail),
                                              Self.op(2, .read(observed: nil), 2, 3)]) == .linearizable)
    }

    @Test func keysAreCheckedIndependentlyAndTheFirstBadKeyIsNamed() {
        let history = [Self.op(1, .write("a"), 0, 1, key: "good"), Self.op(2, .read(observed: "a"), 2, 3, key: "good"),
                       Self.op(1, .write("a"), 0, 1, key: "bad"), Self.op(2, .read(observed: nil), 2, 3, key: "bad")]
        guard case .violation(let key, _) = LinearizabilityChecker.check(history) else {
            Issue.record("expected a violation")
            return
        }
        #expect(key == "bad")
    }

    @Test func longConcurrentHistoryIsCheckedQuickly() {
        // Three processes write and read 300 times with overlapping intervals; every read sees the latest write.
        var history: [RecordedOperation] = []
        var time: Int64 = 0
        var last: String?
        for round in 0..<300 {
            let value = "v\(round)"
            history.append(Self.op(round % 3, .write(value), time, time + 3))
            last = value
            history.append(Self.op((round + 1) % 3, .read(observed: last), time + 4, time + 6))
            time += 5
        }
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func manyUnknownWritesAndDeletesStayCheapToCheck() {
        // 60 writes and 30 deletes of unknown outcome around 200 sequential acknowledged operations: without
        // pruning, every subset of the pending unknowns would be a separate state.
        var history: [RecordedOperation] = []
        for index in 0..<60 { history.append(Self.op(9, .write("lost-\(index)"), Int64(index * 10), Int64(index * 10), .unknown)) }
        for index in 0..<30 { history.append(Self.op(8, .delete, Int64(index * 20 + 5), Int64(index * 20 + 5), .unknown)) }
        for step in 0..<100 {
            let time = Int64(step * 6)
            history.append(Self.op(1, .write("v\(step)"), time, time + 1))
            history.append(Self.op(2, .read(observed: "v\(step)"), time + 2, time + 3))
        }
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func anUnknownWriteThatWasReadStillCounts() {
        // "u" was observed, so it happened once; a read of "u" after "b" overwrote it is still caught.
        let history = [Self.op(1, .write("u"), 0, 0, .unknown), Self.op(2, .read(observed: "u"), 1, 2),
                       Self.op(2, .write("b"), 3, 4), Self.op(2, .read(observed: "u"), 5, 6)]
        #expect(LinearizabilityChecker.check(history) != .linearizable)
        #expect(LinearizabilityChecker.check(Array(history.prefix(3))) == .linearizable)
    }

    @Test func anUnknownDeleteMayActLateOrNever() {
        let history = [Self.op(1, .write("a"), 0, 1), Self.op(2, .delete, 2, 2, .unknown),
                       Self.op(3, .read(observed: "a"), 3, 4), Self.op(3, .read(observed: nil), 5, 6),
                       Self.op(1, .write("b"), 7, 8), Self.op(3, .read(observed: "b"), 9, 10)]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
        // The one unknown delete already explained the first "not found"; it cannot act a second time.
        let deletedTwice = history + [Self.op(3, .read(observed: nil), 11, 12)]
        #expect(LinearizabilityChecker.check(deletedTwice) != .linearizable)
    }
}
