import Wire

/// The versioned entries of one ring position, packed: every key's and value's bytes in one byte arena, and one
/// fixed-size record per key, sorted by the key's UTF-8 bytes.
///
/// Why packed: a `[String: VersionedEntry]` spent about 270 bytes a key on 100-byte values (a heap object per
/// value, a hash table at most three-quarters full, 48-byte slots). Here a key costs its bytes, its value's bytes
/// and one 32-byte record, and arrays grow by an eighth instead of doubling. Why sorted: a pull pages through a
/// position in key order without sorting, and a lookup is a binary search over the few keys one position holds
/// (a hundred at a million keys on the default ring).
///
/// Keys are compared and identified by their UTF-8 bytes, as the ring places them.
struct StoreBucket: Sendable {
    /// One entry: where its key and value bytes lie in `bytes`, and its version.
    struct Record: Sendable {
        /// Offset in `bytes` of the key's first byte; the value's bytes follow the key's.
        var offset: UInt32
        var keyBytes: UInt32
        /// Bytes of the value, or `tombstone` for a delete (which keeps no value bytes).
        var valueBytes: Int32
        var epoch: Int64
        var counter: Int64

        var version: Version { Version(epoch: epoch, counter: counter) }
        var storedValueBytes: Int { max(Int(valueBytes), 0) }
    }

    /// `Record.valueBytes` of a delete.
    static let tombstone: Int32 = -1
    /// Most bytes one position's arena may hold: record offsets are 32-bit.
    static let arenaBytesMax = Int(UInt32.max)
    /// Dead bytes tolerated before compacting, however few the live ones: compacting tiny arenas gains nothing.
    static let deadBytesCompactionMin = 4_096
    /// Arrays grow by `1 / growthDivisor` of their size (plus `growthSlackMin`), not doubling, to keep slack small.
    static let growthDivisor = 8
    static let growthSlackMin = 16

    /// Sorted by key bytes, strictly: no key appears twice.
    private(set) var records: [Record] = []
    /// Key and value bytes; the ranges no record points to are counted in `deadBytes`.
    private(set) var bytes: [UInt8] = []
    /// Bytes of `bytes` that no record points to any more (overwritten or deleted values, moved keys).
    private(set) var deadBytes = 0
    /// What the bucket holds, in 64 bits: the XOR of `entryDigest` over its records, kept up to date with every
    /// write. A version names one write, so equal keys and versions mean equal entries: two buckets with the same
    /// count and digest hold the same entries (unless 64-bit hashes collide), and a pull can skip them.
    private(set) var digest: UInt64 = 0

    var count: Int { records.count }

    /// Bytes the bucket holds for its entries: the arena (dead bytes included, until compaction) and one record
    /// per key. What the memory limit counts (see `MemoryQuota`).
    var heldBytes: Int { bytes.count + records.count * MemoryLayout<Record>.stride }

    // MARK: Reads

    /// The entry stored under `key`, if any.
    func entry(_ key: String) -> VersionedEntry? {
        Self.withBytes(of: key) { keyBytes in
            let (index, found) = search(keyBytes)
            return found ? entry(at: index) : nil
        }
    }

    func key(at index: Int) -> String {
        let record = records[index]
        return bytes.withUnsafeBufferPointer { arena in
            String(decoding: UnsafeBufferPointer(rebasing: arena[Int(record.offset)..<Int(record.offset + record.keyBytes)]),
                   as: UTF8.self)
        }
    }

    func entry(at index: Int) -> VersionedEntry {
        let record = records[index]
        guard record.valueBytes != Self.tombstone else { return VersionedEntry(value: nil, version: record.version) }
        let start = Int(record.offset + record.keyBytes)
        let value = bytes.withUnsafeBufferPointer { arena in
            String(decoding: UnsafeBufferPointer(rebasing: arena[start..<start + Int(record.valueBytes)]), as: UTF8.self)
        }
        return VersionedEntry(value: value, version: record.version)
    }

