import Seeded
import Testing
import Wire
@testable import ViewLeaderKit

/// Membership under an explicit clock: an hour of heartbeats runs in microseconds, with no sleeping.
struct MembershipTests {
    @Test func epochStartsAtZeroAndAJoinAdvancesItByOne() {
        var membership = Membership(leaseMs: 1_000)
        #expect(membership.epoch == 0)
        let (outcome, changes) = membership.heartbeat(id: "a", address: "h:1", nowMs: 0)
        #expect(outcome == .accepted(epoch: 1))
        #expect(changes.count == 1)
        #expect(membership.epoch == 1)
    }

    @Test func repeatedHeartbeatsKeepTheEpoch() {
        var membership = Membership(leaseMs: 1_000)
        for second in 0..<3_600 {
            _ = membership.heartbeat(id: "a", address: "h:1", nowMs: Int64(second) * 500)
        }
        #expect(membership.epoch == 1)
        #expect(membership.members.count == 1)
    }

    @Test func serverSilentLongerThanTheLeaseExpiresAndIsDeniedForever() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", nowMs: 0)
        #expect(membership.expire(nowMs: 1_000).isEmpty, "exactly at the lease the server is still live")
        let changes = membership.expire(nowMs: 1_001)
        #expect(changes == [.expired(Member(id: "a", address: "h:1", lastHeartbeatMs: 0), epoch: 2)])
        #expect(membership.heartbeat(id: "a", address: "h:1", nowMs: 1_002).outcome == .denied(.expired))
        #expect(membership.epoch == 2)
    }

    @Test func secondIDAtALiveAddressIsToldToRetry() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", nowMs: 0)
        let (outcome, changes) = membership.heartbeat(id: "b", address: "h:1", nowMs: 10)
        #expect(outcome == .addressTaken(epoch: 1, holder: "a"))
        #expect(changes.isEmpty)
        #expect(membership.epoch == 1)
    }

    @Test func newIDTakesOverAnAddressOnceItsHolderExpired() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", nowMs: 0)
        let (outcome, changes) = membership.heartbeat(id: "b", address: "h:1", nowMs: 5_000)
        #expect(outcome == .accepted(epoch: 3), "one epoch for the expiry, one for the join")
        #expect(changes.count == 2)
        #expect(membership.members.keys.sorted() == ["b"])
    }

    @Test func simultaneousExpiriesEachAdvanceTheEpochTwoAtATimeBetweenSyncedViews() {
        var membership = Membership(leaseMs: 100)
        let ids = ["a", "b", "c", "d"]
        for (index, id) in ids.enumerated() { _ = membership.heartbeat(id: id, address: "h:\(index)", nowMs: Int64(index)) }
        for (index, id) in ids.enumerated() {
            _ = membership.heartbeat(id: id, address: "h:\(index)", nowMs: 10, syncedEpoch: .max)
        }
        #expect(membership.epoch == 4 && membership.everyoneSyncedTo == 4)
        // a, b and c fail at once; d goes on. Two expire, each advancing the epoch; the third replica is held.
        let changes = membership.heartbeat(id: "d", address: "h:3", nowMs: 150).changes + membership.expire(nowMs: 150)
        #expect(changes.count == 2)
        #expect(membership.epoch == 6)
        #expect(membership.heldIDs == ["c"] && membership.members.keys.sorted() == ["c", "d"])
        // Once d has synced epoch 6 (pulling c's ranges), c may go too.
        _ = membership.heartbeat(id: "d", address: "h:3", nowMs: 200, syncedEpoch: .max)
        #expect(membership.expire(nowMs: 200).count == 1)
        #expect(membership.epoch == 7 && membership.members.keys.sorted() == ["d"] && membership.heldIDs.isEmpty)
    }

    @Test func aHeldMemberThatHeartbeatsAgainStaysAndOneSilentTooLongExpires() {
        var membership = Membership(leaseMs: 100)
        for (index, id) in ["a", "b", "c", "d"].enumerated() {
            _ = membership.heartbeat(id: id, address: "h:\(index)", nowMs: 0)
            _ = membership.heartbeat(id: id, address: "h:\(index)", nowMs: 10, syncedEpoch: .max)
        }
        _ = membership.heartbeat(id: "d", address: "h:3", nowMs: 150)
        _ = membership.expire(nowMs: 150)
        #expect(membership.heldIDs == ["c"])
        // c was only slow: its heartbeat gets through, and it is a live member again, data and all.
        #expect(membership.heartbeat(id: "c", address: "h:2", nowMs: 160).outcome == .accepted(epoch: 6))
        #expect(membership.heldIDs.isEmpty)
        // Now c falls silent for good while d heartbeats but never syncs: c is held, then expired
        // `heldExpiryLeasesMax` leases past its own.
        func heartbeatFromD(at nowMs: Int64) -> [ViewChange] {
            membership.heartbeat(id: "d", address: "h:3", nowMs: nowMs).changes + membership.expire(nowMs: nowMs)
        }
        #expect(heartbeatFromD(at: 261).isEmpty)
        #expect(membership.heldIDs == ["c"])
        let forcedAfterMs = 160 + 100 * (1 + Membership.heldExpiryLeasesMax)
        #expect(heartbeatFromD(at: forcedAfterMs).isEmpty)
        #expect(heartbeatFromD(at: forcedAfterMs + 1).count == 1)
        #expect(membership.members.keys.sorted() == ["d"])
    }

    @Test func serverThatMovesToANewAddressLeavesAndJoinsAgain() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", nowMs: 0)
        let (outcome, _) = membership.heartbeat(id: "a", address: "h:2", nowMs: 10)
        #expect(outcome == .accepted(epoch: 3))
        #expect(membership.members["a"]?.address == "h:2")
    }

    @Test func epochNeverDecreasesOverARandomHistory() {
        var membership = Membership(leaseMs: 300)
        var generator = SplitMix64(seed: 7)
        var lastEpoch: Int64 = 0
        for step in 0..<20_000 {
            let nowMs = Int64(step) * 10
            let id = "s\(generator.next() % 8)"
            if generator.next() % 3 == 0 {
                _ = membership.heartbeat(id: id, address: "h:\(generator.next() % 6)", nowMs: nowMs)
            } else {
                _ = membership.expire(nowMs: nowMs)
            }
            #expect(membership.epoch >= lastEpoch)
            lastEpoch = membership.epoch
        }
    }
}

