import Authentication
import CommandLineKit
import Transport

/// `client genkey NAME ROLE`: a new key, printed as the line a key file holds.
enum KeyGeneration {
    /// Prints `NAME ROLE SECRET` with a fresh 32-byte secret; a bad name or role is a usage error.
    static func run(name: String, role roleName: String) -> Int32 {
        guard Key.isValidName(name) else {
            exitWithUsageError("client", "genkey: a key's name is 1-\(Key.nameBytesMax) letters, digits, '.', '_' "
                + "or '-'")
        }
        guard let role = Role(rawValue: roleName) else {
            exitWithUsageError("client", "genkey: the role is one of "
                + Role.allCases.map(\.rawValue).joined(separator: ", "))
        }
        printLine(Key(name: name, role: role, secret: SecureRandom.bytes(Key.secretBytes)).line)
        return ClientExitCode.success
    }
}
