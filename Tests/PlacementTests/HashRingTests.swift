import Testing
@testable import Placement

/// Replica sets against rings computed by hand (ring size 100, members at chosen positions).
struct HashRingTests {
    static func ring(_ members: [(String, Int)], size: Int = 100) -> HashRing {
        HashRing(members: members.map { RingMember(id: $0.0, position: $0.1) }, ringSize: size)
    }

    static let five = ring([("A", 10), ("B", 30), ("C", 50), ("D", 70), ("E", 90)])

    @Test func keyPositionIsSHA1ModTheRingSize() {
        // Expected values computed independently: int(hashlib.sha1(s.encode()).hexdigest(), 16) % 10000.
        #expect(HashRing.position(of: "") == 1305)
        #expect(HashRing.position(of: "abc") == 9517)
        #expect(HashRing.position(of: "color") == 2923)
        #expect(HashRing.position(of: "key-0") == 6555)
        #expect(HashRing.position(of: "é😀") == 8023)
        #expect(HashRing.position(of: "abc", ringSize: 7) == 4)
    }

    @Test func serverPositionIsTheSameHashOfItsID() {
        let ring = HashRing(memberIDs: ["server-a"])
        #expect(ring.members == [RingMember(id: "server-a", position: 6170)])
    }

    @Test func replicaSetIsTheNextThreeServersClockwise() {
        #expect(Self.five.replicaSet(forPosition: 0) == ["A", "B", "C"])
        #expect(Self.five.replicaSet(forPosition: 10) == ["A", "B", "C"], "a server's own position is its range")
        #expect(Self.five.replicaSet(forPosition: 11) == ["B", "C", "D"])
        #expect(Self.five.replicaSet(forPosition: 50) == ["C", "D", "E"])
        #expect(Self.five.replicaSet(forPosition: 51) == ["D", "E", "A"])
        #expect(Self.five.replicaSet(forPosition: 90) == ["E", "A", "B"])
    }

    @Test func positionsPastTheLastServerWrapAround() {
        #expect(Self.five.replicaSet(forPosition: 91) == ["A", "B", "C"])
        #expect(Self.five.replicaSet(forPosition: 99) == ["A", "B", "C"])
    }

    @Test func fewerThanThreeServersHoldEveryKey() {
        let two = Self.ring([("A", 10), ("B", 30)])
        #expect(two.replicaSet(forPosition: 20) == ["B", "A"])
        #expect(two.replicaSet(forPosition: 50) == ["A", "B"])
        #expect(Self.ring([("A", 10)]).replicaSet(forPosition: 99) == ["A"])
        #expect(Self.ring([]).replicaSet(forPosition: 5).isEmpty)
    }

    @Test func equalPositionsAreOrderedByID() {
        let ring = Self.ring([("Y", 40), ("Z", 80), ("X", 40)])
        #expect(ring.replicaSet(forPosition: 40) == ["X", "Y", "Z"])
        #expect(ring.replicaSet(forPosition: 41) == ["Z", "X", "Y"])
    }

    @Test func everyKeyHasThreeDistinctReplicasOnABigRing() {
        let ring = HashRing(memberIDs: (0..<7).map { "server-\($0)" })
        for index in 0..<2_000 {
            let replicas = ring.replicaSet(forKey: "key-\(index)")
            #expect(replicas.count == 3 && Set(replicas).count == 3)
        }
    }
}

struct RebalancePlanTests {
    static func ring(_ members: [(String, Int)]) -> HashRing { HashRingTests.ring(members) }
    static let five = HashRingTests.five

    @Test func joinMovesOnlyTheRangesTheNewcomerEnters() {
        let joined = Self.ring([("A", 10), ("B", 30), ("C", 50), ("D", 70), ("E", 90), ("F", 40)])
        let plan = RebalancePlan(from: Self.five, to: joined)
        #expect(plan.moves.map(\.range) == [PositionRange(0, 10), PositionRange(11, 30), PositionRange(31, 40),
                                            PositionRange(91, 99)])
        #expect(plan.moves.map(\.newcomers) == [["F"], ["F"], ["F"], ["F"]])
        #expect(plan.moves.map(\.leavers) == [["C"], ["D"], ["E"], ["C"]])
        #expect(plan.pulls(for: "F").count == 4)
        #expect(plan.pulls(for: "A").isEmpty)
    }

    @Test func failureHandsEachOfItsRangesToTheNextServerAlong() {
        let failed = Self.ring([("A", 10), ("B", 30), ("D", 70), ("E", 90)])
        let plan = RebalancePlan(from: Self.five, to: failed)
        #expect(plan.moves.map(\.range) == [PositionRange(0, 10), PositionRange(11, 30), PositionRange(31, 50),
                                            PositionRange(91, 99)])
        #expect(plan.moves.map(\.newcomers) == [["D"], ["E"], ["A"], ["D"]])
        #expect(plan.moves[2].newReplicas.first == "D", "the failed primary's successor becomes primary")
    }

    @Test func nothingMovesWhenTheViewIsUnchanged() {
        #expect(RebalancePlan(from: Self.five, to: Self.five).moves.isEmpty)
    }

    @Test func everyPositionWhoseReplicaSetChangedIsInExactlyOneMove() {
        let old = HashRing(memberIDs: (0..<5).map { "s\($0)" })
        let new = HashRing(memberIDs: (1..<7).map { "s\($0)" })
        let plan = RebalancePlan(from: old, to: new)
        for position in 0..<old.ringSize {
            let covering = plan.moves.filter { $0.range.contains(position) }
            let changed = old.replicaSet(forPosition: position) != new.replicaSet(forPosition: position)
            #expect(covering.count == (changed ? 1 : 0), "position \(position)")
            if let move = covering.first {
                #expect(move.oldReplicas == old.replicaSet(forPosition: position))
                #expect(move.newReplicas == new.replicaSet(forPosition: position))
            }
        }
    }

    @Test func joiningFromAnEmptyRingPullsNothingButCoversTheRing() {
        let plan = RebalancePlan(from: Self.ring([]), to: Self.ring([("A", 10)]))
        #expect(plan.moves.map(\.range) == [PositionRange(0, 99)], "adjacent pieces with equal sets merge")
        #expect(plan.moves.allSatisfy { $0.oldReplicas.isEmpty && $0.newcomers == ["A"] })
    }
}
