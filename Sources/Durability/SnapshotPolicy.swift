/// When a server writes a snapshot of its stores and drops the log before it: once the log since the last
/// snapshot holds at least `logBytesMin` bytes and at least as many bytes as that snapshot, as Redis rewrites its
/// AOF when it has doubled. A large store is then not rewritten every few writes, and the directory holds at most
/// about twice the store, plus `logBytesMin`.
public struct SnapshotPolicy: Sendable, Equatable {
    /// The log bytes that make a snapshot due however small the last one was.
    public var logBytesMin: Int

    /// 64 MiB, as Redis's `auto-aof-rewrite-min-size`.
    public static let standard = SnapshotPolicy(logBytesMin: 64 << 20)
    /// The least `--snapshot-log-bytes` accepts: below it, a busy server would do little else.
    public static let logBytesMinLeast = 4_096

    public init(logBytesMin: Int) {
        precondition(logBytesMin > 0, "a snapshot needs some log to cover")
        self.logBytesMin = logBytesMin
    }

    /// Whether a log segment of `logBytes` should be replaced by a snapshot, the last one having been
    /// `lastSnapshotBytes` long (0 when there was none).
    public func isDue(logBytes: Int, lastSnapshotBytes: Int) -> Bool {
        logBytes >= max(logBytesMin, lastSnapshotBytes)
    }
}
