import Foundation

/// Writes timestamped lines to stderr, one `write` per line so lines from different threads never interleave.
public struct Log: Sendable {
    /// The process's role, printed on every line ("viewleader", "server 4821").
    public let component: String

    public init(component: String) {
        self.component = component
    }

    public func info(_ message: String) {
        emit("info", message)
    }

    public func warning(_ message: String) {
        emit("warning", message)
    }

    public func error(_ message: String) {
        emit("error", message)
    }

    private func emit(_ level: String, _ message: String) {
        let line = "\(Self.timestamp()) \(component) \(level): \(message)\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// Wall-clock time for humans reading logs; decisions never use it.
    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, spec.tv_nsec / 1_000_000)
    }
}

/// Prints a line to stdout and flushes at once, so a script waiting for it sees it immediately.
public func printLine(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}
