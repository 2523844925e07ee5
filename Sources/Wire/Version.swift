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
