import Glibc
import Synchronization

/// A real data directory: `DataFiles` over POSIX calls, holding an exclusive lock on the directory for as long as
/// it is open, so two processes never write one directory.
///
/// Writes go through a descriptor kept open per file (an append writes at the file's end); `sync` is `fdatasync`;
/// `replace` writes a temporary file, syncs it, renames it over the old one and syncs the directory; `truncate` and
/// `remove` sync the directory or file they change. Two threads may work at once on different files (the log's writer
/// and the snapshot's), never on the same one.
public final class DirectoryFiles: DataFiles, @unchecked Sendable {
    public let path: String
    /// The lock file's descriptor, holding `flock(LOCK_EX)` until `close`.
    private var lockDescriptor: Int32
    /// One descriptor per file written to, by name; shared by the threads that write different files.
    private let writeDescriptors = Mutex<[String: Int32]>([:])

    /// The name of the lock file in every data directory.
    public static let lockName = "LOCK"

    /// Opens (creating if needed, with its parents) the directory at `path` and locks it; throws when another
    /// process holds it.
    public init(path: String) throws(DiskError) {
        self.path = path
        try Self.makeDirectories(path)
        let lockPath = path + "/" + Self.lockName
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.error("open", lockPath) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let failure = Self.error("lock", path)
            Glibc.close(descriptor)
            if busy {
                throw .failed(operation: "lock", path: path,
                              reason: "another process is using this data directory; stop it or choose another")
            }
            throw failure
        }
        lockDescriptor = descriptor
    }

    deinit { close() }

    /// Closes every file and releases the lock.
    public func close() {
        let descriptors = writeDescriptors.withLock { descriptors in
            defer { descriptors = [:] }
            return Array(descriptors.values)
        }
        for descriptor in descriptors { Glibc.close(descriptor) }
        if lockDescriptor >= 0 {
            Glibc.close(lockDescriptor)
            lockDescriptor = -1
        }
    }

    public func names() throws(DiskError) -> [String] {
        guard let directory = opendir(path) else { throw Self.error("list", path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." && name != Self.lockName { names.append(name) }
        }
        return names
    }

    public func read(_ name: String) throws(DiskError) -> [UInt8]? {
        let file = filePath(name)
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 && errno == ENOENT { return nil }
        guard descriptor >= 0 else { throw Self.error("open", file) }
        defer { Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Self.error("inspect", file) }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.error("read", file) }
            if count == 0 { break }
            offset += count
        }
        return Array(bytes.prefix(offset))
    }

    public func append(_ bytes: [UInt8], to name: String) throws(DiskError) {
        let descriptor = try writeDescriptor(name)
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else { throw Self.error("inspect", filePath(name)) }
        try Self.writeAll(bytes, to: descriptor, at: Int(end), path: filePath(name))
    }

    public func write(_ bytes: [UInt8], to name: String, at offset: Int) throws(DiskError) {
        try Self.writeAll(bytes, to: try writeDescriptor(name), at: offset, path: filePath(name))
    }

    public func sync(_ name: String) throws(DiskError) {
        let descriptor = try writeDescriptor(name)
        guard fdatasync(descriptor) == 0 else { throw Self.error("sync", filePath(name)) }
    }

    public func truncate(_ name: String, to length: Int) throws(DiskError) {
        let descriptor = try writeDescriptor(name)
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw Self.error("truncate", filePath(name)) }
        guard fsync(descriptor) == 0 else { throw Self.error("sync", filePath(name)) }
    }

    public func replace(_ name: String, with bytes: [UInt8]) throws(DiskError) {
        let temporary = filePath(name + ".tmp")
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.error("create", temporary) }
        do throws(DiskError) {
            try Self.writeAll(bytes, to: descriptor, at: 0, path: temporary)
            guard fsync(descriptor) == 0 else { throw Self.error("sync", temporary) }
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        Glibc.close(descriptor)
        forget(name)
        guard Glibc.rename(temporary, filePath(name)) == 0 else { throw Self.error("rename", temporary) }
        try syncDirectory()
    }

    public func rename(_ name: String, to newName: String) throws(DiskError) {
        forget(name)
        forget(newName)
        guard Glibc.rename(filePath(name), filePath(newName)) == 0 else { throw Self.error("rename", filePath(name)) }
        try syncDirectory()
    }

    public func remove(_ name: String) throws(DiskError) {
        forget(name)
        guard unlink(filePath(name)) == 0 || errno == ENOENT else { throw Self.error("remove", filePath(name)) }
        try syncDirectory()
    }

    public func freeBytes() throws(DiskError) -> Int {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { throw Self.error("inspect", path) }
        return Int(status.f_bavail) * Int(status.f_frsize)
    }

    // MARK: Helpers

    private func filePath(_ name: String) -> String {
        precondition(!name.isEmpty && !name.contains("/"), "a data file's name is one path component")
        return path + "/" + name
    }

    private func writeDescriptor(_ name: String) throws(DiskError) -> Int32 {
        if let descriptor = writeDescriptors.withLock({ $0[name] }) { return descriptor }
        let file = filePath(name)
        let descriptor = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.error("open", file) }
        writeDescriptors.withLock { $0[name] = descriptor }
        // A new file's name must survive a crash too, or its synced records would vanish with it.
        try syncDirectory()
        return descriptor
    }

    private func forget(_ name: String) {
        if let descriptor = writeDescriptors.withLock({ $0.removeValue(forKey: name) }) { Glibc.close(descriptor) }
    }

    private func syncDirectory() throws(DiskError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.error("open", path) }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Self.error("sync", path) }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, at fileOffset: Int,
                                 path: String) throws(DiskError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                pwrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset, off_t(fileOffset + offset))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw error("write", path) }
            offset += count
        }
    }

    private static func makeDirectories(_ path: String) throws(DiskError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw error("create", prefix) }
        }
    }

    /// The error for the call that just failed, from `errno`.
    private static func error(_ operation: String, _ path: String) -> DiskError {
        let code = errno
        if code == ENOSPC || code == EDQUOT { return .full(operation: operation, path: path) }
        return .failed(operation: operation, path: path, reason: String(cString: strerror(code)))
    }
}
