import Testing
@testable import ClientTool

/// The replicated store's refusal texts (PROTOCOL.md) map to their own error kinds.
struct BenchErrorKindTests {
    @Test(arguments: [
        ("request is for epoch 6 but this server is in 7", BenchErrorKind.staleEpoch),
        ("this server is not the key's primary (5be2c0de11aa4f07 is)", .notPrimary),
        ("this server's lease has expired; it serves nothing until it renews", .leaseExpired),
        ("the key's range is being copied to this server; retry shortly", .rangeMoving),
        ("this server has not joined a view yet", .notJoined),
        ("something new", .refused),
    ])
    func eachRefusalHasItsKind(reason: String, kind: BenchErrorKind) {
        #expect(BenchErrorKind.refusal(reason: reason, maybeApplied: false) == kind)
    }

    @Test func aWriteThatMayHaveAppliedIsCountedAsSuchWhateverTheReason() {
        #expect(BenchErrorKind.refusal(reason: "request is for epoch 6 but this server is in 7", maybeApplied: true)
            == .maybeApplied)
    }

    @Test func onlyRefusalsAboutTheViewMakeTheBenchFetchItAgain() {
        #expect(BenchErrorKind.staleEpoch.callsForViewRefresh)
        #expect(BenchErrorKind.notPrimary.callsForViewRefresh)
        #expect(!BenchErrorKind.timeout.callsForViewRefresh)
        #expect(!BenchErrorKind.errorReply.callsForViewRefresh)
    }
}
