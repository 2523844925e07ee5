/// A disk for the simulator and tests: what was synced survives a crash; what was written but not synced is lost,
/// except that the first unsynced write may survive in part (a torn write), as a power cut leaves a real file.
public final class SimulatedFiles: DataFiles {
    /// One write not yet synced: `bytes` at `offset`.
    private struct PendingWrite {
        var offset: Int
        var bytes: [UInt8]
    }

    private struct File {
        /// Bytes a crash keeps.
        var durable: [UInt8] = []
        /// Writes since the last sync, in order.
        var pending: [PendingWrite] = []

        var content: [UInt8] { pending.reduce(into: durable) { Self.apply($1, to: &$0) } }
        /// `content.count`, without building it.
        var length: Int { pending.reduce(durable.count) { max($0, $1.offset + $1.bytes.count) } }

        /// `write` laid over `bytes`, which grow with zeros to reach its offset when they must.
        static func apply(_ write: PendingWrite, to bytes: inout [UInt8]) {
            let end = write.offset + write.bytes.count
            if bytes.count < end { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
            bytes.replaceSubrange(write.offset..<end, with: write.bytes)
        }
    }

    private var files: [String: File] = [:]
    /// Bytes the disk holds in all; an append past it fails as a full disk does.
    public var capacityBytes = Int.max
    /// When set, the next operation of that kind fails (then the setting clears): for disk-fault tests.
    public var failNextAppend: DiskError?
    public var failNextSync: DiskError?

    public init() {}

    public func names() throws(DiskError) -> [String] { Array(files.keys) }

    public func read(_ name: String) throws(DiskError) -> [UInt8]? { files[name]?.content }

    public func append(_ bytes: [UInt8], to name: String) throws(DiskError) {
        if let failure = failNextAppend {
            failNextAppend = nil
            throw failure
        }
        guard try freeBytes() >= bytes.count else { throw .full(operation: "write", path: name) }
        let end = files[name]?.length ?? 0
        files[name, default: File()].pending.append(PendingWrite(offset: end, bytes: bytes))
    }

    /// Fails as `append` does (`failNextAppend`, a full disk when the file would grow past the capacity).
    public func write(_ bytes: [UInt8], to name: String, at offset: Int) throws(DiskError) {
        if let failure = failNextAppend {
            failNextAppend = nil
            throw failure
        }
        let growth = max(0, offset + bytes.count - (files[name]?.length ?? 0))
        guard try freeBytes() >= growth else { throw .full(operation: "write", path: name) }
        files[name, default: File()].pending.append(PendingWrite(offset: offset, bytes: bytes))
    }

    public func freeBytes() throws(DiskError) -> Int {
        capacityBytes == .max ? .max : capacityBytes - files.values.reduce(0) { $0 + $1.length }
    }

    public func sync(_ name: String) throws(DiskError) {
        if let failure = failNextSync {
            failNextSync = nil
            throw failure
        }
        guard var file = files[name] else { return }
        file.durable = file.content
        file.pending = []
        files[name] = file
    }

    public func truncate(_ name: String, to length: Int) throws(DiskError) {
        guard let file = files[name] else { return }
        files[name] = File(durable: Array(file.content.prefix(length)))
    }

    public func replace(_ name: String, with bytes: [UInt8]) throws(DiskError) {
        files[name] = File(durable: bytes)
    }

    /// Moves the file, unsynced appends and all: a crash still loses those.
    public func rename(_ name: String, to newName: String) throws(DiskError) {
        files[newName] = files.removeValue(forKey: name)
    }

    public func remove(_ name: String) throws(DiskError) {
        files[name] = nil
    }

    /// A crash: every unsynced write is lost, except that the first one of each file keeps its first
    /// `tornBytes(pendingBytes)` bytes (0 keeps none). Returns how many unsynced bytes were lost.
    @discardableResult
    public func crash(tornBytes: (Int) -> Int = { _ in 0 }) -> Int {
        var lost = 0
        for name in files.keys.sorted() {
            var file = files[name]!
            if let first = file.pending.first {
                let kept = min(max(tornBytes(first.bytes.count), 0), first.bytes.count)
                let survivor = PendingWrite(offset: first.offset, bytes: Array(first.bytes.prefix(kept)))
                File.apply(survivor, to: &file.durable)
                lost -= kept
            }
            lost += file.pending.reduce(0) { $0 + $1.bytes.count }
            file.pending = []
            files[name] = file
        }
        return lost
    }
}
