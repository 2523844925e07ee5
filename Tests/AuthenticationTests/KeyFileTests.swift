import Testing
@testable import Authentication

struct KeyFileTests {
    let secret = String(repeating: "ab", count: 32)

    @Test func keysParseWithCommentsAndBlankLinesAndRoundTrip() throws {
        let file = try KeyFile(text: """
            # the cluster's keys
            cluster-2 member \(secret)
              ops\tread-write \(secret.uppercased())   # rotated 2026-12

            dashboard read-only \(String(repeating: "01", count: 64))
            """)
        #expect(file.keys.map(\.name) == ["cluster-2", "ops", "dashboard"])
        #expect(file.keys.map(\.role) == [.member, .readWrite, .readOnly])
        #expect(file.key(named: "ops")?.secret == [UInt8](repeating: 0xAB, count: 32))
        #expect(try KeyFile(text: file.text) == file)
    }

    /// A process sends with the first key of at least the role it needs: a member key serves a client too.
    @Test func theFirstKeyOfEnoughAuthorityIsSent() throws {
        let file = try KeyFile(text: "reader read-only \(secret)\nold member \(secret)\nnew member \(secret)\n")
        #expect(file.sendingKey(atLeast: .member)?.name == "old")
        #expect(file.sendingKey(atLeast: .readWrite)?.name == "old")
        #expect(file.sendingKey(atLeast: .readOnly)?.name == "reader")
        #expect(try KeyFile(text: "reader read-only \(secret)").sendingKey(atLeast: .readWrite) == nil)
    }

    @Test(arguments: [
        ("k member", "line 1: expected NAME ROLE SECRET"),
        ("k admin \(String(repeating: "ab", count: 32))", "line 1: the role is one of read-only, read-write, member"),
        ("k member abc", "line 1: the secret is 32-64 bytes in hex"),
        ("k member \(String(repeating: "ab", count: 31))", "line 1: the secret is 32-64 bytes in hex"),
        ("k member \(String(repeating: "ab", count: 65))", "line 1: the secret is 32-64 bytes in hex"),
        ("k member \(String(repeating: "zz", count: 32))", "line 1: the secret is 32-64 bytes in hex"),
        ("\nk/1 member \(String(repeating: "ab", count: 32))", "line 2: a name is 1-64 letters"),
        ("k member \(String(repeating: "ab", count: 32))\nk read-only \(String(repeating: "ab", count: 32))",
         "line 2: the name k is used twice"),
        ("# nothing\n\n", "it lists no key"),
    ])
    func badFilesAreRefusedNamingTheLine(text: String, message: String) {
        #expect {
            _ = try KeyFile(text: text)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test func limitsOnKeysAndBytes() {
        let many = (0...KeyFile.keysMax).map { "k\($0) member \(secret)" }.joined(separator: "\n")
        #expect(throws: KeyFileError.tooManyKeys) { _ = try KeyFile(text: many) }
        let huge = String(repeating: "#", count: KeyFile.fileBytesMax + 1)
        #expect(throws: KeyFileError.tooLarge(bytes: KeyFile.fileBytesMax + 1)) { _ = try KeyFile(text: huge) }
    }

    @Test func hexRoundTripsAndRefusesNonHex() {
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.decode(Hex.encode(all)) == all)
        #expect(Hex.decode("abc") == nil && Hex.decode("0g") == nil && Hex.decode("") == [])
    }
}
