import Placement

/// Keys with versioned entries, kept by ring position; an entry is replaced only by a strictly newer version.
///
/// Each key's ring position is computed once, when it is written, and decides which bucket holds it: dropping a
/// range or paging through one for a pull then visits the range's buckets and compares positions, never hashing a
/// key (a pass that SHA-1-hashed the whole store on every heartbeat stalled a server for 200 ms at 100,000 keys).
public struct VersionedStore: Sendable {
    public let ringSize: Int
    /// One bucket per ring position; bucket `p` holds exactly the keys at position `p`.
    private var buckets: [StoreBucket]
    /// Entries (tombstones too) across all buckets.
    public private(set) var count = 0

    public init(ringSize: Int = HashRing.defaultRingSize) {
        precondition(ringSize > 0, "ring size must be positive")
        self.ringSize = ringSize
        buckets = [StoreBucket](repeating: StoreBucket(), count: ringSize)
    }

    /// How many entries one position holds, and their digest (`StoreBucket.digest`): two positions with equal
    /// summaries hold the same entries.
    public struct BucketSummary: Equatable, Sendable {
        public let count: Int
        public let digest: UInt64

        public init(count: Int, digest: UInt64) {
            self.count = count
            self.digest = digest
        }
    }

    /// The summary of position `position`.
    public func summary(at position: Int) -> BucketSummary {
        BucketSummary(count: buckets[position].count, digest: buckets[position].digest)
    }

    /// The summaries of the non-empty positions of `ranges` from `after`'s position on: what a puller tells the
    /// peer it holds, so the peer can skip those positions (see `page`).
    public func summaries(in ranges: [PositionRange], after: String?) -> [Int: BucketSummary] {
        var held: [Int: BucketSummary] = [:]
        for position in Self.positions(in: ranges, from: after.map(position(of:)) ?? 0) {
            let summary = summary(at: position)
            if summary.count > 0 { held[position] = summary }
        }
        return held
    }

    /// The positions of `ranges` in ascending order, from `first` on.
    static func positions(in ranges: [PositionRange], from first: Int) -> some Sequence<Int> {
        ranges.sorted { $0.lowerBound < $1.lowerBound }
            .lazy
            .filter { $0.upperBound >= first }
            .flatMap { max($0.lowerBound, first)...$0.upperBound }
    }

    /// A page of entries for a pull, in (position, key bytes) order.
    public struct Page: Sendable {
        public var entries: [(key: String, entry: VersionedEntry)] = []
        /// True when entries after the last one were left for another page.
        public var more = false
    }

    public subscript(key: String) -> VersionedEntry? { entry(key, at: position(of: key)) }

    /// The entry of `key`, whose ring position is `position`.
    public func entry(_ key: String, at position: Int) -> VersionedEntry? {
        assert(position == self.position(of: key), "a key is looked up at its own position")
        return buckets[position].entry(key)
    }

    public func position(of key: String) -> Int { HashRing.position(of: key, ringSize: ringSize) }

    /// Applies `entry` if it is newer than what `key` holds; returns whether it was applied.
    @discardableResult
    public mutating func apply(_ entry: VersionedEntry, to key: String) -> Bool {
        apply(entry, to: key, at: position(of: key))
    }

    /// `apply(_:to:)` for a caller that already knows the key's ring position.
    @discardableResult
    public mutating func apply(_ entry: VersionedEntry, to key: String, at position: Int) -> Bool {
        // Hashing again would undo the point of passing the position, so only debug builds check it.
        assert(position == self.position(of: key), "a key is stored at its own position")
        let (applied, inserted) = buckets[position].apply(entry, to: key)
        if inserted { count += 1 }
        return applied
    }

    /// Keys that hold a value (not a tombstone), sorted.
    public var liveKeys: [String] {
        var keys: [String] = []
        for bucket in buckets {
            for index in 0..<bucket.count where bucket.entry(at: index).value != nil { keys.append(bucket.key(at: index)) }
        }
        return keys.sorted()
    }

    /// Entries (tombstones too) at positions in `ranges`, in (position, key bytes) order, starting after the entry
    /// of `after` and stopping once `bytesMax` bytes are on the page (counted as the key's and value's bytes plus
    /// `entryOverheadBytes` each); a page holds at least one entry when any remain. Positions whose summary equals
    /// the puller's in `pullerHas` are skipped: the puller holds them already.
    public func page(in ranges: [PositionRange], after: String?, bytesMax: Int, entryOverheadBytes: Int,
                     pullerHas: [Int: BucketSummary] = [:]) -> Page {
        var page = Page()
        let resumePosition = after.map(position(of:)) ?? -1
        var bytes = 0
        for position in Self.positions(in: ranges, from: max(resumePosition, 0))
        where pullerHas[position] != summary(at: position) {
            let bucket = buckets[position]
            let first = position == resumePosition ? bucket.firstIndex(after: after) : 0
            for index in first..<bucket.count {
                if bytes >= bytesMax {
                    page.more = true
                    return page
                }
                let key = bucket.key(at: index)
                let entry = bucket.entry(at: index)
                bytes += key.utf8.count + (entry.value?.utf8.count ?? 0) + entryOverheadBytes
                page.entries.append((key, entry))
            }
        }
        return page
    }

    /// Every entry at positions in `ranges`, in (position, key bytes) order; tests and small stores only.
    public func entries(in ranges: [PositionRange]) -> [(key: String, entry: VersionedEntry)] {
        page(in: ranges, after: nil, bytesMax: .max, entryOverheadBytes: 0).entries
    }

    /// Removes every entry at a position that satisfies `leaves`, in place; returns how many were removed.
    @discardableResult
    public mutating func removeAll(atPositions leaves: (Int) -> Bool) -> Int {
        var removed = 0
        for position in 0..<ringSize where buckets[position].count > 0 && leaves(position) {
            removed += buckets[position].count
            buckets[position] = StoreBucket()
        }
        count -= removed
        return removed
    }

    /// Checks every bucket's layout and that `count` matches them; for tests (it visits every entry).
    public func checkInvariants() {
        var total = 0
        for bucket in buckets {
            bucket.checkInvariants()
            total += bucket.count
        }
        precondition(total == count, "the store's count disagrees with its buckets")
    }
}
