/// Free space a server's data directory keeps before it refuses writes (`server --min-free-disk`).
///
/// A log that fills its disk fails a write, and a failed write stops the server (it cannot tell what reached the
/// disk). So writes that add a value are refused first, while there is still room, with an error that says why;
/// reads and deletes go on (a delete's tombstone is small), so a full disk can be drained or given more room
/// without losing the server. Replicas of a key receive the same writes, so refusing at the primary keeps every
/// replica's disk above the reserve less the writes already in flight, as etcd's space quota does for its backend.
public struct DiskReserve: Sendable, Equatable {
    /// Free bytes the disk keeps: past them, writes that add a value are refused.
    public let freeBytesMin: Int

    public init(freeBytesMin: Int) {
        precondition(freeBytesMin >= 0, "a disk reserve is not negative")
        self.freeBytesMin = freeBytesMin
    }

    /// The default: room for a few dozen of the largest values and their log records.
    public static let standard = DiskReserve(freeBytesMin: 64 << 20)

    /// Bytes counted for a write beyond its key and value: its log record's header and fields, rounded up.
    static let recordOverheadBytes = 128

    /// The refusal of a write that adds `incomingBytes` of key and value to a log whose disk had `freeBytes` free
    /// when last asked, with `unwrittenBytes` logged since and not yet written; nil when it fits.
    public func refusal(freeBytes: Int, unwrittenBytes: Int, incomingBytes: Int) -> Refusal? {
        let after = freeBytes - unwrittenBytes - incomingBytes - Self.recordOverheadBytes
        guard after < freeBytesMin else { return nil }
        return Refusal(freeBytes: freeBytes, freeBytesMin: freeBytesMin)
    }

    /// A write refused for disk space; on the wire, an `error` reply with `description`.
    public struct Refusal: Equatable, Sendable, CustomStringConvertible {
        public let freeBytes: Int
        public let freeBytesMin: Int

        public var description: String {
            "disk full: the data directory's disk has \(freeBytes) bytes free and this server keeps \(freeBytesMin) "
                + "(--min-free-disk); the write was not applied. Free space on that disk or delete keys; reads "
                + "and deletes go on"
        }
    }
}
