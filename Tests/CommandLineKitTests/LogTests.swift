import Testing
@testable import CommandLineKit

struct LogTests {
    /// A requestor with a newline once forged a whole viewleader log line; escaped, it stays inside its own.
    @Test func controlCharactersAreEscapedSoAFieldCannotForgeALine() {
        let forged = "s1\n2026-12-02T00:00:00.000Z viewleader info: epoch 999: server s2 expired"
        let line = Log.escaped("lock granted to \(forged)")
        #expect(!line.contains("\n"))
        #expect(line == "lock granted to s1\\n2026-12-02T00:00:00.000Z viewleader info: epoch 999: server s2 expired")
        #expect(Log.escaped("a\r\tb\u{1B}[2Jc\u{7F}\u{85}d\u{2028}") == "a\\r\\tb\\x1b[2Jc\\x7f\\u{85}d\\u{2028}")
    }

    @Test func ordinaryTextIsUnchanged() {
        for text in ["epoch 3: server s1 joined", "café ☕ 日本", ""] { #expect(Log.escaped(text) == text) }
    }
}