/// A tiny seeded generator so property tests replay exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct MembershipLimitTests {
    @Test func viewBeyondItsMemberLimitRefusesTheNewcomer() {
        var membership = Membership(leaseMs: 1_000)
        for index in 0..<ViewLeaderRequest.membersMax {
            _ = membership.heartbeat(id: "s\(index)", address: "h:\(index)", nowMs: 0)
        }
        let (outcome, _) = membership.heartbeat(id: "extra", address: "h:extra", nowMs: 0)
        #expect(outcome == .addressTaken(epoch: Int64(ViewLeaderRequest.membersMax), holder: ""))
        #expect(membership.members.count == ViewLeaderRequest.membersMax)
    }

    @Test func oldestExpiredIDsAreForgottenPastTheLimit() {
        var membership = Membership(leaseMs: 1)
        for index in 0...Membership.expiredIDsRememberedMax {
            _ = membership.heartbeat(id: "s\(index)", address: "h:1", nowMs: Int64(index) * 10)
            // Synced, so the pacing of expiry by replication never holds it.
            _ = membership.heartbeat(id: "s\(index)", address: "h:1", nowMs: Int64(index) * 10 + 1, syncedEpoch: .max)
            _ = membership.expire(nowMs: Int64(index) * 10 + 5)
        }
        #expect(!membership.isDenied("s0", incarnation: 0), "the oldest expired ID was forgotten")
        #expect(membership.isDenied("s1", incarnation: 0))
        #expect(membership.isDenied("s\(Membership.expiredIDsRememberedMax)", incarnation: 0))
    }

    // MARK: Incarnations of a server that keeps its ID in a data directory

    @Test func aLaterIncarnationOfALiveMemberReplacesItInANewEpochWithItsSyncStartingOver() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", incarnation: 1, nowMs: 0)
        _ = membership.heartbeat(id: "b", address: "h:2", nowMs: 0)
        _ = membership.heartbeat(id: "a", address: "h:1", incarnation: 1, nowMs: 10, syncedEpoch: 2)
        #expect(membership.members["a"]?.syncedEpoch == 2)
        let previous = membership.members["a"]!
        let (outcome, changes) = membership.heartbeat(id: "a", address: "h:1", incarnation: 2, nowMs: 20,
                                                      syncedEpoch: -1)
        #expect(outcome == .accepted(epoch: 3), "a restart is a view change: versions start over in a new epoch")
        #expect(changes == [.restarted(previous: previous, Member(id: "a", address: "h:1", lastHeartbeatMs: 20,
                                                                   incarnation: 2), epoch: 3)])
        #expect(membership.members["a"]?.syncedEpoch == -1, "the new process has synced nothing yet")
        #expect(membership.everyoneSyncedTo == -1)
        #expect(membership.heartbeat(id: "a", address: "h:1", incarnation: 1, nowMs: 30).outcome
                    == .denied(.replaced(by: 2)),
                "the replaced process may never be renewed again")
        #expect(membership.heartbeat(id: "a", address: "h:1", incarnation: 2, nowMs: 40).outcome == .accepted(epoch: 3))
    }

    @Test func anExpiredIncarnationStaysDeniedAndALaterOneJoinsAgainAtTheSameID() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", incarnation: 3, nowMs: 0)
        #expect(membership.expire(nowMs: 1_001).count == 1)
        #expect(membership.isDenied("a", incarnation: 3) && membership.isDenied("a", incarnation: 1))
        #expect(!membership.isDenied("a", incarnation: 4))
        #expect(membership.heartbeat(id: "a", address: "h:1", incarnation: 3, nowMs: 1_002).outcome
                    == .denied(.expired))
        let (outcome, changes) = membership.heartbeat(id: "a", address: "h:1", incarnation: 4, nowMs: 1_003)
        #expect(outcome == .accepted(epoch: 3))
        #expect(changes == [.joined(Member(id: "a", address: "h:1", lastHeartbeatMs: 1_003, incarnation: 4), epoch: 3)])
        // It expires again: now incarnation 4 is denied too, and the saved state says so.
        #expect(membership.expire(nowMs: 2_004).count == 1)
        #expect(membership.isDenied("a", incarnation: 4))
        #expect(membership.state.expiredIDs == [.init(id: "a", incarnation: 4)])
        let restored = Membership(leaseMs: 1_000, restoring: membership.state, nowMs: 3_000)
        #expect(restored.isDenied("a", incarnation: 4) && !restored.isDenied("a", incarnation: 5))
    }

    @Test func aServerWithoutIncarnationsIsDeniedForeverAsBefore() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "classic", address: "h:1", nowMs: 0)
        _ = membership.expire(nowMs: 1_001)
        #expect(membership.heartbeat(id: "classic", address: "h:1", nowMs: 1_002).outcome == .denied(.expired))
    }

    @Test func aRestartAtAnAddressAnotherMemberHoldsRemovesThePreviousIncarnationAndWaits() {
        var membership = Membership(leaseMs: 1_000)
        _ = membership.heartbeat(id: "a", address: "h:1", incarnation: 1, nowMs: 0)
        _ = membership.heartbeat(id: "b", address: "h:2", nowMs: 0)
        let (outcome, changes) = membership.heartbeat(id: "a", address: "h:2", incarnation: 2, nowMs: 10)
        #expect(outcome == .addressTaken(epoch: 3, holder: "b"))
        #expect(changes.count == 1 && membership.members["a"] == nil)
        #expect(membership.heartbeat(id: "a", address: "h:3", incarnation: 2, nowMs: 20).outcome == .accepted(epoch: 4))
    }
}
