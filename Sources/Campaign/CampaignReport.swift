import FaultModel
import Linearizability

/// What one campaign did and found: the summary the issue asks for (operations by outcome, faults by kind,
/// violations, keys lost).
public struct CampaignReport: Sendable, CustomStringConvertible {
    public let seed: UInt64
    /// How the processes were networked, and why namespaces were not used when they were not.
    public let network: String
    public let usedNetworkNamespaces: Bool
    public let chaosMs: Int
    /// The clients' operations, then the final reads (process `finalReader`).
    public let history: [RecordedOperation]
    public let finalReader: Int
    public let faults: [FaultKind: Int]
    /// Of `faults`, those injected while a view change was still being synced.
    public let faultsDuringRebalancing: [FaultKind: Int]
    /// Writes reported failed that took effect (must be 0), unknown outcomes, retries answered from a write ID.
    public let figures: WriteOutcomeFigures
    /// For the first writes whose outcome stayed unknown: the operation and what its client last saw.
    public let unknownReasons: [String]
    /// For each partial partition the view resolved: milliseconds from the cut to a view without one of the two.
    public let partialPartitionResolutionsMs: [Int]
    public let verdict: LinearizabilityChecker.Verdict
    /// Broken invariants seen while the campaign ran: an epoch that went back, a cluster that never settled.
    public let invariantViolations: [String]
    public let keysAudited: Int
    public let losses: [FinalReadAudit.Loss]
    public let serversAtEnd: Int
    /// Of the kills aimed at a snapshot being written, those that landed while one was (its `.tmp` file existed).
    public let killsDuringSnapshot: Int
    /// Logs of every process, and the viewleader's state.
    public let directory: String

    /// A write reported failed that took effect is a violation on its own, whatever the checker says.
    public var violationCount: Int {
        (verdict == .linearizable ? 0 : 1) + invariantViolations.count + (figures.failedButTookEffect > 0 ? 1 : 0)
    }
    public var passed: Bool { violationCount == 0 && losses.isEmpty }

    public func count(_ outcome: RecordedOperation.Outcome, where include: (RecordedOperation) -> Bool = { _ in true })
        -> Int
    {
        history.count { $0.outcome == outcome && $0.process != finalReader && include($0) }
    }

    public var description: String {
        func outcomes(_ name: String, _ include: (RecordedOperation) -> Bool) -> String {
            "\(name) \(count(.ok, where: include)) ok, \(count(.fail, where: include)) failed, "
                + "\(count(.unknown, where: include)) unknown"
        }
        let faultList = FaultKind.allCases.compactMap { kind -> String? in
            guard let total = faults[kind] else { return nil }
            let rebalancing = faultsDuringRebalancing[kind].map { " (\($0) while rebalancing)" } ?? ""
            return "    \(kind.rawValue): \(total)\(rebalancing)"
        }
        var lines = [
            "campaign seed \(seed): \(passed ? "passed" : "FAILED"), \(chaosMs / 1000) s of faults, \(network), "
                + "\(serversAtEnd) servers at the end",
            "  operations: " + outcomes("reads", { $0.kind.isRead }) + "; "
                + outcomes("writes", { if case .write = $0.kind { true } else { false } }) + "; "
                + outcomes("deletes", { $0.kind == .delete }),
            "  \(figures)",
            "  faults injected: \(faults.values.reduce(0, +))" + (faultList.isEmpty ? "" : "\n" + faultList.joined(separator: "\n")),
            "  final read: \(keysAudited) keys with an acknowledged write or delete",
        ]
        if let aimed = faults[.killServerDuringSnapshot] {
            lines.append("  kills aimed at a snapshot being written: \(killsDuringSnapshot) of \(aimed) landed "
                + "during one")
        }
        lines += [
            "  partial partitions resolved by the view: \(partialPartitionResolutionsMs.count)"
                + (partialPartitionResolutionsMs.isEmpty ? "" : ", cut to view change median "
                    + "\(partialPartitionResolutionsMs.sorted()[partialPartitionResolutionsMs.count / 2]) ms, slowest "
                    + "\(partialPartitionResolutionsMs.max()!) ms"),
            "  violations: \(violationCount)",
            "  keys lost: \(losses.count)",
        ]
        switch verdict {
        case .linearizable: break
        case .violation(let key, let window):
            lines.append("  not linearizable at key \(key); operations around the point where every order failed:")
            lines += window.map { "    \($0)" }
        case .tooLarge(let key, let operations):
            lines.append("  not checked: key \(key) has \(operations) operations, more than the checker takes")
        }
        lines += unknownReasons.prefix(5).map { "  unknown: \($0)" }
        lines += invariantViolations.map { "  violation: \($0)" }
        lines += losses.prefix(20).map { "  lost: \($0)" }
        if !passed { lines.append("  logs: \(directory)") }
        return lines.joined(separator: "\n")
    }
}
