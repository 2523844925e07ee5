/// The files of one data directory, as the log and snapshots use them: whole-file reads, appends, syncs, and
/// atomic replacement. Production uses a real directory (`DirectoryFiles`); the simulator a disk that loses what
/// was not synced and tears the last append when it crashes (`SimulatedFiles`).
///
/// Every failure is thrown, never retried behind the caller's back: after a failed write or sync the caller cannot
/// know what reached the disk (PostgreSQL's "fsyncgate": Linux may drop the dirty pages and report success to a
/// second fsync), so it must stop acknowledging writes rather than try again.
public protocol DataFiles: AnyObject {
    /// The names of the files present, in no particular order.
    func names() throws(DiskError) -> [String]
    /// The whole content of `name`, or nil when there is no such file.
    func read(_ name: String) throws(DiskError) -> [UInt8]?
    /// Appends `bytes` to `name`, creating it if needed. The bytes may be lost by a crash until `sync`.
    func append(_ bytes: [UInt8], to name: String) throws(DiskError)
    /// Writes `bytes` into `name` from `offset` on (creating the file if needed, and filling any gap before
    /// `offset` with zeros). The bytes may be lost by a crash until `sync`.
    func write(_ bytes: [UInt8], to name: String, at offset: Int) throws(DiskError)
    /// Makes everything appended to `name` durable.
    func sync(_ name: String) throws(DiskError)
    /// Cuts `name` to its first `length` bytes, durably.
    func truncate(_ name: String, to length: Int) throws(DiskError)
    /// Replaces `name` with `bytes` atomically and durably: a crash leaves the old content or the new.
    func replace(_ name: String, with bytes: [UInt8]) throws(DiskError)
    /// Renames `name` to `newName` (replacing any file of that name), atomically and durably.
    func rename(_ name: String, to newName: String) throws(DiskError)
    /// Removes `name`, durably; removing a missing file does nothing.
    func remove(_ name: String) throws(DiskError)
    /// Bytes an unprivileged writer may still add on the disk holding these files.
    func freeBytes() throws(DiskError) -> Int
}

/// A file operation that failed.
public enum DiskError: Error, Equatable, CustomStringConvertible {
    /// The disk (or the user's quota) has no room: writes must be refused, reads may go on.
    case full(operation: String, path: String)
    /// Any other failure, with the system's words for it.
    case failed(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .full(let operation, let path): "cannot \(operation) \(path): no space left on the device"
        case .failed(let operation, let path, let reason): "cannot \(operation) \(path): \(reason)"
        }
    }
}
