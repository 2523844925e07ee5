import FaultModel
import Linearizability

/// What one simulated run did and found.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public let seed: UInt64
    public let events: Int
    /// Virtual time the run covered.
    public let virtualMs: Int64
    public let history: [RecordedOperation]
    public let faults: [FaultKind: Int]
    /// Writes reported failed that took effect, unknown outcomes, retries answered from a remembered write ID.
    public let figures: WriteOutcomeFigures
    /// Of the retries answered from a write ID, those whose first attempt went to a server that died since.
    public let answeredAfterPrimaryDied: Int
    /// For each partial partition the view resolved, how long after the cut it dropped one of the two servers.
    public let partialPartitionResolutionsMs: [Int64]
    /// For each partial partition with a key its two servers share written during it: how long after the cut
    /// the first write sent after it was acknowledged.
    public let partialPartitionWriteGapsMs: [Int64]
    /// Snapshots and recoveries, with data directories on.
    public let diskFigures: DiskFigures
    /// The first invariant broken, or why the history is not linearizable; nil when the run passed.
    public let violation: String?
    /// A fingerprint of the run: the same seed must always give the same digest.
    public let digest: UInt64
    /// The `simulate` options that rebuild the run's configuration.
    let replayOptions: String

    public var passed: Bool { violation == nil }

    public func count(_ outcome: RecordedOperation.Outcome) -> Int {
        history.count { $0.outcome == outcome }
    }

    public var description: String {
        let faultList = Simulation.faultKinds.compactMap { kind in faults[kind].map { "\(kind.rawValue) \($0)" } }
        var lines = [
            "seed \(seed): \(passed ? "passed" : "FAILED") after \(events) events, \(virtualMs) ms of virtual time",
            "  operations: \(count(.ok)) ok, \(count(.fail)) failed, \(count(.unknown)) unknown",
            "  \(figures) (\(answeredAfterPrimaryDied) after the primary first asked had died)",
            "  faults: \(faultList.isEmpty ? "none" : faultList.joined(separator: ", "))",
        ]
        if let slowest = partialPartitionResolutionsMs.max() {
            lines.append("  partial partitions resolved by the view: \(partialPartitionResolutionsMs.count), "
                + "the slowest \(slowest) ms after its cut")
        }
        if let slowest = partialPartitionWriteGapsMs.max() {
            lines.append("  writes to keys a partial partition cut served again: the slowest \(slowest) ms after "
                + "its cut")
        }
        if let violation {
            lines.append("  violation: \(violation)")
            lines.append("  replay: scripts/simulate \(replayOptions)--seed \(seed) --verbose")
        }
        return lines.joined(separator: "\n")
    }
}
