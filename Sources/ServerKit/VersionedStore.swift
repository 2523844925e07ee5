import Durability
import Placement
import Wire

/// Keys with versioned entries, kept by ring position; an entry is replaced only by a strictly newer version. Beside
/// them, the IDs of recent writes that produced them (`WriteIDMemory`), which travel and are dropped with them.
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
    /// Bytes the buckets hold for entries (`StoreBucket.heldBytes`), kept up to date with every change.
    public private(set) var heldBytes = 0
    /// IDs of recent writes, by key; every key remembered here has an entry in `buckets`.
    private(set) var writeIDs: WriteIDMemory
    /// The changes made since the last `takeJournal()`, in order, as log entries, while journaling (a server with
    /// a data directory); nil when the store lives in memory only. Replaying every entry taken, in order, onto an
    /// empty store (`replay`) rebuilds this one, write IDs included.
    private var journal: [LogEntry]?

    public init(ringSize: Int = HashRing.defaultRingSize) {
        precondition(ringSize > 0, "ring size must be positive")
        self.ringSize = ringSize
        buckets = [StoreBucket](repeating: StoreBucket(), count: ringSize)
        writeIDs = WriteIDMemory(ringSize: ringSize)
    }

    /// How many entries one position holds, and a digest of them and of the write IDs remembered for them
    /// (`StoreBucket.digest` and `WriteIDMemory.digest`): two positions with equal summaries hold the same entries
    /// and remember the same writes.
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
        BucketSummary(count: buckets[position].count, digest: buckets[position].digest ^ writeIDs.digest(at: position))
    }

    /// The summaries of the non-empty positions of `ranges` from `after`'s position on: what a puller tells the
    /// peer it holds, so the peer can skip those positions (see `page`).
    public func summaries(in ranges: [PositionRange], after: String?, limit: Int = .max) -> [Int: BucketSummary] {
        var held: [Int: BucketSummary] = [:]
        for position in Self.positions(in: ranges, from: after.map(position(of:)) ?? 0) where held.count < limit {
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

    /// One key as a pull carries it: its entry and the write IDs remembered for it.
    public typealias PageEntry = PulledEntry

    /// A page of entries for a pull, in (position, key bytes) order.
    public struct Page: Sendable {
        public var entries: [PageEntry] = []
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

    /// `apply(_:to:)` for a caller that already knows the key's ring position. A write that carried `writeID` is
    /// remembered as having taken effect at the entry's version, also when a newer entry already superseded it.
    @discardableResult
    public mutating func apply(_ entry: VersionedEntry, to key: String, at position: Int, writeID: WriteID? = nil,
                               nowMs: Int64 = 0) -> Bool {
        // Hashing again would undo the point of passing the position, so only debug builds check it.
        assert(position == self.position(of: key), "a key is stored at its own position")
        let applied = store(entry, to: key, at: position)
        if let writeID { writeIDs.remember(writeID, version: entry.version, key: key, position: position, nowMs: nowMs) }
        if applied || writeID != nil {
            let remembered = writeID.map { [RememberedWrite(writeID: $0, version: entry.version)] } ?? []
            journal?.append(.replicated(PulledEntry(key: key, entry: entry, writeIDs: remembered)))
        }
        return applied
    }

    /// Merges a pulled key: its entry by version, and every write ID remembered with it.
    public mutating func merge(_ pulled: PageEntry, at position: Int, nowMs: Int64) {
        mergeWithoutJournal(pulled, at: position, nowMs: nowMs)
        journal?.append(.replicated(pulled))
    }

    private mutating func mergeWithoutJournal(_ pulled: PageEntry, at position: Int, nowMs: Int64) {
        store(pulled.entry, to: pulled.key, at: position)
        for record in pulled.writeIDs {
            writeIDs.remember(record.writeID, version: record.version, key: pulled.key, position: position, nowMs: nowMs)
        }
    }

    /// Puts `entry` in `key`'s bucket if it is newer than what the key holds; returns whether it did.
    @discardableResult
    private mutating func store(_ entry: VersionedEntry, to key: String, at position: Int) -> Bool {
        let heldBefore = buckets[position].heldBytes
        let (applied, inserted) = buckets[position].apply(entry, to: key)
        heldBytes += buckets[position].heldBytes - heldBefore
        if inserted { count += 1 }
        return applied
    }

    // MARK: Journal

    /// From now on, records every change for `takeJournal()`, after `earlier` (changes another store made that
    /// this one replaces, not yet taken).
    public mutating func startJournaling(continuing earlier: [LogEntry] = []) {
        journal = (journal ?? []) + earlier
    }

    public var isJournaling: Bool { journal != nil }

    /// The changes made since the last call, in order; empty when not journaling.
    public mutating func takeJournal() -> [LogEntry] {
        guard let taken = journal, !taken.isEmpty else { return [] }
        journal = []
        return taken
    }

    /// Applies one logged change, as recovery replays a log; records nothing. `nowMs` starts the retention of the
    /// write IDs it restores (recovery keeps them a full retention from the restart, which only remembers longer).
    public mutating func replay(_ entry: LogEntry, nowMs: Int64) {
        switch entry {
        case .replicated(let pulled):
            mergeWithoutJournal(pulled, at: position(of: pulled.key), nowMs: nowMs)
        case .dropped(let ranges):
            let journaling = journal
            journal = nil
            defer { journal = journaling }
            removeAll { position in ranges.contains { $0.contains(position) } }
        case .classicSet:
            preconditionFailure("the classic store replays its own entries")
        }
    }

    /// The latest write of `client` to `key` remembered here.
    func rememberedWrite(of key: String, client: UInt64) -> WriteIDMemory.Record? {
        writeIDs.record(of: key, client: client)
    }

    /// The version write `writeID` took effect at on `key`, when this replica remembers it.
    public func rememberedVersion(of key: String, writeID: WriteID) -> Version? {
        guard let record = writeIDs.record(of: key, client: writeID.client), record.writeID == writeID else { return nil }
        return record.version
    }

    /// See `WriteIDMemory.mayHaveForgotten`.
    func mayHaveForgottenWriteIDs(at position: Int, nowMs: Int64) -> Bool {
        writeIDs.mayHaveForgotten(at: position, nowMs: nowMs)
    }

    /// Drops remembered write IDs that have outlived their retention.
    public mutating func forgetExpiredWriteIDs(nowMs: Int64) {
        writeIDs.forgetExpired(nowMs: nowMs)
    }

    /// Hands every entry (tombstones too) with its remembered write IDs to `body`, in (position, key bytes) order.
    public func forEachEntry<E: Error>(_ body: (PulledEntry) throws(E) -> Void) throws(E) {
        for bucket in buckets {
            for index in 0..<bucket.count {
                let key = bucket.key(at: index)
                try body(PulledEntry(key: key, entry: bucket.entry(at: index), writeIDs: writeIDs.records(of: key)))
            }
        }
    }

    /// Keys that hold a value (not a tombstone), in byte order.
    public var liveKeys: [String] {
        var keys: [String] = []
        for bucket in buckets {
            for index in 0..<bucket.count where bucket.entry(at: index).value != nil { keys.append(bucket.key(at: index)) }
        }
        return keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Entries (tombstones too) at positions in `ranges`, in (position, key bytes) order, with their remembered
    /// write IDs, starting after the entry of `after`. Each entry counts `RecordLimits.pullEntryBytes` (an upper
    /// bound of what the page writes for it). The page takes no entry once `bytesTarget` bytes are on it, nor one
    /// that would take it past `bytesMax`, except that it always takes the first: so a page of any mix of sizes
    /// stays within `bytesMax` as long as every entry does alone, which the key and value limits guarantee.
    /// Positions whose summary equals the puller's in `pullerHas` are skipped: the puller holds them already.
    public func page(in ranges: [PositionRange], after: String?, bytesTarget: Int, bytesMax: Int,
                     pullerHas: [Int: BucketSummary] = [:]) -> Page {
        var page = Page()
        let resumePosition = after.map(position(of:)) ?? -1
        var bytes = 0
        for position in Self.positions(in: ranges, from: max(resumePosition, 0))
        where pullerHas[position] != summary(at: position) {
            let bucket = buckets[position]
            let first = position == resumePosition ? bucket.firstIndex(after: after) : 0
            for index in first..<bucket.count {
                let key = bucket.key(at: index)
                let entry = bucket.entry(at: index)
                let remembered = writeIDs.records(of: key)
                let entryBytes = RecordLimits.pullEntryBytes(
                    keyBytes: JSONWriter.escapedLength(of: key),
                    valueBytes: entry.value.map(JSONWriter.escapedLength(of:)) ?? 0, writeIDs: remembered.count)
                if !page.entries.isEmpty && (bytes >= bytesTarget || bytes + entryBytes > bytesMax) {
                    page.more = true
                    return page
                }
                bytes += entryBytes
                page.entries.append(PageEntry(key: key, entry: entry, writeIDs: remembered))
            }
        }
        return page
    }

    /// Every entry at positions in `ranges`, in (position, key bytes) order; tests and small stores only.
    public func entries(in ranges: [PositionRange]) -> [PageEntry] {
        page(in: ranges, after: nil, bytesTarget: .max, bytesMax: .max).entries
    }

    /// Removes every entry at a position that satisfies `leaves`, in place; returns how many were removed.
    @discardableResult
    public mutating func removeAll(atPositions leaves: (Int) -> Bool) -> Int {
        var removed = 0
        // The runs of positions that leave, empty or not, so the journal records the few ranges that moved away.
        var leaving: [PositionRange] = []
        for position in 0..<ringSize where leaves(position) {
            if let last = leaving.last, last.upperBound == position - 1 {
                leaving[leaving.count - 1] = PositionRange(last.lowerBound, position)
            } else {
                leaving.append(PositionRange(position, position))
            }
            guard buckets[position].count > 0 else { continue }
            removed += buckets[position].count
            heldBytes -= buckets[position].heldBytes
            buckets[position] = StoreBucket()
        }
        count -= removed
        writeIDs.removeAll(atPositions: leaves)
        if removed > 0 { journal?.append(.dropped(leaving)) }
        return removed
    }

    /// Checks every bucket's layout and that `count` matches them; for tests (it visits every entry).
    public func checkInvariants() {
        var total = 0
        var held = 0
        for bucket in buckets {
            bucket.checkInvariants()
            total += bucket.count
            held += bucket.heldBytes
        }
        precondition(total == count, "the store's count disagrees with its buckets")
        precondition(held == heldBytes, "the store's held bytes disagree with its buckets")
        writeIDs.checkInvariants()
    }
}
