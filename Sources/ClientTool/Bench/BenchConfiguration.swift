import CommandLineKit
import Wire

/// Everything one `client bench` run needs, validated: built from the command line by `parse`.
struct BenchConfiguration: Equatable, Sendable {
    /// Logical clients. Bounded well below the servers' limit of 4096 connections, since a replicated run opens
    /// one socket per client per server it sends to.
    static let connectionsMax = 1_000
    /// Requests in flight per client; a server stops reading a connection with more than this in flight.
    static let pipelineDepthMax = WireLimits().pipelineDepthMax
    static let durationSecondsMax = 3_600.0
    /// Shortest measured window: below it a run measures start-up, not throughput.
    static let durationSecondsMin = 0.1
    static let warmupSecondsMax = 600.0
    /// Distinct keys; each costs a SHA-1 at start-up and 4 bytes for its precomputed ring position.
    static let keysMax = 10_000_000
    /// The servers' value limit at the default frame limit (bench values are plain letters, one byte each).
    static let valueBytesMax = RecordLimits.standard.valueBytesMax
    /// Load-generator threads; each runs one epoll loop over its share of the clients.
    static let threadsMax = 16
    /// Time each reply may take before it counts as a timeout, bounded like the client's `--timeout`.
    static let timeoutSecondsMax = 3_600.0
    /// Requests each client keeps in flight while prefilling, so a prefill of many keys takes seconds.
    static let prefillPipelineDepth = 16

    static let connectionsDefault = 50
    static let durationSecondsDefault = 5.0
    static let warmupSecondsDefault = 1.0
    static let keysDefault = 100_000
    static let valueBytesDefault = 100
    static let seedDefault: UInt64 = 1

    var operation: BenchOperation = .set
    var connections = BenchConfiguration.connectionsDefault
    var pipelineDepth = 1
    var durationSeconds = BenchConfiguration.durationSecondsDefault
    var warmupSeconds = BenchConfiguration.warmupSecondsDefault
    var keys = BenchConfiguration.keysDefault
    var valueBytes = BenchConfiguration.valueBytesDefault
    var seed = BenchConfiguration.seedDefault
    var threads = 1
    /// Opens a fresh connection for every request and closes it after the reply, like the classic clients.
    var newConnectionPerRequest = false
    /// Writes every key once before a run that reads keys, so reads find values.
    var prefill = true
    var json = false
    /// A request without a reply for this long counts as a timeout error and its connection is reopened.
    var timeoutMs = 5_000
    /// The server for `set` and `get`; nil port: the first of `DefaultPorts.server` that accepts.
    var server = HostPort(host: "127.0.0.1", port: nil)
    /// The viewleader, for the view (`setr`, `getr`, `mixed`) and for `lock`.
    var viewLeader = HostPort(host: "127.0.0.1", port: nil)

    /// Reads and checks the bench options; `base` carries what the client's common options already said.
    static func parse(_ parsed: ParsedOptions, base: BenchConfiguration) throws(OptionError) -> BenchConfiguration {
        var configuration = base
        configuration.operation = try BenchOperation.parse(parsed.string("op", default: base.operation.description))
        configuration.connections = try parsed.integer("connections", default: base.connections,
                                                       range: 1...connectionsMax)
        configuration.pipelineDepth = try parsed.integer("pipeline", default: base.pipelineDepth,
                                                         range: 1...pipelineDepthMax)
        configuration.durationSeconds = try parsed.seconds("duration", default: base.durationSeconds,
                                                           range: durationSecondsMin...durationSecondsMax)
        configuration.warmupSeconds = try parsed.seconds("warmup", default: base.warmupSeconds,
                                                         range: 0...warmupSecondsMax)
        configuration.keys = try parsed.integer("keys", default: base.keys, range: 1...keysMax)
        configuration.valueBytes = try parsed.integer("value-size", default: base.valueBytes, range: 0...valueBytesMax)
        configuration.seed = UInt64(try parsed.integer("seed", default: Int(base.seed), range: 0...Int.max))
        configuration.threads = try parsed.integer("threads", default: base.threads, range: 1...threadsMax)
        configuration.timeoutMs = Int(1_000 * (try parsed.seconds("timeout", default: Double(base.timeoutMs) / 1_000,
                                                                  range: 0.01...timeoutSecondsMax)))
        if parsed.has("new-connection-per-request") { configuration.newConnectionPerRequest = true }
        if parsed.has("no-prefill") { configuration.prefill = false }
        if parsed.has("json") { configuration.json = true }
        if let server = parsed.value("server") { configuration.server = try HostPort.parse(server) }
        if let viewLeader = parsed.value("viewleader") { configuration.viewLeader = try HostPort.parse(viewLeader) }
        try configuration.checkCombinations()
        return configuration
    }

    /// Rejects options that are each valid but make no sense together.
    func checkCombinations() throws(OptionError) {
        if newConnectionPerRequest && pipelineDepth > 1 {
            throw .invalidValue(option: "pipeline", value: String(pipelineDepth),
                                expected: "1 with --new-connection-per-request (one request per connection)")
        }
        if threads > connections {
            throw .invalidValue(option: "threads", value: String(threads),
                                expected: "at most as many threads as --connections (\(connections))")
        }
    }

    /// The write that fills every key before the measured run, or nil when there is no prefill.
    var prefillOperation: BenchOperation? { prefill ? operation.prefillOperation : nil }
}
