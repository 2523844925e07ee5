/// One shared secret: its name (sent in the handshake to say which key, never the secret), its role and its bytes.
public struct Key: Sendable, Equatable {
    public let name: String
    public let role: Role
    public let secret: [UInt8]

    /// Bytes of a secret `client genkey` makes; also the least a key file accepts, as short keys can be guessed.
    public static let secretBytes = 32
    /// The longest secret accepted.
    public static let secretBytesMax = 64
    /// The longest name, in bytes: names are letters, digits, `.`, `_` and `-`.
    public static let nameBytesMax = 64

    public init(name: String, role: Role, secret: [UInt8]) {
        precondition(Self.isValidName(name), "a key's name is 1-64 letters, digits, '.', '_' or '-'")
        precondition((Self.secretBytes...Self.secretBytesMax).contains(secret.count), "a key's secret is 32-64 bytes")
        self.name = name
        self.role = role
        self.secret = secret
    }

    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...nameBytesMax).contains(bytes.count) && bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-")].contains(byte)
        }
    }

    /// The key as a key file's line: `NAME ROLE SECRET-IN-HEX`.
    public var line: String { "\(name) \(role.rawValue) \(Hex.encode(secret))" }
}
