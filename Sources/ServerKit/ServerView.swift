import Placement

/// A view as a server uses it: the epoch, the ring, and where each member listens.
public struct ServerView: Equatable, Sendable {
    public let epoch: Int64
    public let ring: HashRing
    /// "host:port" by server ID, for every live member.
    public let addresses: [String: String]
    /// The highest epoch each member had reported fully synced when the viewleader described this view; a member
    /// missing here is taken not to have synced any.
    public let syncedEpochs: [String: Int64]

    public init(epoch: Int64, addresses: [String: String], syncedEpochs: [String: Int64] = [:],
                ringSize: Int = HashRing.defaultRingSize) {
        self.epoch = epoch
        self.addresses = addresses
        self.syncedEpochs = syncedEpochs
        ring = HashRing(memberIDs: addresses.keys, ringSize: ringSize)
    }

    /// The highest epoch `id` had synced, as the viewleader reported it; -1 when unknown.
    public func syncedEpoch(of id: String) -> Int64 { syncedEpochs[id] ?? -1 }

    /// The empty view a server starts from, before it has heard of any.
    public static func initial(ringSize: Int = HashRing.defaultRingSize) -> ServerView {
        ServerView(epoch: -1, addresses: [:], ringSize: ringSize)
    }

    public var memberIDs: [String] { ring.members.map(\.id) }
}
