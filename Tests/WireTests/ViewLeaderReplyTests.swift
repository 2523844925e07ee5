import Testing
@testable import Wire

/// The viewleader's replies read back as what was written, classic replies without our fields are understood,
/// and a reply of the wrong shape is named as such.
struct ViewLeaderReplyTests {
    @Test(arguments: [
        HeartbeatReply.accepted(epoch: 3, leaseMs: 5_000, allSyncedEpoch: 2),
        .accepted(epoch: 0, leaseMs: nil, allSyncedEpoch: -1),
        .denied(reason: "lease of server s1 expired; register again under a new ID"),
        .refused(reason: "viewleader is at its limit of 4096 connections; try again later"),
        .retry(reason: "127.0.0.1:38000 is held by live server s2 until its lease expires", epoch: 4, reportView: nil),
        .retry(reason: "recovering", epoch: nil, reportView: true),
        .retry(reason: "confirming", epoch: nil, reportView: false),
    ])
    func heartbeatRepliesReadBackAsWritten(_ reply: HeartbeatReply) throws {
        #expect(try HeartbeatReply(reply.json) == reply)
    }

    @Test func aClassicViewleadersBareRepliesAreUnderstood() throws {
        #expect(try HeartbeatReply(["status": "ok", "epoch": 2])
            == .accepted(epoch: 2, leaseMs: nil, allSyncedEpoch: -1))
        #expect(try HeartbeatReply(["status": "deny"]) == .denied(reason: "lease expired"))
        #expect(try HeartbeatReply(["status": "retry"])
            == .retry(reason: "address held by another server", epoch: nil, reportView: nil))
    }

    @Test(arguments: [
        JSONValue.array([]), ["epoch": 1], ["status": "ok"], ["status": "granted"], ["status": 5],
    ])
    func aHeartbeatReplyOfTheWrongShapeIsMalformed(_ reply: JSONValue) {
        #expect(throws: MalformedReply.self) { try HeartbeatReply(reply) }
    }

    @Test(arguments: [
        LockReply.granted, .queued(position: 2), .queued(position: nil), .released, .unknown,
        .refused("too many locks"),
    ])
    func lockRepliesReadBackAsWritten(_ reply: LockReply) throws {
        #expect(try LockReply(reply.json) == reply)
    }

    @Test func aLockReplyWithAnUnknownStatusIsMalformed() {
        #expect(throws: MalformedReply("lock reply has unknown status \"maybe\"")) {
            try LockReply(["status": "maybe"])
        }
    }
}