    /// Index of the first record whose key sorts after `key` (every index when `key` is nil).
    func firstIndex(after key: String?) -> Int {
        guard let key else { return 0 }
        return Self.withBytes(of: key) { keyBytes in
            let (index, found) = search(keyBytes)
            return found ? index + 1 : index
        }
    }

    // MARK: Writes

    /// Stores `entry` under `key` unless the key holds an equal or newer version; returns whether it was stored,
    /// and whether the key is new to this bucket.
    mutating func apply(_ entry: VersionedEntry, to key: String) -> (applied: Bool, inserted: Bool) {
        Self.withBytes(of: key) { keyBytes in
            let (index, found) = search(keyBytes)
            if found {
                guard records[index].version < entry.version else { return (false, false) }
                digest ^= Self.entryDigest(keyBytes, records[index].version) ^ Self.entryDigest(keyBytes, entry.version)
                replace(at: index, with: entry)
                return (true, false)
            }
            digest ^= Self.entryDigest(keyBytes, entry.version)
            insert(entry, keyBytes: keyBytes, at: index)
            return (true, true)
        }
    }

    private mutating func insert(_ entry: VersionedEntry, keyBytes: UnsafeBufferPointer<UInt8>, at index: Int) {
        let offset = bytes.count
        append(keyBytes)
        let valueBytes = appendValue(entry.value)
        Self.grow(&records, toHold: records.count + 1)
        records.insert(Record(offset: UInt32(offset), keyBytes: UInt32(keyBytes.count), valueBytes: valueBytes,
                              epoch: entry.version.epoch, counter: entry.version.counter), at: index)
    }

    /// Writes the new value over the old one when it fits, and otherwise moves key and value to the arena's end.
    private mutating func replace(at index: Int, with entry: VersionedEntry) {
        var record = records[index]
        let oldBytes = record.storedValueBytes
        let newBytes = entry.value?.utf8.count ?? 0
        if newBytes <= oldBytes {
            let start = Int(record.offset + record.keyBytes)
            if let value = entry.value {
                bytes.withUnsafeMutableBufferPointer { arena in
                    _ = UnsafeMutableBufferPointer(rebasing: arena[start..<start + newBytes]).initialize(from: value.utf8)
                }
            }
            deadBytes += oldBytes - newBytes
        } else {
            let keyStart = Int(record.offset)
            let offset = bytes.count
            Self.grow(&bytes, toHold: bytes.count + Int(record.keyBytes) + newBytes)
            let key = Array(bytes[keyStart..<keyStart + Int(record.keyBytes)])
            bytes.append(contentsOf: key)
            record.offset = UInt32(offset)
            deadBytes += Int(record.keyBytes) + oldBytes
        }
        if entry.value == nil {
            record.valueBytes = Self.tombstone
        } else if newBytes > oldBytes {
            record.valueBytes = appendValue(entry.value)
        } else {
            record.valueBytes = Int32(newBytes)
        }
        record.epoch = entry.version.epoch
        record.counter = entry.version.counter
        records[index] = record
        if deadBytes > Self.deadBytesCompactionMin && deadBytes > bytes.count / 2 { compact() }
    }

    /// Appends a value's bytes; returns the record's `valueBytes` for it.
    private mutating func appendValue(_ value: String?) -> Int32 {
        guard let value else { return Self.tombstone }
        let count = value.utf8.count
        precondition(count <= Int(Int32.max), "a value longer than 2 GiB cannot be stored")
        Self.grow(&bytes, toHold: bytes.count + count)
        bytes.append(contentsOf: value.utf8)
        return Int32(count)
    }

    private mutating func append(_ keyBytes: UnsafeBufferPointer<UInt8>) {
        Self.grow(&bytes, toHold: bytes.count + keyBytes.count)
        bytes.append(contentsOf: keyBytes)
    }

