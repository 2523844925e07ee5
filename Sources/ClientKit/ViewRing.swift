import Placement
import Wire

extension ViewDescription {
    /// The ring this view places keys on: a client routes each key to its primary by it.
    public var ring: HashRing { HashRing(memberIDs: servers.map(\.id), ringSize: ringSize) }
}
