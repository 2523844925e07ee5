/// A disk for the simulator and tests: what was synced survives a crash; what was appended but not synced is lost,
/// except that the last unsynced append may survive in part (a torn write), as a power cut leaves a real file.
public final class SimulatedFiles: DataFiles {
    private struct File {
        /// Bytes a crash keeps.
        var durable: [UInt8] = []
        /// Bytes appended since the last sync, in append order (each element one append).
        var pending: [[UInt8]] = []

        var content: [UInt8] { durable + pending.joined() }
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
        files[name, default: File()].pending.append(bytes)
    }

    public func freeBytes() throws(DiskError) -> Int {
        capacityBytes == .max ? .max : capacityBytes - files.values.reduce(0) { $0 + $1.content.count }
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

    /// A crash: every unsynced append is lost, except that the first one of each file keeps its first
    /// `tornBytes(pendingBytes)` bytes (0 keeps none). Returns how many unsynced bytes were lost.
    @discardableResult
    public func crash(tornBytes: (Int) -> Int = { _ in 0 }) -> Int {
        var lost = 0
        for name in files.keys.sorted() {
            var file = files[name]!
            if let first = file.pending.first {
                let kept = min(max(tornBytes(first.count), 0), first.count)
                file.durable += first.prefix(kept)
                lost -= kept
            }
            lost += file.pending.reduce(0) { $0 + $1.count }
            file.pending = []
            files[name] = file
        }
        return lost
    }
}
