import Testing
@testable import CommandLineKit

struct HostPortTests {
    @Test func hostAloneHasNoPort() throws {
        #expect(try HostPort.parse("127.0.0.1") == HostPort(host: "127.0.0.1", port: nil))
        #expect(try HostPort.parse("localhost") == HostPort(host: "localhost", port: nil))
    }

    @Test func hostAndPort() throws {
        #expect(try HostPort.parse("localhost:39000") == HostPort(host: "localhost", port: 39_000))
    }

    @Test func bracketedIPv6WithAndWithoutPort() throws {
        #expect(try HostPort.parse("[::1]:38000") == HostPort(host: "::1", port: 38_000))
        #expect(try HostPort.parse("[::1]") == HostPort(host: "::1", port: nil))
        #expect(try HostPort.parse("::1") == HostPort(host: "::1", port: nil))
        #expect(HostPort(host: "::1", port: 5).description == "[::1]:5")
    }

    @Test func badPortsAndEmptyHostsAreRejected() {
        for bad in ["", ":80", "host:", "host:0", "host:65536", "host:x", "[::1", "[]:5", "[::1]x"] {
            #expect(throws: OptionError.self, "\(bad)") { try HostPort.parse(bad) }
        }
    }
}
