import ClientKit
import FaultModel
import Seeded

/// What the nemesis may see of the cluster when it picks a fault.
struct CampaignSnapshot {
    /// Machines whose server runs and is not already doomed to lose its data, ascending.
    let healthyMachines: [Int]
    /// Those of `healthyMachines` whose server is a member of the current view: the ones holding data.
    let memberMachines: [Int]
    /// Those of `memberMachines` that are primary for one of the keys the clients share right now.
    let primaryMachines: [Int]
    /// Servers not retired: running, paused, or crashed and due to restart.
    let activeServerCount: Int
    /// Data-losing faults still allowed before the cluster is next stable.
    let dataLossBudget: Int
    /// Every running server is a synced member and the last fault is more than a lease ago.
    let isStable: Bool
    /// The viewleader runs, is not paused and not cut off.
    let viewLeaderHealthy: Bool
    /// Network namespaces are in use, so links can be cut.
    let networkFaultsPossible: Bool
}

/// Picks faults, Jepsen-style, within the bounds the store promises to survive.
///
/// Kinds come from a shuffled deck, so every kind comes up once per round of the deck (a short campaign still
/// sees all of them); a kind that cannot apply now waits for a later turn, and when none left in the deck can
/// apply even to a stable cluster (removal at the minimum size, say), a new round starts. Faults that cost a server its
/// data come only while the budget allows (two before the cluster is stable again, so one replica of every
/// key survives); everything else (brief pauses, cut links, viewleader crashes, pauses and isolation of any
/// length, joins) may come at any time, rebalancing or not.
struct CampaignNemesis {
    let configuration: CampaignConfiguration
    private var deck: [FaultKind] = []

    init(configuration: CampaignConfiguration) {
        self.configuration = configuration
    }

    mutating func next(_ cluster: CampaignSnapshot, random: inout SplitMix64) -> CampaignFault? {
        if deck.isEmpty {
            deck = FaultKind.allCases.filter {
                (!$0.needsNetwork || cluster.networkFaultsPossible)
                    && (!$0.needsDataDirectories || configuration.dataDirectories)
            }.shuffled(using: &random)
        }
        for (position, kind) in deck.enumerated() {
            if let fault = fault(of: kind, cluster, random: &random) {
                deck.remove(at: position)
                return fault
            }
        }
        if cluster.isStable { deck.removeAll() }
        return nil
    }

    private func fault(of kind: FaultKind, _ cluster: CampaignSnapshot, random: inout SplitMix64)
        -> CampaignFault?
    {
        let lease = configuration.leaseMs
        let pastLease = (lease + 300)...(5 * lease / 2)
        if kind.losesData {
            // One member always survives: a server that has not joined yet holds nothing.
            guard cluster.dataLossBudget > 0, cluster.memberMachines.count >= 2 else { return nil }
        }
        let victim = cluster.memberMachines.randomElement(using: &random)
        switch kind {
        case .killServer:
            return victim.map { .killServer(machine: $0, restartAfterMs: Int.random(in: 100...(2 * lease), using: &random)) }
        case .pauseServerPastLease:
            return victim.map { .pauseServer(machine: $0, forMs: Int.random(in: pastLease, using: &random), pastLease: true) }
        case .removeServer:
            guard cluster.activeServerCount > configuration.serversMin else { return nil }
            return victim.map { .removeServer(machine: $0) }
        case .isolateServerFromViewLeader:
            return victim.map { .isolateServerFromViewLeader(machine: $0, forMs: Int.random(in: pastLease, using: &random)) }
        case .isolatePrimary:
            return cluster.primaryMachines.randomElement(using: &random)
                .map { .isolatePrimary(machine: $0, forMs: Int.random(in: pastLease, using: &random)) }
        case .pauseServerBriefly:
            return cluster.healthyMachines.randomElement(using: &random)
                .map { .pauseServer(machine: $0, forMs: Int.random(in: 50...(lease / 3), using: &random), pastLease: false) }
        case .joinServer:
            return cluster.activeServerCount < configuration.serversMax ? .joinServer : nil
        case .replaceServer:
            guard cluster.activeServerCount < configuration.serversMax else { return nil }
            return victim.map { .replaceServer(machine: $0) }
        case .cutLink:
            guard cluster.healthyMachines.count >= 2 else { return nil }
            let pair = cluster.healthyMachines.shuffled(using: &random).prefix(2)
            return .cutLink(pair.first!, pair.last!,
                            forMs: Int.random(in: 200...FaultKind.briefCutMsMax, using: &random))
        case .cutLinkLong, .cutLinkOneWay:
            guard cluster.memberMachines.count >= 3 else { return nil }
            let pair = cluster.memberMachines.shuffled(using: &random).prefix(2)
            let partialPartitionMs = FaultKind.partialPartitionMsMin...FaultKind.partialPartitionMsMax(leaseMs: lease)
            let forMs = Int.random(in: partialPartitionMs, using: &random)
            return kind == .cutLinkLong ? .cutLinkLong(pair.first!, pair.last!, forMs: forMs)
                : .cutLinkOneWay(from: pair.first!, to: pair.last!, forMs: forMs)
        case .joinServerWithLinkCut:
            guard cluster.activeServerCount < configuration.serversMax, cluster.memberMachines.count >= 3,
                  let member = victim
            else { return nil }
            let partialPartitionMs = FaultKind.partialPartitionMsMin...FaultKind.partialPartitionMsMax(leaseMs: lease)
            return .joinServerWithLinkCut(cutFrom: member, forMs: Int.random(in: partialPartitionMs, using: &random))
        case .killServerKeepingData:
            // Restarted within its lease, or after it expired: both must find the server's writes on its disk.
            return victim.map {
                .killServerKeepingData(machine: $0, restartAfterMs: Int.random(in: 100...(2 * lease), using: &random))
            }
        case .killServerDuringSnapshot:
            return victim.map {
                .killServerDuringSnapshot(machine: $0, restartAfterMs: Int.random(in: 100...lease, using: &random))
            }
        case .killEveryServer:
            // A whole-cluster crash (a power cut): only from a stable cluster, so nothing else is in flight.
            guard cluster.isStable, cluster.memberMachines.count >= 2 else { return nil }
            return .killEveryServer(restartAfterMs: Int.random(in: 100...(2 * lease), using: &random))
        case .killViewLeader, .killViewLeaderLosingState, .killViewLeaderWithOlderState:
            guard cluster.viewLeaderHealthy else { return nil }
            let restoring: SavedStateChoice = kind == .killViewLeader ? .latest
                : kind == .killViewLeaderLosingState ? .none : .older
            return .killViewLeader(restartAfterMs: Int.random(in: 100...(2 * lease), using: &random), restoring: restoring)
        case .pauseViewLeader:
            guard cluster.viewLeaderHealthy else { return nil }
            return .pauseViewLeader(forMs: Int.random(in: 100...(5 * lease / 2), using: &random))
        case .isolateViewLeader:
            guard cluster.viewLeaderHealthy else { return nil }
            return .isolateViewLeader(forMs: Int.random(in: pastLease, using: &random))
        }
    }
}
