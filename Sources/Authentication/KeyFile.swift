/// A key file: one key per line, `NAME ROLE SECRET` (the secret in hex), `#` comments and blank lines ignored.
///
/// A process sends with the first key of the role it needs and accepts every key listed, so keys rotate without
/// downtime: add the new key to every file, move it first, then remove the old one.
public struct KeyFile: Sendable, Equatable {
    public let keys: [Key]

    /// The most keys one file may hold.
    public static let keysMax = 64
    /// The longest key file read, in bytes.
    public static let fileBytesMax = 64 << 10

    public init(keys: [Key]) {
        precondition(keys.count <= Self.keysMax, "at most \(Self.keysMax) keys")
        self.keys = keys
    }

    /// Parses a key file's text; throws naming the line and what is wrong with it.
    public init(text: String) throws(KeyFileError) {
        guard text.utf8.count <= Self.fileBytesMax else { throw .tooLarge(bytes: text.utf8.count) }
        var keys: [Key] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            let lineNumber = index + 1
            guard fields.count == 3 else { throw .malformed(line: lineNumber, "expected NAME ROLE SECRET") }
            let name = String(fields[0])
            guard Key.isValidName(name) else {
                throw .malformed(line: lineNumber, "a name is 1-64 letters, digits, '.', '_' or '-'")
            }
            guard let role = Role(rawValue: String(fields[1])) else {
                throw .malformed(line: lineNumber, "the role is one of "
                    + Role.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard let secret = Hex.decode(String(fields[2])),
                  (Key.secretBytes...Key.secretBytesMax).contains(secret.count) else {
                throw .malformed(line: lineNumber, "the secret is \(Key.secretBytes)-\(Key.secretBytesMax) bytes in "
                    + "hex (make one with `client genkey`)")
            }
            guard !keys.contains(where: { $0.name == name }) else {
                throw .malformed(line: lineNumber, "the name \(name) is used twice")
            }
            guard keys.count < Self.keysMax else { throw .tooManyKeys }
            keys.append(Key(name: name, role: role, secret: secret))
        }
        guard !keys.isEmpty else { throw .empty }
        self.keys = keys
    }

    /// The key named `name`, if the file lists it.
    public func key(named name: String) -> Key? { keys.first { $0.name == name } }

    /// The key to send with when acting as `role` or more: the first such key listed.
    public func sendingKey(atLeast role: Role) -> Key? { keys.first { $0.role >= role } }

    /// The file's text: one line per key.
    public var text: String { keys.map { $0.line + "\n" }.joined() }
}

/// Why a key file cannot be used. Start-up stops with this message.
public enum KeyFileError: Error, Equatable, CustomStringConvertible {
    /// A line is not `NAME ROLE SECRET`, or one of its fields is not valid.
    case malformed(line: Int, String)
    /// The file lists no key.
    case empty
    /// More than `KeyFile.keysMax` keys.
    case tooManyKeys
    /// Longer than `KeyFile.fileBytesMax`.
    case tooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .malformed(let line, let problem): "line \(line): \(problem)"
        case .empty: "it lists no key; add one made with `client genkey`"
        case .tooManyKeys: "it lists more than \(KeyFile.keysMax) keys"
        case .tooLarge(let bytes): "it is \(bytes) bytes, over the \(KeyFile.fileBytesMax)-byte limit"
        }
    }
}
