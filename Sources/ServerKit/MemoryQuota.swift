/// The most bytes of data a server holds before it refuses writes (`server --max-memory`), as Redis's
/// `maxmemory` with `noeviction` and etcd's space quota do: past it, `set` and `setr` are refused with an
/// `out of memory` error before any replica applies them, while reads and deletes go on, so a full cluster can be
/// drained. Replicas of a key receive the same writes and so fill up together; refusing at the primary keeps
/// every replica of a key below the quota plus the writes already in flight, where running out of memory would
/// lose them all at once.
///
/// What counts is the data the stores hold: each key's and value's bytes and a fixed record per key (the
/// replicated store's `heldBytes`, the classic store's). The process needs more than that (connections, buffers,
/// the runtime), so the default leaves room: a quarter of the machine's memory.
public struct MemoryQuota: Sendable, Equatable {
    /// Bytes of data beyond which writes are refused.
    public let limitBytes: Int

    public init(limitBytes: Int) {
        precondition(limitBytes > 0, "a memory quota must be positive")
        self.limitBytes = limitBytes
    }

    /// No limit: for tests and the simulator unless they set one.
    public static let unlimited = MemoryQuota(limitBytes: .max)

    /// The default quota for a machine with `physicalBytes` of memory: a quarter of it.
    public static func standard(physicalBytes: Int) -> MemoryQuota {
        MemoryQuota(limitBytes: max(1, physicalBytes / 4))
    }

    /// The refusal of a write that adds `incomingBytes` while `heldBytes` are held, or nil when it fits.
    public func refusal(heldBytes: Int, incomingBytes: Int) -> Refusal? {
        guard heldBytes > limitBytes - incomingBytes else { return nil }
        return Refusal(heldBytes: heldBytes, limitBytes: limitBytes)
    }

    /// A write refused for memory; on the wire, an `error` reply with `description`.
    public struct Refusal: Equatable, Sendable, CustomStringConvertible {
        public let heldBytes: Int
        public let limitBytes: Int

        public var description: String {
            "out of memory: this server holds \(heldBytes) bytes of data and its limit is \(limitBytes) "
                + "(--max-memory); the write was not applied. Delete keys, or raise --max-memory on every server"
        }
    }
}
