import Foundation
import Glibc
import Wire

/// Stores `ViewLeaderState` in one JSON file, replaced atomically: write a temporary file, fsync it, rename it
/// over the old one, fsync the directory. A crash leaves either the old state or the new, never half of one.
public struct StateFile: Sendable {
    public let path: String

    public init(directory: String, port: Int) {
        path = (directory as NSString).appendingPathComponent("viewleader-\(port).json")
    }

    /// Largest state file read: the most members and expired IDs, with the longest IDs and addresses, fit well
    /// within it.
    public static let fileBytesMax = 64 << 20

    /// The saved state, or nil when there is none yet. Every problem names the file.
    public func load() throws(StateFileError) -> ViewLeaderState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > Self.fileBytesMax {
            throw .malformed("\(path): \(size) bytes, over the limit of \(Self.fileBytesMax)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("cannot read \(path)") }
        do {
            return try ViewLeaderState(json: JSONParser.parse(Array(data)))
        } catch let error as StateFileError {
            guard case .malformed(let reason) = error else { throw error }
            throw .malformed("\(path): \(reason)")
        } catch {
            throw .malformed("\(path): \(error)")
        }
    }

    /// Checks at start-up that the state can be saved here (the directory exists or can be made, and a file in it
    /// can be written and synced the way `save` writes one), so an unwritable directory stops the viewleader before
    /// it serves, with the reason, rather than at its first view change.
    public func checkWritable() throws(StateFileError) {
        try makeDirectory()
        let probe = path + ".probe"
        defer { unlink(probe) }
        try writeSynced([0], to: probe)
    }

    public func save(_ state: ViewLeaderState) throws(StateFileError) {
        try makeDirectory()
        let temporary = path + ".tmp"
        var bytes = JSONWriter.encode(state.json)
        bytes.append(UInt8(ascii: "\n"))
        try writeSynced(bytes, to: temporary)
        guard rename(temporary, path) == 0 else {
            throw .io("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    private var directory: String { (path as NSString).deletingLastPathComponent }

    private func makeDirectory() throws(StateFileError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create the state directory \(directory): \(error.localizedDescription)")
        }
    }

    /// Writes `bytes` to a new file at `file` (replacing any) and fsyncs it.
    private func writeSynced(_ bytes: [UInt8], to file: String) throws(StateFileError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot write \(file): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else {
                close(fd)
                throw .io("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            written += count
        }
        guard fsync(fd) == 0, close(fd) == 0 else { throw .io("cannot sync \(file)") }
    }
}
