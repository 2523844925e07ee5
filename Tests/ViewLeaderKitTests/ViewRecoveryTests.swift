import Testing
import Wire
@testable import ViewLeaderKit

/// A viewleader that starts from lost or older state never falls behind the cluster: it renews no lease until it
/// knows the cluster's epoch, and then moves above it.
struct ViewRecoveryTests {
    static let leaseMs: Int64 = 1_000

    /// A heartbeat from `id` at port `port`, reporting `epoch` when given and, when given, the view it serves.
    static func beat(_ id: String, port: Int64, epoch: Int64? = nil, view: (Int64, [(String, String)])? = nil)
        throws -> Request
    {
        var fields: JSONObject = ["cmd": "heartbeat", "port": .integer(port), "requestor": .string(id)]
        if let epoch { fields["epoch"] = .integer(epoch) }
        if let (viewEpoch, members) = view {
            fields["view"] = ["epoch": .integer(viewEpoch),
                              "members": .array(members.map { [.string($0.0), .string($0.1)] })]
        }
        return try Request(fields: fields)
    }

    static func status(_ reply: JSONValue) -> String? { reply.objectValue?["status"]?.stringValue }

    @Test func aFreshViewleaderAdmitsServersThatReportNoEpochAtOnce() throws {
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000)
        let (reply, _) = try core.handle(Self.beat("classic", port: 1), peerHost: "h", nowMs: 0)
        #expect(reply.objectValue?["status"] == "ok" && reply.objectValue?["epoch"] == 1,
                "a classic server (or a new one) joins as before")
    }

    @Test func aServerAheadStartsARecoveryThatRenewsNoLeaseAndFormsOneViewAboveEveryEpochReported() throws {
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, nowMs: 0)
        let (first, effects) = try core.handle(Self.beat("a", port: 1, epoch: 7), peerHost: "h", nowMs: 100)
        #expect(Self.status(first) == "retry" && first.objectValue?["report_view"] == true)
        #expect(effects.contains { if case .log(let line) = $0 { line.contains("older than the cluster's") } else { false } })
        #expect(Self.status(try core.handle(Self.beat("b", port: 2, epoch: 5), peerHost: "h", nowMs: 200).reply)
            == "retry")
        #expect(Self.status(try core.handle(Self.beat("fresh", port: 9), peerHost: "h", nowMs: 300).reply) == "retry",
                "no view forms, not even for a new server, until the cluster's epoch is known")
        let servedView: (Int64, [(String, String)]) = (7, [("a", "h:1"), ("b", "h:2"), ("c", "h:3")])
        _ = try core.handle(Self.beat("a", port: 1, epoch: 7, view: servedView), peerHost: "h", nowMs: 400)
        #expect(core.tick(after: 400, through: 990).isEmpty, "every lease granted before the start is still running")
        let formed = core.tick(after: 990, through: 1_100)
        let expected = ViewLeaderState(epoch: 8, members: [.init(id: "a", address: "h:1"), .init(id: "b", address: "h:2"),
                                                           .init(id: "c", address: "h:3"),
                                                           .init(id: "fresh", address: "h:9")],
                                       expiredIDs: [])
        #expect(formed.first == .persist(expected), "the members of epoch 7, not heard or not, and everyone heard")
        let (renewed, _) = try core.handle(Self.beat("a", port: 1, epoch: 7), peerHost: "h", nowMs: 1_150)
        #expect(Self.status(renewed) == "ok" && renewed.objectValue?["epoch"] == 8)
    }

    @Test func aRecoveryWaitsForAViewSoItNeverFormsOneFromAFewServersHeard() throws {
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, nowMs: 0)
        _ = try core.handle(Self.beat("a", port: 1, epoch: 7), peerHost: "h", nowMs: 100)
        _ = core.tick(after: 100, through: 3_000)
        #expect(core.recovery != nil && core.membership.epoch == 0,
                "without a reported view the viewleader cannot tell who holds the data")
        _ = try core.handle(Self.beat("a", port: 1, epoch: 7, view: (7, [("a", "h:1"), ("b", "h:2")])), peerHost: "h",
                            nowMs: 3_000)
        _ = core.tick(after: 3_000, through: 3_100)
        #expect(core.recovery == nil && core.membership.epoch == 8)
        #expect(Set(core.membership.members.keys) == ["a", "b"])
    }

    @Test func aRecoveredViewGivesEveryMemberAFreshLease() throws {
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, nowMs: 0)
        _ = try core.handle(Self.beat("a", port: 1, epoch: 3, view: (3, [("a", "h:1")])), peerHost: "h", nowMs: 10)
        _ = core.tick(after: 10, through: 1_500)
        #expect(core.membership.epoch == 4)
        // a was last heard at 10 ms; its lease runs from the recovered view, not from then.
        let next = try core.tick(after: 1_500, through: 2_400, whileHeartbeating: "z")
        #expect(!next.contains { if case .persist(let state) = $0 { !state.members.contains { $0.id == "a" } } else { false } })
    }

    @Test func aRestartFromSavedStateConfirmsItWithTheRestoredMembersBeforeRenewingALease() throws {
        let saved = ViewLeaderState(epoch: 4, members: [.init(id: "a", address: "h:1"), .init(id: "b", address: "h:2")],
                                    expiredIDs: ["gone"])
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, restoring: saved, nowMs: 0)
        #expect(Self.status(try core.handle(Self.beat("a", port: 1, epoch: 4), peerHost: "h", nowMs: 50).reply)
            == "retry", "b has not confirmed the restored view yet")
        #expect(Self.status(try core.handle(Self.beat("gone", port: 3, epoch: 4), peerHost: "h", nowMs: 60).reply)
            == "deny")
        let (confirmed, _) = try core.handle(Self.beat("b", port: 2, epoch: 4), peerHost: "h", nowMs: 70)
        #expect(Self.status(confirmed) == "ok" && confirmed.objectValue?["epoch"] == 4)
        #expect(Self.status(try core.handle(Self.beat("a", port: 1, epoch: 4), peerHost: "h", nowMs: 80).reply) == "ok")
    }

    @Test func aRestartFromOlderStateRecoversWhenAnyoneIsAheadEvenARestoredMember() throws {
        let saved = ViewLeaderState(epoch: 4, members: [.init(id: "a", address: "h:1"), .init(id: "b", address: "h:2")],
                                    expiredIDs: [])
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, restoring: saved, nowMs: 0)
        // b is behind (it missed epochs 5 to 9 while paused) but matches the old state: renewing its lease at
        // epoch 4 would let it serve a superseded view beside the cluster's (simulation seed 425 found this).
        #expect(Self.status(try core.handle(Self.beat("b", port: 2, epoch: 4), peerHost: "h", nowMs: 40).reply)
            == "retry", "no lease is renewed before the restored view is confirmed")
        let (reply, _) = try core.handle(Self.beat("a", port: 1, epoch: 9, view: (9, [("a", "h:1"), ("c", "h:3")])),
                                         peerHost: "h", nowMs: 50)
        #expect(Self.status(reply) == "retry" && core.recovery?.isRecovering == true)
        #expect(Self.status(try core.handle(Self.beat("b", port: 2, epoch: 4), peerHost: "h", nowMs: 60).reply)
            == "retry")
        _ = core.tick(after: 50, through: 1_100)
        #expect(core.membership.epoch == 10)
        #expect(Set(core.membership.members.keys) == ["a", "b", "c"])
    }

    @Test func aViewleaderThatHearsNoOneAfterARestartKeepsWaiting() throws {
        let saved = ViewLeaderState(epoch: 4, members: [.init(id: "a", address: "h:1")], expiredIDs: [])
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, restoring: saved, nowMs: 0)
        _ = core.tick(after: 0, through: 5_000)
        #expect(core.recovery != nil, "cut off, it cannot tell whether its restored view is the cluster's")
        #expect(core.membership.members["a"] != nil, "and expires no one meanwhile")
    }

    @Test func forOneLeaseAfterAStartNoEpochIsReportedSyncedByEveryone() throws {
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000, nowMs: 0)
        let synced = { (nowMs: Int64) throws -> JSONValue? in
            try core.handle(Request(fields: ["cmd": "heartbeat", "port": 1, "requestor": "a", "synced_epoch": 1]),
                            peerHost: "h", nowMs: nowMs).reply.objectValue?["all_synced_epoch"]
        }
        #expect(try synced(10) == -1, "a viewleader that lost its state cannot know yet who else holds data")
        #expect(try synced(999) == -1)
        #expect(try synced(1_000) == 1)
    }
}
