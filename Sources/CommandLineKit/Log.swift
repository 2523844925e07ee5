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
        let line = "\(Self.timestamp()) \(component) \(level): \(Self.escaped(message))\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// `message` with every control character written as an escape (`\n`, `\x1b`, `\u{2028}`), so text from a
    /// peer — a requestor, a key, an ID — can never start a line of its own, forge one, or move the terminal's
    /// cursor. A log line is always one line.
    public static func escaped(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: isControl) else { return message }
        var result = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x80 && isControl(scalar):
                let hex = String(scalar.value, radix: 16)
                result += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            case _ where isControl(scalar): result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
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
