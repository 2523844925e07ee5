import ClientKit
import Placement
import Wire

/// Where each bench request goes: a list of destination addresses and, for the replicated store, each key's
/// primary among them in one view.
///
/// Pure and immutable once built, so every load-generator thread reads the same one without locks. Each key's
/// ring position is computed once per run (a SHA-1 per key) and each position's primary once per view, so
/// routing a request costs two array reads instead of a hash and a ring search.
struct BenchRouting: Sendable {
    /// Servers in a view the bench can address; each gets a column of sockets per client.
    static let destinationsMax = 64

    /// The view's epoch, sent with every replicated request; -1 for unreplicated destinations.
    let epoch: Int64
    /// "host:port" of each destination; requests name them by index.
    let destinations: [String]
    /// Ring position of key `i` ("key-i"); empty when requests are not routed by key.
    let keyPositions: [UInt32]
    /// Index into `destinations` of the primary of each ring position; empty when not routed by key.
    private let primaryByPosition: [UInt16]

    /// One destination for every request: a server for `set`/`get`, the viewleader for locks.
    init(single address: String) {
        epoch = -1
        destinations = [address]
        keyPositions = []
        primaryByPosition = []
    }

    /// Routes keys `0..<keys` to their primaries in `view`; reuses `previous`'s key positions when the ring
    /// size is unchanged. Nil when the view has no servers or more than `destinationsMax`.
    init?(view: ViewDescription, keys: Int, previous: BenchRouting? = nil) {
        guard !view.servers.isEmpty, view.servers.count <= Self.destinationsMax else { return nil }
        epoch = view.epoch
        destinations = view.servers.map(\.address)
        let ring = view.ring
        if let previous, previous.keyPositions.count == keys, previous.primaryByPosition.count == view.ringSize {
            keyPositions = previous.keyPositions
        } else {
            keyPositions = Self.positions(keys: keys, ringSize: view.ringSize)
        }
        var indexOfID: [String: UInt16] = [:]
        for (index, server) in view.servers.enumerated() { indexOfID[server.id] = UInt16(index) }
        // Walk the ring backwards, keeping `next` at the first member at or after the position; past the last
        // member the ring wraps to the first.
        let members = ring.members
        var table = [UInt16](repeating: 0, count: view.ringSize)
        var next = members.count
        for position in stride(from: view.ringSize - 1, through: 0, by: -1) {
            while next > 0 && members[next - 1].position >= position { next -= 1 }
            table[position] = indexOfID[members[next == members.count ? 0 : next].id]!
        }
        primaryByPosition = table
    }

    /// Whether requests are routed by key (the replicated store) rather than all to one destination.
    var routesByKey: Bool { !primaryByPosition.isEmpty }

    /// The destination index for key `key`.
    func destination(ofKey key: Int) -> Int {
        routesByKey ? Int(primaryByPosition[Int(keyPositions[key])]) : 0
    }

    /// The ring position of each key name "key-0" ... "key-(keys-1)".
    static func positions(keys: Int, ringSize: Int) -> [UInt32] {
        (0..<keys).map { UInt32(HashRing.position(of: BenchKeys.name($0), ringSize: ringSize)) }
    }
}
