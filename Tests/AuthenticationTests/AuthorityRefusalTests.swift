import Testing
@testable import Authentication

struct AuthorityRefusalTests {
    @Test func aRoleBelowTheNeededOneIsRefusedSayingWhatIsMissing() {
        #expect(AuthorityRefusal.refusal(needed: .readWrite, held: .readOnly)
            == "authentication required: a read-write request, which needs a read-write key; this connection's key "
                + "is read-only")
        #expect(AuthorityRefusal.refusal(needed: .member, held: .readWrite)
            == "authentication required: a member's message, which needs the cluster key; this connection's key is "
                + "read-write")
        for needed in Role.allCases {
            #expect(AuthorityRefusal.refusal(needed: needed, held: .member) == nil, "a member may do anything")
            #expect(AuthorityRefusal.refusal(needed: needed, held: nil) == nil, "a process without keys refuses none")
        }
        #expect(AuthorityRefusal.refusal(needed: .readOnly, held: .readOnly) == nil)
    }

    /// A refusal reported through other errors is found and cut out; other errors are not refusals.
    @Test func aRefusalIsFoundInsideTheErrorsThatCarriedIt() {
        let wrapped = "cannot get the view: the peer replied with an error: " + AuthorityRefusal.keyRequired
        #expect(AuthorityRefusal.reason(in: wrapped) == AuthorityRefusal.keyRequired)
        #expect(AuthorityRefusal.reason(in: "x: authentication failed: wrong key")
            == "authentication failed: wrong key")
        #expect(AuthorityRefusal.reason(in: "no live servers in epoch 4") == nil)
        #expect(!AuthorityRefusal.isAuthenticationFailure("connection refused"))
    }
}
