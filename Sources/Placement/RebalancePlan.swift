/// A run of ring positions, inclusive at both ends, that never wraps past the end of the ring.
public struct PositionRange: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let lowerBound: Int
    public let upperBound: Int

    public init(_ lowerBound: Int, _ upperBound: Int) {
        precondition(lowerBound <= upperBound, "a position range does not wrap; split it at the ring's end")
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    public func contains(_ position: Int) -> Bool { lowerBound <= position && position <= upperBound }

    public var description: String { "[\(lowerBound), \(upperBound)]" }
}

/// Ranges whose replica set changes between two views, and who must copy them to whom.
///
/// Only positions whose replica set differs appear, so keys move only when their replica set changes.
public struct RebalancePlan: Equatable, Sendable {
    public struct Move: Equatable, Sendable {
        public let range: PositionRange
        /// Replicas of the range in the old view, primary first.
        public let oldReplicas: [String]
        /// Replicas of the range in the new view, primary first.
        public let newReplicas: [String]

        /// Servers that must pull the range before serving it.
        public var newcomers: [String] { newReplicas.filter { !oldReplicas.contains($0) } }
        /// Servers that no longer hold the range and must drop it once it has moved.
        public var leavers: [String] { oldReplicas.filter { !newReplicas.contains($0) } }
    }

    public let moves: [Move]

    /// Compares the replica sets of every position between `old` and `new`.
    public init(from old: HashRing, to new: HashRing) {
        precondition(old.ringSize == new.ringSize, "views with different ring sizes cannot be compared")
        var moves: [Move] = []
        for range in Self.elementaryRanges(old, new) {
            let oldReplicas = old.replicaSet(forPosition: range.lowerBound)
            let newReplicas = new.replicaSet(forPosition: range.lowerBound)
            // Positions are fixed per ID, so equal sets are also equally ordered: comparing arrays compares sets.
            guard oldReplicas != newReplicas else { continue }
            if let last = moves.last, last.range.upperBound + 1 == range.lowerBound,
               last.oldReplicas == oldReplicas, last.newReplicas == newReplicas {
                moves[moves.count - 1] = Move(range: PositionRange(last.range.lowerBound, range.upperBound),
                                              oldReplicas: oldReplicas, newReplicas: newReplicas)
            } else {
                moves.append(Move(range: range, oldReplicas: oldReplicas, newReplicas: newReplicas))
            }
        }
        self.moves = moves
    }

    /// The ranges `server` must pull, each with the old replicas that hold it.
    public func pulls(for server: String) -> [Move] {
        moves.filter { $0.newcomers.contains(server) }
    }

    /// Splits the ring at every member position of either view, so each piece has one replica set in each.
    static func elementaryRanges(_ old: HashRing, _ new: HashRing) -> [PositionRange] {
        let cuts = Set(old.members.map(\.position) + new.members.map(\.position)).sorted()
        guard let first = cuts.first, let last = cuts.last else { return [PositionRange(0, old.ringSize - 1)] }
        var ranges = [PositionRange(0, first)]
        for (previous, next) in zip(cuts, cuts.dropFirst()) {
            ranges.append(PositionRange(previous + 1, next))
        }
        if last + 1 <= old.ringSize - 1 { ranges.append(PositionRange(last + 1, old.ringSize - 1)) }
        return ranges
    }
}
