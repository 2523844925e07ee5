import CommandLineKit
import Testing
@testable import ClientTool

/// `client bench` options: defaults, what overrides what, and a clear error for every bad value.
struct BenchConfigurationTests {
    static func parse(_ words: [String], base: BenchConfiguration = BenchConfiguration()) throws(OptionError)
        -> BenchConfiguration
    {
        try BenchConfiguration.parse(OptionParser.parse(words, specs: BenchCommand.specs), base: base)
    }

    @Test func defaultsMatchTheIssuesStandardWorkload() throws {
        let configuration = try Self.parse([])
        #expect(configuration.operation == .set)
        #expect(configuration.connections == 50)
        #expect(configuration.pipelineDepth == 1)
        #expect(configuration.keys == 100_000)
        #expect(configuration.valueBytes == 100)
        #expect(configuration.threads == 1)
        #expect(!configuration.newConnectionPerRequest)
    }

    @Test func everyOptionIsRead() throws {
        let configuration = try Self.parse([
            "--op", "mixed:80", "--connections", "8", "--pipeline", "4", "--duration", "2.5", "--warmup", "0",
            "--keys", "10", "--value-size", "7", "--seed", "42", "--threads", "2", "--timeout", "0.5",
            "--no-prefill", "--json", "--server", "127.0.0.1:4000", "--viewleader", "localhost:5000",
        ])
        #expect(configuration.operation == .mixed(readPercent: 80))
        #expect(configuration.connections == 8)
        #expect(configuration.pipelineDepth == 4)
        #expect(configuration.durationSeconds == 2.5)
        #expect(configuration.warmupSeconds == 0)
        #expect(configuration.keys == 10)
        #expect(configuration.valueBytes == 7)
        #expect(configuration.seed == 42)
        #expect(configuration.threads == 2)
        #expect(configuration.timeoutMs == 500)
        #expect(!configuration.prefill)
        #expect(configuration.json)
        #expect(configuration.server == HostPort(host: "127.0.0.1", port: 4000))
        #expect(configuration.viewLeader == HostPort(host: "localhost", port: 5000))
    }

    @Test func optionsAfterBenchOverrideTheClientsCommonOptions() throws {
        var base = BenchConfiguration()
        base.server = HostPort(host: "10.0.0.1", port: 1)
        base.timeoutMs = 9_000
        base.json = true
        let configuration = try Self.parse(["--server", "127.0.0.1:2"], base: base)
        #expect(configuration.server == HostPort(host: "127.0.0.1", port: 2))
        #expect(configuration.timeoutMs == 9_000)
        #expect(configuration.json)
    }

    @Test(arguments: [
        (["--op", "sett"], "--op"),
        (["--op", "mixed:101"], "percent from 0 to 100"),
        (["--op", "mixed:x"], "percent from 0 to 100"),
        (["--connections", "0"], "from 1 to 1000"),
        (["--connections", "1001"], "from 1 to 1000"),
        (["--pipeline", "0"], "from 1 to 1024"),
        (["--pipeline", "1025"], "from 1 to 1024"),
        (["--duration", "0.01"], "from 0.1 to 3600.0"),
        (["--duration", "soon"], "number of seconds"),
        (["--warmup", "-1"], "--warmup"),
        (["--keys", "0"], "from 1 to 10000000"),
        (["--value-size", "1039361"], "from 0 to 1039360"),
        (["--seed", "-3"], "--seed"),
        (["--threads", "17"], "from 1 to 16"),
        (["--threads", "4", "--connections", "2"], "at most as many threads as --connections"),
        (["--new-connection-per-request", "--pipeline", "2"], "1 with --new-connection-per-request"),
        (["--timeout", "0"], "--timeout"),
        (["--server", "host:99999"], "port from 1 to 65535"),
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--connections"], "needs a value"),
    ])
    func badValuesAreRejectedWithAMessageNamingTheProblem(words: [String], expected: String) {
        do {
            let configuration = try Self.parse(words)
            Issue.record("accepted \(words) as \(configuration)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func readsArePrefilledWithTheMatchingWriteUnlessAskedNotTo() throws {
        #expect(try Self.parse(["--op", "get"]).prefillOperation == .set)
        #expect(try Self.parse(["--op", "getr"]).prefillOperation == .setr)
        #expect(try Self.parse(["--op", "mixed:10"]).prefillOperation == .setr)
        #expect(try Self.parse(["--op", "mixed:0"]).prefillOperation == nil)
        #expect(try Self.parse(["--op", "set"]).prefillOperation == nil)
        #expect(try Self.parse(["--op", "lock"]).prefillOperation == nil)
        #expect(try Self.parse(["--op", "get", "--no-prefill"]).prefillOperation == nil)
    }
}
