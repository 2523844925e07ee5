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

    /// An error reply is a refusal when it begins with one of the two documented prefixes, and only then.
    @Test func anErrorReplyIsARefusalByItsPrefix() {
        #expect(AuthorityRefusal.isRefusal(AuthorityRefusal.keyRequired))
        #expect(AuthorityRefusal.isRefusal(AuthorityRefusal.refusal(needed: .member, held: .readOnly)!))
        #expect(AuthorityRefusal.isRefusal(HandshakeError.initiatorProofFailed.description))
        #expect(!AuthorityRefusal.isRefusal("no live servers in epoch 4"))
        #expect(!AuthorityRefusal.isRefusal("key \"authentication required: x\" not found"), "only as a prefix")
    }
}
