import Foundation
import Testing
import Wire

/// `client bench` against real processes for about a second: it runs, parses its options, and prints a report
/// that scripts can read. Never a timing assertion: only that work was done and nothing failed.
@Suite(.serialized)
struct BenchSmokeTests {
    /// Light on purpose: other suites may run beside this one on a two-core machine with short leases.
    static let smokeArguments = ["--connections", "4", "--duration", "1", "--warmup", "0.2", "--keys", "1000",
                                 "--json"]

    /// Runs the bench and returns its JSON report's fields, recording what went wrong otherwise.
    func runBench(_ arguments: [String]) throws -> JSONObject {
        let result = try runTool("client", ["bench"] + arguments + Self.smokeArguments)
        #expect(result.status == 0, "exit \(result.status); stderr: \(result.stderr); stdout: \(result.stdout)")
        let line = try #require(result.stdout.split(separator: "\n").last, "no output; stderr: \(result.stderr)")
        let report = try JSONParser.parse(ArraySlice(line.utf8))
        return try #require(report.objectValue, "report is not an object: \(line)")
    }

    /// A JSON number as a Double: the writer prints integral doubles without a fraction, so they read back as
    /// integers.
    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let number)?: return Double(number)
        case .double(let number)?: return number
        default: return nil
        }
    }

    func expectWorkDoneWithoutErrors(_ report: JSONObject) {
        #expect((report["operations"]?.integerValue ?? 0) > 0, "\(report)")
        #expect((Self.number(report["ops_per_s"]) ?? 0) > 0, "\(report)")
        #expect(report["error_count"] == 0, "\(report)")
        #expect(report["errors"] == .object([:]), "\(report)")
        let latency = report["latency_ms"]?.objectValue
        for name in ["p50", "p90", "p99", "p99_9", "max", "mean"] {
            #expect(latency?[name] != nil, "latency_ms has no \(name): \(report)")
        }
    }

    @Test func benchSetAgainstOneServerReportsOperationsAndNoErrors() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer().port
        let report = try runBench(["--op", "set", "--server", "127.0.0.1:\(port)"])
        #expect(report["op"] == "set")
        expectWorkDoneWithoutErrors(report)
    }

    @Test func benchSetrRoutesToPrimariesOfThreeReplicasWithoutRefusals() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<3 { try cluster.startServer() }
        try cluster.waitUntilServing(cluster.waitUntilSynced(servers: 3))
        let report = try runBench(["--op", "setr", "--viewleader", "127.0.0.1:\(cluster.viewLeaderPort)"])
        #expect(report["op"] == "setr")
        #expect(report["destinations"] == 3)
        expectWorkDoneWithoutErrors(report)
    }

    @Test func benchHelpDocumentsEveryOptionAndBadValuesAreUsageErrors() throws {
        let help = try runTool("client", ["bench", "--help"])
        #expect(help.status == 0)
        for option in ["--op", "--connections", "--pipeline", "--duration", "--warmup", "--keys", "--value-size",
                       "--seed", "--threads", "--new-connection-per-request", "--json"] {
            #expect(help.stdout.contains(option), "help does not mention \(option)")
        }
        let bad = try runTool("client", ["bench", "--pipeline", "0"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--pipeline"))
    }
}
