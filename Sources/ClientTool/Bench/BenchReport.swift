import Wire

/// The result of a bench run as text for people or one JSON object for scripts.
///
/// Pure: it formats numbers it is given, so its layout is unit-tested without running anything.
struct BenchReport: Sendable {
    /// Percentiles reported, with their names in text and JSON.
    static let percentiles: [(name: String, jsonName: String, value: Double)] = [
        ("p50", "p50", 50), ("p90", "p90", 90), ("p99", "p99", 99), ("p99.9", "p99_9", 99.9),
    ]
    static let histogramNote = "log-bucket histogram: percentiles at most 0.79% above the true sample; max exact"

    let configuration: BenchConfiguration
    let tally: BenchTally
    /// Length of the measured window, in seconds.
    let measuredSeconds: Double
    /// Time spent writing every key before the run, when it did.
    let prefillSeconds: Double?
    /// Servers (or viewleaders) the requests went to.
    let destinations: Int

    var opsPerSecond: Double { measuredSeconds > 0 ? Double(tally.operations) / measuredSeconds : 0 }

    func latencyMs(atPercentile percentile: Double) -> Double {
        Double(tally.latency.valueNs(atPercentile: percentile)) / 1e6
    }

    var maxLatencyMs: Double { tally.latency.count == 0 ? 0 : Double(tally.latency.maxNs) / 1e6 }

    var text: String {
        let c = configuration
        var lines: [String] = []
        let mode = c.newConnectionPerRequest ? "a new connection per request" : "pipeline \(c.pipelineDepth)"
        lines.append("bench \(c.operation): \(Self.plural(c.connections, "connection")), \(mode), "
            + "\(Self.plural(c.threads, "thread")), \(c.keys) keys, \(c.valueBytes)-byte values, seed \(c.seed), "
            + "\(Self.plural(destinations, "destination"))")
        if let prefillSeconds { lines.append("  prefilled \(c.keys) keys in \(Self.fixed(prefillSeconds, 2)) s") }
        lines.append("  measured \(Self.fixed(measuredSeconds, 2)) s after \(Self.fixed(c.warmupSeconds, 2)) s "
            + "warm-up: \(tally.operations) operations, \(Self.fixed(opsPerSecond, 0)) ops/s")
        let percentileText = Self.percentiles.map { "\($0.name) \(Self.fixed(latencyMs(atPercentile: $0.value), 3))" }
        lines.append("  latency ms: " + percentileText.joined(separator: "  ")
            + "  max \(Self.fixed(maxLatencyMs, 3))  mean \(Self.fixed(tally.latency.meanNs / 1e6, 3))")
        lines.append("  outcomes: " + outcomes.map { "\($0.name) \($0.count)" }.joined(separator: ", "))
        if tally.errors.isEmpty {
            lines.append("  errors: none")
        } else {
            lines.append("  errors (whole run, prefill and warm-up included): \(tally.errorCount)")
            for kind in tally.errors.keys.sorted() {
                lines.append("    \(kind.rawValue) \(tally.errors[kind]!): \(tally.errorExamples[kind] ?? "")")
            }
        }
        if tally.viewRefreshes > 0 { lines.append("  view fetched again \(tally.viewRefreshes) times after refusals") }
        return lines.joined(separator: "\n")
    }

    /// The outcome counts that apply to the operation.
    var outcomes: [(name: String, count: UInt64)] {
        switch configuration.operation {
        case .lock: return [("granted", tally.granted), ("queued", tally.queued), ("released", tally.ok),
                            ("nothing_to_release", tally.unknown)]
        default: return [("ok", tally.ok), ("not_found", tally.notFound)]
        }
    }

    var json: JSONValue {
        let c = configuration
        var latency = JSONObject()
        for percentile in Self.percentiles {
            latency[percentile.jsonName] = .double(Self.rounded(latencyMs(atPercentile: percentile.value), 4))
        }
        latency["max"] = .double(Self.rounded(maxLatencyMs, 4))
        latency["mean"] = .double(Self.rounded(tally.latency.meanNs / 1e6, 4))
        var errors = JSONObject()
        for kind in tally.errors.keys.sorted() { errors[kind.rawValue] = .integer(Int64(tally.errors[kind]!)) }
        var outcomeFields = JSONObject()
        for outcome in outcomes { outcomeFields[outcome.name] = .integer(Int64(outcome.count)) }
        var object: JSONObject = [
            "op": .string(c.operation.description),
            "connections": .integer(Int64(c.connections)),
            "pipeline": .integer(Int64(c.pipelineDepth)),
            "new_connection_per_request": .bool(c.newConnectionPerRequest),
            "threads": .integer(Int64(c.threads)),
            "keys": .integer(Int64(c.keys)),
            "value_size": .integer(Int64(c.valueBytes)),
            "seed": .integer(Int64(c.seed)),
            "destinations": .integer(Int64(destinations)),
            "warmup_s": .double(c.warmupSeconds),
            "measured_s": .double(Self.rounded(measuredSeconds, 3)),
            "operations": .integer(Int64(tally.operations)),
            "ops_per_s": .double(Self.rounded(opsPerSecond, 1)),
            "latency_ms": .object(latency),
            "outcomes": .object(outcomeFields),
            "error_count": .integer(Int64(tally.errorCount)),
            "errors": .object(errors),
            "view_refreshes": .integer(Int64(tally.viewRefreshes)),
            "histogram": .string(Self.histogramNote),
        ]
        if let prefillSeconds { object["prefill_s"] = .double(Self.rounded(prefillSeconds, 3)) }
        return .object(object)
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    static func rounded(_ value: Double, _ decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (value * scale).rounded() / scale
    }

    /// `value` with exactly `decimals` digits after the point, without Foundation's formatter.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        precondition(decimals >= 0 && decimals <= 9, "between 0 and 9 decimals")
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        guard value.isFinite, abs(value) < 1e15 else { return String(value) }
        let scaled = UInt64((abs(value) * Double(scale)).rounded())
        let sign = value < 0 && scaled > 0 ? "-" : ""
        let whole = String(scaled / scale)
        guard decimals > 0 else { return sign + whole }
        let fraction = String(scaled % scale)
        return sign + whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}
