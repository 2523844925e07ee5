import CommandLineKit
import Transport
import Wire

/// `client bench`: measures throughput and latency of one kind of request against a running cluster.
enum BenchCommand {
    typealias Limits = BenchConfiguration

    static let specs: [OptionSpec] = [
        .value("op", placeholder: "OP",
               help: "set, get (one server); setr, getr, mixed[:READ%] (replicated store, default "
                   + "\(BenchOperation.mixedReadPercentDefault)% reads); lock (lock_get, lock_release); default set"),
        .value("connections", placeholder: "N",
               help: "logical clients, each with its own connections (default \(Limits.connectionsDefault), "
                   + "at most \(Limits.connectionsMax))"),
        .value("pipeline", placeholder: "DEPTH",
               help: "requests each client keeps in flight (default 1, at most \(Limits.pipelineDepthMax))"),
        .value("duration", placeholder: "SECONDS",
               help: "length of the measured window (default \(Limits.durationSecondsDefault), "
                   + "\(Limits.durationSecondsMin) to \(Limits.durationSecondsMax))"),
        .value("warmup", placeholder: "SECONDS",
               help: "load before measuring starts, not counted (default \(Limits.warmupSecondsDefault), "
                   + "at most \(Limits.warmupSecondsMax))"),
        .value("keys", placeholder: "N",
               help: "distinct keys key-0..key-(N-1), drawn uniformly (default \(Limits.keysDefault), "
                   + "at most \(Limits.keysMax))"),
        .value("value-size", placeholder: "BYTES",
               help: "bytes of each written value (default \(Limits.valueBytesDefault), "
                   + "at most \(Limits.valueBytesMax))"),
        .value("seed", placeholder: "N",
               help: "seed of the key and operation sequence (default \(Limits.seedDefault))"),
        .value("threads", placeholder: "N",
               help: "load-generator threads, each an epoll loop (default 1, at most \(Limits.threadsMax) "
                   + "and --connections)"),
        .flag("new-connection-per-request",
              help: "connect, send one request, read its reply, close: like the classic clients (--pipeline 1)"),
        .flag("no-prefill", help: "do not write every key before a get, getr or mixed run"),
        .value("timeout", placeholder: "SECONDS",
               help: "a reply later than this counts as a timeout error (default: the client's --timeout, "
                   + "\(ClientCommand.defaultTimeoutSeconds))"),
        .value("server", placeholder: "HOST[:PORT]",
               help: "server for set and get (default 127.0.0.1, ports \(DefaultPorts.describe(DefaultPorts.server)))"),
        .value("viewleader", placeholder: "HOST[:PORT]",
               help: "viewleader for the view and locks (default 127.0.0.1, ports \(DefaultPorts.describe(DefaultPorts.viewLeader)))"),
        .flag("json", help: "print the result as one JSON object"),
        .flag("help", short: "h", help: "show this help"),
    ]

    static var helpText: String {
        OptionParser.helpText(
            usage: "client bench [OPTIONS]",
            description: """
                Sends requests as fast as the cluster answers them for --warmup plus --duration seconds and \
                reports throughput (operations completed per second in the measured window) and latency \
                percentiles (p50, p90, p99, p99.9, max; from a histogram at most 0.79% above each true sample), \
                with errors counted by kind.

                set and get go to one server; setr and getr go to each key's primary in the viewleader's \
                view, carrying the view's epoch. A refusal (stale epoch, not primary, lease expired, range \
                being copied) is not retried: it counts as an error of its kind and the view is fetched again. \
                get, getr and mixed runs first write every key once (with pipelining), unless --no-prefill. \
                Values are lowercase letters; keys are named key-0, key-1, ...

                The load generator is one epoll loop per thread on non-blocking sockets, so it takes little \
                of the CPU the cluster needs. Latency is measured from queueing a request to reading its \
                reply; with --new-connection-per-request it includes connecting.

                Exit status: 0 the run finished with no errors, 2 it finished but some requests failed \
                (see the report), 3 the server or viewleader could not be reached to start, 64 usage error.

                Examples:
                  client bench --op set --connections 50 --duration 5
                  client bench --op getr --connections 1 --viewleader 127.0.0.1:39000 --json
                  client bench --op get --pipeline 16
                """,
            specs: specs)
    }

    /// Runs `client bench` with the words after `bench`; `base` holds what the client's common options said.
    static func main(words: [String], base: BenchConfiguration) -> Int32 {
        let configuration: BenchConfiguration
        do {
            let parsed = try OptionParser.parse(words, specs: specs)
            if parsed.has("help") {
                printLine(helpText)
                return ClientExitCode.success
            }
            if let extra = parsed.positionals.first {
                exitWithUsageError("client bench", "unexpected argument '\(extra)'; name the operation with --op")
            }
            configuration = try BenchConfiguration.parse(parsed, base: base)
        } catch {
            exitWithUsageError("client bench", error.description)
        }
        Socket.ignoreBrokenPipes()
        let runner = BenchRunner(configuration: configuration)
        let routing: BenchRouting
        do {
            routing = try runner.initialRouting()
        } catch {
            printError("client bench: \(error)")
            return ClientExitCode.unreachable
        }
        let report = runner.run(routing: routing)
        printLine(configuration.json ? report.json.description : report.text)
        return report.tally.errorCount == 0 ? ClientExitCode.success : ClientExitCode.errorReply
    }
}
