import ClientKit
import FaultModel
import Foundation
import Seeded
import Testing
@testable import Campaign

struct CampaignNemesisTests {
    private let configuration = CampaignConfiguration(binaries: URL(fileURLWithPath: "/nonexistent"))

    private func snapshot(budget: Int = 2, stable: Bool = true, active: Int = 5, network: Bool = true)
        -> CampaignSnapshot
    {
        CampaignSnapshot(healthyMachines: [0, 1, 2, 3, 4], memberMachines: [0, 1, 2, 3, 4], primaryMachines: [2],
                         activeServerCount: active, dataLossBudget: budget, isStable: stable,
                         viewLeaderHealthy: true, networkFaultsPossible: network)
    }

    @Test func everyKindComesUpOnceInARoundOfTheDeck() {
        var nemesis = CampaignNemesis(configuration: configuration)
        var random = SplitMix64(seed: 1)
        let deck = FaultKind.allCases.filter { !$0.needsDataDirectories }
        let kinds = (0..<deck.count).compactMap { _ in nemesis.next(snapshot(), random: &random)?.kind }
        #expect(kinds.sorted() == deck.sorted())
    }

    /// With data directories the deck also holds the restarts on data, a whole-cluster kill among them.
    @Test func withDataDirectoriesTheDeckAddsRestartsOnData() {
        var withData = configuration
        withData.dataDirectories = true
        var nemesis = CampaignNemesis(configuration: withData)
        var random = SplitMix64(seed: 5)
        let kinds = (0..<FaultKind.allCases.count).compactMap { _ in nemesis.next(snapshot(), random: &random)?.kind }
        #expect(kinds.sorted() == FaultKind.allCases.sorted())
        var unstable = CampaignNemesis(configuration: withData)
        let drawn = (0..<60).compactMap { _ in unstable.next(snapshot(stable: false), random: &random)?.kind }
        #expect(drawn.contains(.killServerKeepingData) && !drawn.contains(.killEveryServer),
                "every server is killed at once only from a stable cluster")
    }

    @Test func withoutNamespacesNoNetworkFaultIsDrawn() {
        var nemesis = CampaignNemesis(configuration: configuration)
        var random = SplitMix64(seed: 2)
        let kinds = (0..<40).compactMap { _ in nemesis.next(snapshot(network: false), random: &random)?.kind }
        #expect(!kinds.isEmpty && kinds.allSatisfy { !$0.needsNetwork })
    }

    @Test func dataLosingFaultsWaitForTheBudgetAndOthersDoNot() {
        var nemesis = CampaignNemesis(configuration: configuration)
        var random = SplitMix64(seed: 3)
        var kinds: [FaultKind] = []
        while let fault = nemesis.next(snapshot(budget: 0, stable: false), random: &random) { kinds.append(fault.kind) }
        #expect(kinds.allSatisfy { !$0.losesData })
        #expect(kinds.count == FaultKind.allCases.filter { !$0.losesData && !$0.needsDataDirectories }.count)
        // The rest of the round waits for the budget, then comes.
        #expect(nemesis.next(snapshot(budget: 1), random: &random)?.kind.losesData == true)
    }

    @Test func removalStopsAtTheMinimumAndJoinsAtTheMaximum() {
        var random = SplitMix64(seed: 4)
        var atMinimum = CampaignNemesis(configuration: configuration)
        let small = (0..<30).compactMap { _ in
            atMinimum.next(snapshot(active: configuration.serversMin), random: &random)?.kind
        }
        #expect(!small.contains(.removeServer))
        var atMaximum = CampaignNemesis(configuration: configuration)
        let large = (0..<30).compactMap { _ in
            atMaximum.next(snapshot(active: configuration.serversMax), random: &random)?.kind
        }
        #expect(!large.contains(.joinServer) && !large.contains(.replaceServer))
    }
}
