import Placement

/// A view as a server uses it: the epoch, the ring, and where each member listens.
public struct ServerView: Equatable, Sendable {
    public let epoch: Int64
    public let ring: HashRing
    /// "host:port" by server ID, for every live member.
    public let addresses: [String: String]

    public init(epoch: Int64, addresses: [String: String], ringSize: Int = HashRing.defaultRingSize) {
        self.epoch = epoch
        self.addresses = addresses
        ring = HashRing(memberIDs: addresses.keys, ringSize: ringSize)
    }

    /// The empty view a server starts from, before it has heard of any.
    public static func initial(ringSize: Int = HashRing.defaultRingSize) -> ServerView {
        ServerView(epoch: -1, addresses: [:], ringSize: ringSize)
    }

    public var memberIDs: [String] { ring.members.map(\.id) }
}
