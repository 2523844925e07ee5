import Wire

/// A server's place on the ring.
public struct RingMember: Equatable, Hashable, Sendable {
    public let id: String
    /// SHA-1 of the ID's UTF-8 bytes, mod the ring size.
    public let position: Int
}

/// Where keys live: each key on the first `replicationFactor` distinct servers at or after its position,
/// clockwise, wrapping around; on every server when there are fewer.
///
/// Pure and deterministic: every member computing it from the same view gets the same answer, which is why the
/// ring size travels in the view rather than being a constant each process assumes.
public struct HashRing: Equatable, Sendable {
    /// Copies of each key.
    public static let replicationFactor = 3
    /// The ring a view uses unless it announces another (defined with the protocol, in Wire).
    public static let defaultRingSize = RingSize.classic

    public let ringSize: Int
    /// Members ordered by (position, id): equal positions are ordered by ID.
    public let members: [RingMember]

    public init(memberIDs: some Sequence<String>, ringSize: Int = HashRing.defaultRingSize) {
        precondition(ringSize > 0, "ring size must be positive")
        self.ringSize = ringSize
        members = Set(memberIDs)
            .map { RingMember(id: $0, position: Self.position(of: $0, ringSize: ringSize)) }
            .sorted { ($0.position, $0.id) < ($1.position, $1.id) }
    }

    /// A ring of members at given positions; tests use it to build hand-computed rings.
    init(members: [RingMember], ringSize: Int) {
        precondition(members.allSatisfy { (0..<ringSize).contains($0.position) }, "member off the ring")
        precondition(Set(members.map(\.id)).count == members.count, "member IDs must be distinct")
        self.ringSize = ringSize
        self.members = members.sorted { ($0.position, $0.id) < ($1.position, $1.id) }
    }

    /// SHA-1 of `text`'s UTF-8 bytes read as a 160-bit big-endian integer, mod `ringSize`.
    public static func position(of text: String, ringSize: Int = HashRing.defaultRingSize) -> Int {
        SHA1.remainder(of: text.utf8, modulo: ringSize)
    }

    public func position(ofKey key: String) -> Int { Self.position(of: key, ringSize: ringSize) }

    /// The replica set of ring position `position`, primary first.
    public func replicaSet(forPosition position: Int) -> [String] {
        precondition((0..<ringSize).contains(position), "position \(position) is off the ring")
        guard !members.isEmpty else { return [] }
        let first = indexOfFirstMember(atOrAfter: position)
        let count = min(Self.replicationFactor, members.count)
        return (0..<count).map { members[(first + $0) % members.count].id }
    }

    public func replicaSet(forKey key: String) -> [String] { replicaSet(forPosition: position(ofKey: key)) }

    /// The first member of the key's replica set, or nil on an empty ring.
    public func primary(forKey key: String) -> String? { replicaSet(forKey: key).first }

    /// Binary search for the first member whose position is at or after `position`, wrapping to 0.
    private func indexOfFirstMember(atOrAfter position: Int) -> Int {
        var low = 0
        var high = members.count
        while low < high {
            let middle = (low + high) / 2
            if members[middle].position < position { low = middle + 1 } else { high = middle }
        }
        return low == members.count ? 0 : low
    }
}
