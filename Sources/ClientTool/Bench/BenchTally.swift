/// What one load-generator thread counted; threads' tallies are merged for the report.
///
/// Latencies and outcomes count only replies that arrived in the measured window (after the warm-up, before the
/// end). Errors count over the whole run, warm-up and prefill included, so none goes unreported.
struct BenchTally: Equatable, Sendable {
    /// Latency of every operation completed in the window, from queueing the request to its reply.
    var latency = LatencyHistogram()
    var ok: UInt64 = 0
    var notFound: UInt64 = 0
    var granted: UInt64 = 0
    var queued: UInt64 = 0
    var unknown: UInt64 = 0
    var errors: [BenchErrorKind: UInt64] = [:]
    /// The first message seen for each error kind, to show what went wrong.
    var errorExamples: [BenchErrorKind: String] = [:]
    /// Times the view was fetched again after a refusal.
    var viewRefreshes: UInt64 = 0

    /// Operations completed in the measured window.
    var operations: UInt64 { latency.count }
    var errorCount: UInt64 { errors.values.reduce(0, +) }

    mutating func countError(_ kind: BenchErrorKind, _ message: String, times: UInt64 = 1) {
        guard times > 0 else { return }
        errors[kind, default: 0] += times
        if errorExamples[kind] == nil { errorExamples[kind] = message }
    }

    /// Counts a completed operation's outcome and latency.
    mutating func countCompleted(_ outcome: BenchOutcome, latencyNs: UInt64) {
        switch outcome {
        case .ok: ok += 1
        case .notFound: notFound += 1
        case .granted: granted += 1
        case .queued: queued += 1
        case .unknown: unknown += 1
        }
        latency.record(latencyNs)
    }

    mutating func merge(_ other: BenchTally) {
        latency.merge(other.latency)
        ok += other.ok
        notFound += other.notFound
        granted += other.granted
        queued += other.queued
        unknown += other.unknown
        viewRefreshes += other.viewRefreshes
        for (kind, count) in other.errors { errors[kind, default: 0] += count }
        for (kind, message) in other.errorExamples where errorExamples[kind] == nil { errorExamples[kind] = message }
    }
}
