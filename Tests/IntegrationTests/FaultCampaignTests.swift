import Campaign
import FaultModel
import Foundation
import Testing
import Transport
import Wire

/// The bounded real-process fault campaign CI runs: a viewleader and five to seven servers under every kind of
/// fault the nemesis has (on network namespaces when the machine allows, which CI's does), clients on a few
/// keys, a final read of every acknowledged key, and the history through the checker. `scripts/campaign`
/// runs the same campaign for as long as wanted.
@Suite(.serialized)
struct FaultCampaignTests {
    @Test func boundedCampaignLosesNoAcknowledgedWriteAndStaysLinearizable() throws {
        let seed = UInt64(MonotonicClock.nowNs() % 1_000_000)
        let binaries = try Binaries.url("server").deletingLastPathComponent()
        let report = try Campaign(seed: seed, configuration: .bounded(binaries: binaries)).run()
        print(report)
        print("run again with the same fault and operation choices (timing differs): scripts/campaign --seed \(seed) --duration 30")
        #expect(report.passed, "\(report)")
        #expect(report.violationCount == 0)
        #expect(report.losses.isEmpty)
        #expect(report.count(.ok) > 200, "clients made progress")
        #expect(report.keysAudited > 50, "the final read covered the keys clients wrote")
        let kinds = FaultKind.allCases.filter { !$0.needsNetwork || report.usedNetworkNamespaces }
            .filter { !$0.needsDataDirectories }
        #expect(kinds.filter { report.faults[$0] == nil }.isEmpty, "every fault kind was injected: \(report.faults)")
    }
}
