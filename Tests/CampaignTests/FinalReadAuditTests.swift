@testable import Campaign
import Linearizability
import Testing

struct FinalReadAuditTests {
    private func operation(_ key: String, _ kind: RecordedOperation.Kind, _ invoked: Int64, _ completed: Int64,
                           _ outcome: RecordedOperation.Outcome = .ok) -> RecordedOperation
    {
        RecordedOperation(process: 0, key: key, kind: kind, invokedAt: invoked, completedAt: completed, outcome: outcome)
    }

    @Test func theLastAcknowledgedWriteFoundIsNoLoss() {
        let history = [operation("k", .write("1"), 0, 10), operation("k", .write("2"), 20, 30)]
        #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .found("2")]).isEmpty)
    }

    @Test func anOverwrittenValueOrNothingIsALoss() {
        let history = [operation("k", .write("1"), 0, 10), operation("k", .write("2"), 20, 30)]
        let stale = FinalReadAudit.losses(history: history, finalReads: ["k": .found("1")])
        #expect(stale.map(\.key) == ["k"] && stale.first?.allowed == ["2"])
        #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .found(nil)]).count == 1)
        #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .unreadable("down")]).count == 1)
        #expect(FinalReadAudit.losses(history: history, finalReads: [:]).count == 1, "a key never read is lost")
    }

    @Test func concurrentWritesAndUnknownOutcomesAreEachAllowed() {
        let history = [
            operation("k", .write("1"), 0, 30), operation("k", .write("2"), 10, 20),
            operation("k", .write("3"), 15, 15, .unknown), operation("k", .write("4"), 16, 17, .fail),
        ]
        for value in ["1", "2", "3"] {
            #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .found(value)]).isEmpty)
        }
        #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .found("4")]).count == 1,
                "a failed write never took effect")
    }

    @Test func anAcknowledgedDeleteAllowsNothingAndKeysNeverAcknowledgedAreNotAudited() {
        let history = [operation("k", .write("1"), 0, 10), operation("k", .delete, 20, 30),
                       operation("u", .write("x"), 0, 10, .unknown), operation("r", .read(observed: nil), 0, 1)]
        #expect(FinalReadAudit.acknowledgedKeys(history) == ["k"])
        #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .found(nil)]).isEmpty)
        #expect(FinalReadAudit.losses(history: history, finalReads: ["k": .found("1")]).count == 1)
    }
}
