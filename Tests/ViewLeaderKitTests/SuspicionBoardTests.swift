import Testing
@testable import ViewLeaderKit

/// The viewleader's rule for members that cannot reach each other: who goes, when, and how long it waits.
struct SuspicionBoardTests {
    static let leaseMs: Int64 = 1_500

    static func members(_ ids: [String], synced: [String: Int64] = [:])
        -> [String: (address: String, syncedEpoch: Int64)] {
        Dictionary(uniqueKeysWithValues: ids.map { ($0, (address: "\($0):1", syncedEpoch: synced[$0] ?? 5)) })
    }

    @Test func theReportedMemberGoesOnceReportsHaveGathered() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        let members = Self.members(["a", "b", "c"])
        let noted = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: 0)
        #expect(noted)
        #expect(board.decide(members: members, mayExclude: true, nowMs: board.gatherMs - 1) == nil, "still gathering")
        let decision = board.decide(members: members, mayExclude: true, nowMs: board.gatherMs)
        #expect(decision?.excluded == "b")
        #expect(board.isExcluding("b"))
        let counterReport = board.record(reporter: "b", peer: "a", unreachableMs: 1_000, nowMs: 400)
        #expect(!counterReport, "a member being excluded cannot get anyone else excluded")
    }

    /// Both sides of a cut report each other: one goes, never both, and nothing flaps while it leaves.
    @Test func ofTwoMembersThatReportEachOtherOnlyOneGoes() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        let members = Self.members(["a", "b", "c"])
        _ = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: 0)
        _ = board.record(reporter: "b", peer: "a", unreachableMs: 1_000, nowMs: 5)
        #expect(board.decide(members: members, mayExclude: true, nowMs: 1_000)?.excluded == "b")
        #expect(board.decide(members: members, mayExclude: true, nowMs: 2_000) == nil)
        #expect(board.reports.isEmpty)
    }

    /// A server cut off from two peers is the odd one out, even when it was first to report.
    @Test func theMemberWithMoreUnreachablePeersGoes() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        let members = Self.members(["a", "b", "c", "d"])
        _ = board.record(reporter: "b", peer: "a", unreachableMs: 1_000, nowMs: 0)
        _ = board.record(reporter: "c", peer: "b", unreachableMs: 1_000, nowMs: 10)
        let decision = board.decide(members: members, mayExclude: true, nowMs: 1_000)
        #expect(decision?.excluded == "b")
        #expect(decision?.counterparts == ["a": 1, "b": 2, "c": 1])
    }

    /// One bad member that reports everyone excludes itself, not them.
    @Test func aMemberThatReportsEveryoneExcludesItself() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        let members = Self.members(["liar", "b", "c", "d"])
        for (index, peer) in ["b", "c", "d"].enumerated() {
            _ = board.record(reporter: "liar", peer: peer, unreachableMs: 1_000, nowMs: Int64(index))
        }
        #expect(board.decide(members: members, mayExclude: true, nowMs: 1_000)?.excluded == "liar")
    }

    /// A joiner that cannot reach a replica cannot copy its ranges: on a tie, the one synced less far goes.
    @Test func onATieTheMemberSyncedLessFarGoes() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        let members = Self.members(["old", "joiner", "c"], synced: ["joiner": 4])
        _ = board.record(reporter: "joiner", peer: "old", unreachableMs: 1_000, nowMs: 0)
        #expect(board.decide(members: members, mayExclude: true, nowMs: 1_000)?.excluded == "joiner")
    }

    /// Exclusions wait while the expiry pacing allows no more, and one runs at a time.
    @Test func nothingIsExcludedWhileThePacingForbidsIt() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        var members = Self.members(["a", "b", "c", "d"])
        _ = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: 0)
        _ = board.record(reporter: "c", peer: "d", unreachableMs: 1_000, nowMs: 0)
        #expect(board.decide(members: members, mayExclude: false, nowMs: 1_000) == nil)
        #expect(board.decide(members: members, mayExclude: true, nowMs: 1_000)?.excluded == "b")
        #expect(board.decide(members: members, mayExclude: true, nowMs: 1_100) == nil, "one at a time")
        members["b"] = nil
        #expect(board.decide(members: members, mayExclude: true, nowMs: 1_200)?.excluded == "d",
                "the next once the first has left the view")
    }

    /// Each exclusion of the same address doubles its quarantine, up to 32 leases; a quiet spell after the last
    /// quarantine starts over.
    @Test func theQuarantineDoublesWithEachExclusionOfTheSameAddress() throws {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        var nowMs: Int64 = 0
        var quarantines: [Int64] = []
        for _ in 0..<8 {
            var members = Self.members(["a", "b", "c"])
            _ = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: nowMs)
            nowMs += board.gatherMs
            quarantines.append(board.decide(members: members, mayExclude: true, nowMs: nowMs)?.quarantineMs ?? -1)
            #expect(board.quarantinedUntil("b:1", nowMs: nowMs) == nowMs + Self.leaseMs + quarantines.last!)
            members["b"] = nil
            _ = board.decide(members: members, mayExclude: true, nowMs: nowMs)
            nowMs += 1_000
        }
        #expect(quarantines == [2, 4, 8, 16, 32, 32, 32, 32].map { $0 * Self.leaseMs })
        let members = Self.members(["a", "b", "c"])
        nowMs = try #require(board.quarantinedUntil("b:1", nowMs: nowMs)) + board.strikeMemoryMs + 1
        _ = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: nowMs)
        #expect(board.decide(members: members, mayExclude: true, nowMs: nowMs + board.gatherMs)?.quarantineMs
                == 2 * Self.leaseMs)
    }

    /// A reporter that reaches the peer again withdraws its report (unreachable 0 ms), before anything is decided.
    @Test func aWithdrawnReportExcludesNoOne() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        _ = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: 0)
        _ = board.record(reporter: "a", peer: "b", unreachableMs: 0, nowMs: 100)
        #expect(board.reports.isEmpty)
        #expect(board.decide(members: Self.members(["a", "b", "c"]), mayExclude: true, nowMs: 1_000) == nil)
    }

    @Test func reportsNotMadeAgainStopStanding() {
        var board = SuspicionBoard(leaseMs: Self.leaseMs)
        let members = Self.members(["a", "b", "c"])
        _ = board.record(reporter: "a", peer: "b", unreachableMs: 1_000, nowMs: 0)
        #expect(board.decide(members: members, mayExclude: false, nowMs: board.reportStandsMs + 1) == nil)
        #expect(board.reports.isEmpty)
    }
}
