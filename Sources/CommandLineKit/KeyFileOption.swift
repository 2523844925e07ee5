import Authentication
import Glibc

/// Reading a key file an option names (`--cluster-key-file`, `--key-file`, `REPLICATEDKV_KEY_FILE`).
public enum KeyFileOption {
    /// The environment variable a client reads its key file's path from when `--key-file` is not given.
    public static let environmentVariable = "REPLICATEDKV_KEY_FILE"

    /// The keys in the file at `path`; `source` says where the path came from (`--key-file`,
    /// `$REPLICATEDKV_KEY_FILE`), for messages.
    public static func load(_ path: String, source: String) throws(OptionError) -> KeyFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .badFile(source: source, path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0 && status.st_mode & 0o077 != 0 {
            var warning = Array(("warning: \(path) (\(source)) can be read by other users of this machine; "
                + "chmod 600 it\n").utf8)
            _ = warning.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while bytes.count <= KeyFile.fileBytesMax {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw .badFile(source: source, path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .badFile(source: source, path: path, reason: "it is not UTF-8 text")
        }
        do throws(KeyFileError) {
            return try KeyFile(text: text)
        } catch {
            throw .badFile(source: source, path: path, reason: error.description)
        }
    }

    /// Whether `address` reaches this machine only, so listening on it without keys is the classic, open
    /// behaviour rather than an exposure.
    public static func isLoopback(_ address: String) -> Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }
}
