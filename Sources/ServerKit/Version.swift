/// The order of writes to one key: the epoch the primary wrote it in, then the primary's counter.
///
/// A later epoch always wins, so a write ordered by a new primary supersedes anything an older primary wrote,
/// and applying writes by version makes pulls and concurrent writes commute.
public struct Version: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let epoch: Int64
    /// Rises with every write a primary orders within one epoch.
    public let counter: Int64

    public init(epoch: Int64, counter: Int64) {
        precondition(epoch >= 0 && counter >= 0, "versions are non-negative")
        self.epoch = epoch
        self.counter = counter
    }

    public static let zero = Version(epoch: 0, counter: 0)

    public static func < (lhs: Version, rhs: Version) -> Bool {
        (lhs.epoch, lhs.counter) < (rhs.epoch, rhs.counter)
    }

    public var description: String { "\(epoch).\(counter)" }
}

/// A key's latest write: a value, or a tombstone that remembers a delete so a stale copy cannot resurrect it.
public struct VersionedEntry: Equatable, Sendable {
    /// nil for a delete.
    public let value: String?
    public let version: Version

    public init(value: String?, version: Version) {
        self.value = value
        self.version = version
    }
}

/// Keys with versioned entries; an entry is replaced only by a strictly newer version.
public struct VersionedStore: Sendable {
    private var entries: [String: VersionedEntry] = [:]

    public init() {}

    public var count: Int { entries.count }

    public subscript(key: String) -> VersionedEntry? { entries[key] }

    /// Applies `entry` if it is newer than what `key` holds; returns whether it was applied.
    @discardableResult
    public mutating func apply(_ entry: VersionedEntry, to key: String) -> Bool {
        if let current = entries[key], current.version >= entry.version { return false }
        entries[key] = entry
        return true
    }

    /// Keys that hold a value (not a tombstone), sorted.
    public var liveKeys: [String] { entries.filter { $0.value.value != nil }.keys.sorted() }

    /// Every (key, entry) whose key satisfies `belongs`, for handing a range to another server.
    public func entries(where belongs: (String) -> Bool) -> [(key: String, entry: VersionedEntry)] {
        entries.filter { belongs($0.key) }.map { ($0.key, $0.value) }.sorted { $0.key < $1.key }
    }

    /// Removes every key that satisfies `leaves`, once its range has moved elsewhere.
    public mutating func drop(where leaves: (String) -> Bool) {
        entries = entries.filter { !leaves($0.key) }
    }
}
