import Testing
@testable import ClientTool

/// What counts as a completed operation and what as an error, per kind of request.
struct BenchVerdictTests {
    @Test func normalAnswersComplete() {
        #expect(BenchVerdict(reply: .ok, to: .set) == .completed(.ok))
        #expect(BenchVerdict(reply: .ok, to: .getr) == .completed(.ok))
        #expect(BenchVerdict(reply: .notFound, to: .get) == .completed(.notFound))
        #expect(BenchVerdict(reply: .notFound, to: .getr) == .completed(.notFound))
        #expect(BenchVerdict(reply: .granted, to: .lockGet) == .completed(.granted))
        #expect(BenchVerdict(reply: .retry(reason: "queued at position 1", maybeApplied: false), to: .lockGet)
            == .completed(.queued))
        #expect(BenchVerdict(reply: .ok, to: .lockRelease) == .completed(.ok))
        #expect(BenchVerdict(reply: .unknown, to: .lockRelease) == .completed(.unknown))
    }

    @Test func aReplicatedRefusalIsAnErrorOfItsKind() {
        let stale = "request is for epoch 6 but this server is in 7"
        #expect(BenchVerdict(reply: .retry(reason: stale, maybeApplied: false), to: .setr)
            == .failed(.staleEpoch, stale))
        let lease = "this server's lease has expired; it serves nothing until it renews"
        #expect(BenchVerdict(reply: .retry(reason: lease, maybeApplied: false), to: .getr)
            == .failed(.leaseExpired, lease))
        #expect(BenchVerdict(reply: .retry(reason: "anything", maybeApplied: true), to: .setr)
            == .failed(.maybeApplied, "anything"))
    }

    @Test func answersTheRequestCannotProduceAreUnexpected() {
        #expect(BenchVerdict(reply: .notFound, to: .set)
            == .failed(.unexpectedReply, "notFound is not an answer to set"))
        guard case .failed(.unexpectedReply, _) = BenchVerdict(reply: .granted, to: .get) else {
            Issue.record("granted to a get was not unexpected")
            return
        }
        guard case .failed(.unexpectedReply, _) = BenchVerdict(reply: .retry(reason: "r", maybeApplied: false),
                                                                to: .set)
        else {
            Issue.record("retry to a classic set was not unexpected")
            return
        }
        #expect(BenchVerdict(reply: .error("bad"), to: .get) == .failed(.errorReply, "bad"))
    }
}
