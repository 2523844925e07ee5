/// A host with an optional port, as users type it: "127.0.0.1", "localhost:39000", "[::1]:38000", "[::1]".
public struct HostPort: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    /// nil: the caller tries its default port range.
    public var port: Int?

    public init(host: String, port: Int?) {
        self.host = host
        self.port = port
    }

    /// `option` names where the text came from in an error (`server` for `--server`).
    public static func parse(_ text: String, option: String = "address") throws(OptionError) -> HostPort {
        let invalid = OptionError.invalidValue(option: option, value: text, expected: "HOST or HOST:PORT")
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty else { throw invalid }
            if rest.isEmpty { return HostPort(host: host, port: nil) }
            guard rest.hasPrefix(":") else { throw invalid }
            return HostPort(host: host, port: try parsePort(String(rest.dropFirst()), in: text, option: option))
        }
        let colons = text.filter { $0 == ":" }.count
        if colons > 1 { return HostPort(host: text, port: nil) }
        if colons == 0 {
            guard !text.isEmpty else { throw invalid }
            return HostPort(host: text, port: nil)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard !parts[0].isEmpty else { throw invalid }
        return HostPort(host: String(parts[0]), port: try parsePort(String(parts[1]), in: text, option: option))
    }

    private static func parsePort(_ text: String, in whole: String, option: String) throws(OptionError) -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else {
            throw .invalidValue(option: option, value: whole, expected: "a port from 1 to 65535 after ':'")
        }
        return port
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(shownHost):\($0)" } ?? shownHost
    }
}