    /// Copies every live key and value into a fresh arena, in record order, leaving no dead bytes.
    private mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(bytes.count - deadBytes)
        for index in records.indices {
            let record = records[index]
            let start = Int(record.offset)
            records[index].offset = UInt32(fresh.count)
            fresh.append(contentsOf: bytes[start..<start + Int(record.keyBytes) + record.storedValueBytes])
        }
        bytes = fresh
        deadBytes = 0
    }

    /// Reserves room for `count` elements, growing by an eighth rather than doubling.
    private static func grow<Element>(_ array: inout [Element], toHold count: Int) {
        guard count > array.capacity else { return }
        if Element.self == UInt8.self { precondition(count <= arenaBytesMax, "one ring position holds over 4 GiB") }
        array.reserveCapacity(count + max(count / growthDivisor, growthSlackMin))
    }

    // MARK: Invariants and helpers

    /// Checks that records are strictly sorted, lie inside the arena, and that dead bytes are counted exactly.
    func checkInvariants() {
        var liveBytes = 0
        for index in records.indices {
            let record = records[index]
            precondition(Int(record.offset) + Int(record.keyBytes) + record.storedValueBytes <= bytes.count,
                         "a record points past the arena")
            precondition(record.valueBytes >= Self.tombstone, "a record's value length is negative")
            liveBytes += Int(record.keyBytes) + record.storedValueBytes
            if index > 0 {
                precondition(compare(records[index - 1], records[index]) < 0, "records are not strictly sorted by key")
            }
        }
        precondition(liveBytes + deadBytes == bytes.count, "dead bytes are miscounted")
        let recomputed = bytes.withUnsafeBufferPointer { arena in
            records.reduce(UInt64(0)) { sum, record in
                let key = UnsafeBufferPointer(rebasing: arena[Int(record.offset)..<Int(record.offset + record.keyBytes)])
                return sum ^ Self.entryDigest(key, record.version)
            }
        }
        precondition(recomputed == digest, "the digest disagrees with the records")
    }

    /// A 64-bit hash of one entry's key bytes and version: FNV-1a over the key, then the version, each step
    /// finished with SplitMix64's mixer so that the XOR of many such hashes stays well spread.
    static func entryDigest(_ key: UnsafeBufferPointer<UInt8>, _ version: Version) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        hash = mix(hash ^ UInt64(bitPattern: version.epoch))
        return mix(hash ^ UInt64(bitPattern: version.counter))
    }

    /// SplitMix64's finalizer: spreads every input bit over the output.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Binary search for `key`: its index, or the index where it would be inserted.
    private func search(_ key: UnsafeBufferPointer<UInt8>) -> (index: Int, found: Bool) {
        bytes.withUnsafeBufferPointer { arena in
            var low = 0
            var high = records.count
            while low < high {
                let middle = (low + high) / 2
                let record = records[middle]
                let stored = UnsafeBufferPointer(rebasing: arena[Int(record.offset)..<Int(record.offset + record.keyBytes)])
                let order = Self.compare(stored, key)
                if order < 0 { low = middle + 1 } else if order > 0 { high = middle } else { return (middle, true) }
            }
            return (low, false)
        }
    }

    private func compare(_ first: Record, _ second: Record) -> Int {
        bytes.withUnsafeBufferPointer { arena in
            Self.compare(UnsafeBufferPointer(rebasing: arena[Int(first.offset)..<Int(first.offset + first.keyBytes)]),
                         UnsafeBufferPointer(rebasing: arena[Int(second.offset)..<Int(second.offset + second.keyBytes)]))
        }
    }

    /// Lexicographic order of byte strings: negative, zero or positive.
    private static func compare(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Int {
        for index in 0..<min(first.count, second.count) where first[index] != second[index] {
            return Int(first[index]) - Int(second[index])
        }
        return first.count - second.count
    }

    private static func withBytes<Result>(of key: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = key.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(key.utf8).withUnsafeBufferPointer(body)
    }
}
