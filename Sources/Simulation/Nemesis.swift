import FaultModel
import Placement
import Seeded

extension Simulation {
    /// The kinds of fault the simulator injects: every kind but the two the campaign alone drives (a join with a
    /// removal timed to it, and a primary cut off from everyone while its clients still reach it).
    public static let faultKinds = FaultKind.allCases.filter {
        $0 != .replaceServer && $0 != .isolatePrimary && !$0.needsDataDirectories
    }
}

/// One fault, with how long it lasts.
enum Fault: Equatable {
    case killServer(machine: Int, restartAfterMs: Int64)
    case pauseServer(machine: Int, forMs: Int64)
    case isolateServer(machine: Int, forMs: Int64)
    case removeServer(machine: Int)
    case cutLink(Int, Int, forMs: Int64)
    /// A partial partition: two servers cannot reach each other (or one cannot reach the other) for many leases,
    /// while both reach the viewleader and the clients.
    case cutLinkLong(Int, Int, forMs: Int64)
    case cutLinkOneWay(from: Int, to: Int, forMs: Int64)
    /// A server joins while its link to a member is cut.
    case joinServerWithLinkCut(machine: Int, cutFrom: Int, forMs: Int64)
    /// A long cut between the primary of `key` and its first backup, as the view stands when it is injected.
    case cutPrimaryFromBackup(key: String, forMs: Int64)
    case killViewLeader(restartAfterMs: Int64, restoring: SavedStateChoice)
    case pauseViewLeader(forMs: Int64)
    case isolateViewLeader(forMs: Int64)
    case joinServer(machine: Int)
    /// Every server killed at once (a power cut of the whole cluster), each restarted on its own disk after
    /// `restartAfterMs`: with data directories, nothing acknowledged may be lost.
    case killEveryServer(restartAfterMs: Int64)
}

/// A fault a test injects at a fixed virtual time.
struct ScriptedFault: Sendable {
    let atMs: Int64
    let fault: Fault
}

/// The end of a fault, scheduled when it starts.
enum FaultEnd: Equatable {
    case restartServer(machine: Int)
    case resumeServer(machine: Int)
    case reconnectServer(machine: Int)
    case healLink(Int, Int)
    case healLongLink(Int, Int)
    case healOneWay(from: Int, to: Int)
    case restartViewLeader
    case resumeViewLeader
    case reconnectViewLeader
}

/// What the nemesis may see of the cluster when it picks a fault.
struct ClusterSnapshot {
    /// Every live member of the view is up, on the current epoch and synced: no data is in motion.
    let isStable: Bool
    /// Machines whose server runs and is not already doomed, ascending.
    let healthyMachines: [Int]
    /// Those of `healthyMachines` whose server is a member of the viewleader's view: the ones holding data.
    let memberMachines: [Int]
    /// Machines never started, ascending.
    let spareMachines: [Int]
    /// Machines not retired: running, paused, or crashed and due to restart.
    let activeMachineCount: Int
    let viewLeaderRunning: Bool
}

/// Picks faults, Jepsen-style, within the bounds the store promises to survive.
///
/// Faults that cost a server its data (kill, pause past the lease, cut from the viewleader, removal) come only
/// when the cluster is stable, at most `dataLosingFaultsMax` at a time, so one replica of every key survives
/// until rebalancing has copied it. Everything else — brief pauses, cut links between servers, viewleader
/// crashes and pauses of any length, joins — may come at any time.
struct Nemesis {
    let configuration: SimulationConfiguration

    func plan(_ cluster: ClusterSnapshot, random: inout SplitMix64) -> [Fault] {
        let leaseMs = configuration.leaseMs
        if cluster.isStable && cluster.memberMachines.count >= 2 && random.chance(0.4) {
            return dataLosingFaults(cluster, random: &random)
        }
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1:
            guard let machine = cluster.healthyMachines.randomElement(using: &random) else { return [] }
            return [.pauseServer(machine: machine, forMs: random.ms(in: 20...(leaseMs / 3)))]
        case 2:
            guard cluster.healthyMachines.count >= 2 else { return [] }
            let pair = cluster.healthyMachines.shuffled(using: &random).prefix(2)
            return [.cutLink(pair.first!, pair.last!, forMs: random.ms(in: 100...Int64(FaultKind.briefCutMsMax)))]
        case 3:
            guard cluster.viewLeaderRunning else { return [] }
            // A restart finds its last state, none (lost, or another --state-dir), or an older one (a backup).
            let restartAfterMs = random.ms(in: 50...2 * leaseMs)
            switch Int.random(in: 0..<5, using: &random) {
            case 0: return [.killViewLeader(restartAfterMs: restartAfterMs, restoring: .latest)]
            case 1: return [.killViewLeader(restartAfterMs: restartAfterMs, restoring: .none)]
            case 2: return [.killViewLeader(restartAfterMs: restartAfterMs, restoring: .older)]
            case 3: return [.pauseViewLeader(forMs: random.ms(in: 50...2 * leaseMs))]
            default: return [.isolateViewLeader(forMs: random.ms(in: 50...3 * leaseMs))]
            }
        case 4:
            guard let machine = cluster.spareMachines.first else { return [] }
            return [.joinServer(machine: machine)]
        default:
            return []
        }
    }

    private func dataLosingFaults(_ cluster: ClusterSnapshot, random: inout SplitMix64) -> [Fault] {
        let leaseMs = configuration.leaseMs
        // A partial partition excludes one of the two servers: it costs one server's data, like the faults below.
        if cluster.memberMachines.count >= 3 && random.chance(0.3) {
            let pair = cluster.memberMachines.shuffled(using: &random).prefix(2)
            let forMs = random.ms(in: Int64(FaultKind.partialPartitionMsMin)...Int64(
                FaultKind.partialPartitionMsMax(leaseMs: Int(leaseMs))))
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return [.cutLinkLong(pair.first!, pair.last!, forMs: forMs)]
            case 1: return [.cutLinkOneWay(from: pair.first!, to: pair.last!, forMs: forMs)]
            default:
                guard let machine = cluster.spareMachines.first else {
                    return [.cutLinkLong(pair.first!, pair.last!, forMs: forMs)]
                }
                return [.joinServerWithLinkCut(machine: machine, cutFrom: pair.first!, forMs: forMs)]
            }
        }
        // Victims come from the view's members, and one always survives: a server that has not joined yet holds
        // nothing (seed 128 once killed both members of a two-server view while a third was still joining).
        let most = min(configuration.dataLosingFaultsMax, cluster.memberMachines.count - 1)
        let victims = cluster.memberMachines.shuffled(using: &random).prefix(Int.random(in: 1...most, using: &random))
        var active = cluster.activeMachineCount
        return victims.map { machine in
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                return .pauseServer(machine: machine, forMs: random.ms(in: (leaseMs + 100)...(3 * leaseMs)))
            case 1:
                return .isolateServer(machine: machine, forMs: random.ms(in: (leaseMs + 100)...(3 * leaseMs)))
            case 2 where active > configuration.serversMin:
                active -= 1
                return .removeServer(machine: machine)
            default:
                return .killServer(machine: machine, restartAfterMs: random.ms(in: 100...(2 * leaseMs)))
            }
        }
    }
}

extension Simulation {
    func nemesisTurn() {
        guard phase == .chaos else { return }
        let nemesis = Nemesis(configuration: configuration)
        for fault in nemesis.plan(snapshot(), random: &random) { inject(fault) }
        schedule(.nemesisTurn, afterMs: random.ms(in: configuration.nemesisIntervalMs))
    }

    private func snapshot() -> ClusterSnapshot {
        let healthy = servers.filter { $0.state == .running && !doomedServerIDs.contains($0.node.serverID) }
        let members = viewLeader.core?.membership.members ?? [:]
        return ClusterSnapshot(isStable: isStable, healthyMachines: healthy.map(\.machine),
                               memberMachines: healthy.filter { members[$0.node.serverID] != nil }.map(\.machine),
                               spareMachines: servers.filter { $0.state == .notStarted }.map(\.machine),
                               activeMachineCount: servers.filter { $0.state != .notStarted && $0.state != .retired }.count,
                               viewLeaderRunning: viewLeader.state == .running)
    }

    func inject(_ fault: Fault) {
        note("nemesis: \(fault)")
        switch fault {
        case .killServer(let machine, let restartAfterMs):
            count(.killServer)
            doom(machine)
            killServer(machine, retiring: false)
            schedule(.faultEnds(.restartServer(machine: machine)), afterMs: restartAfterMs)
        case .pauseServer(let machine, let forMs):
            let pastLease = forMs > configuration.leaseMs
            count(pastLease ? .pauseServerPastLease : .pauseServerBriefly)
            if pastLease { doom(machine) }
            servers[machine].state = .paused
            schedule(.faultEnds(.resumeServer(machine: machine)), afterMs: forMs)
        case .isolateServer(let machine, let forMs):
            count(.isolateServerFromViewLeader)
            doom(machine)
            network.cut(.server(machine), .viewLeader)
            schedule(.faultEnds(.reconnectServer(machine: machine)), afterMs: forMs)
        case .removeServer(let machine):
            count(.removeServer)
            doom(machine)
            killServer(machine, retiring: true)
        case .cutLink(let first, let second, let forMs):
            count(.cutLink)
            network.cut(.server(first), .server(second))
            schedule(.faultEnds(.healLink(first, second)), afterMs: forMs)
        case .cutLinkLong(let first, let second, let forMs):
            count(.cutLinkLong)
            watchPartialPartition(first, second, forMs: forMs)
            network.cut(.server(first), .server(second))
            schedule(.faultEnds(.healLongLink(first, second)), afterMs: forMs)
        case .cutPrimaryFromBackup(let key, let forMs):
            let members = Array(viewLeader.core?.membership.members.values.map { $0 } ?? [])
            let ring = HashRing(memberIDs: members.map(\.id), ringSize: configuration.ringSize)
            let machines = ring.replicaSet(forKey: key).prefix(2).compactMap { id in
                members.first { $0.id == id }.flatMap { SimulatedNetwork.machine(at: $0.address) }
            }
            guard machines.count == 2 else { return }
            inject(.cutLinkLong(machines[0], machines[1], forMs: forMs))
        case .cutLinkOneWay(let from, let to, let forMs):
            count(.cutLinkOneWay)
            watchPartialPartition(from, to, forMs: forMs)
            network.cutOneWay(from: .server(from), to: .server(to))
            schedule(.faultEnds(.healOneWay(from: from, to: to)), afterMs: forMs)
        case .joinServerWithLinkCut(let machine, let cutFrom, let forMs):
            count(.joinServerWithLinkCut)
            network.cut(.server(machine), .server(cutFrom))
            startServer(machine)
            watchPartialPartition(machine, cutFrom, forMs: forMs)
            schedule(.faultEnds(.healLongLink(machine, cutFrom)), afterMs: forMs)
        case .killViewLeader(let restartAfterMs, let restoring):
            switch restoring {
            case .latest: count(.killViewLeader)
            case .none: count(.killViewLeaderLosingState)
            case .older: count(.killViewLeaderWithOlderState)
            }
            viewLeader.crash(restoring: restoring, random: &random)
            if restoring != .latest { monitor.viewLeaderLostState() }
            backlogs[.viewLeader] = nil
            schedule(.faultEnds(.restartViewLeader), afterMs: restartAfterMs)
        case .pauseViewLeader(let forMs):
            count(.pauseViewLeader)
            viewLeader.state = .paused
            schedule(.faultEnds(.resumeViewLeader), afterMs: forMs)
        case .isolateViewLeader(let forMs):
            count(.isolateViewLeader)
            for machine in servers.indices { network.cut(.viewLeader, .server(machine)) }
            schedule(.faultEnds(.reconnectViewLeader), afterMs: forMs)
        case .joinServer(let machine):
            count(.joinServer)
            startServer(machine)
        case .killEveryServer(let restartAfterMs):
            for machine in servers.indices where servers[machine].state.isAlive {
                doom(machine)
                killServer(machine, retiring: false)
                schedule(.faultEnds(.restartServer(machine: machine)), afterMs: restartAfterMs)
            }
        }
    }

    func apply(_ end: FaultEnd) {
        note("nemesis: \(end)")
        switch end {
        case .restartServer(let machine):
            if servers[machine].state == .crashed { startServer(machine) }
        case .resumeServer(let machine):
            resumeServer(machine)
        case .reconnectServer(let machine):
            network.heal(.server(machine), .viewLeader)
        case .healLink(let first, let second):
            network.heal(.server(first), .server(second))
        case .healLongLink(let first, let second):
            network.heal(.server(first), .server(second))
            endPartialPartition([first, second])
        case .healOneWay(let from, let to):
            network.healOneWay(from: .server(from), to: .server(to))
            endPartialPartition([from, to])
        case .restartViewLeader:
            if viewLeader.state == .crashed { restartViewLeader() }
        case .resumeViewLeader:
            resumeViewLeader()
        case .reconnectViewLeader:
            for machine in servers.indices { network.heal(.viewLeader, .server(machine)) }
        }
    }

    /// Ends every fault: the settling phase starts from a whole cluster (less the servers removed for good).
    func healEverything() {
        // A server cut off or paused past its lease may be healed before the viewleader noticed; it then stays a
        // member with its data intact, and must not keep the cluster from counting as stable.
        doomedServerIDs.removeAll()
        partialPartitions.removeAll()
        network.healAll()
        if viewLeader.state == .crashed { restartViewLeader() }
        resumeViewLeader()
        for machine in servers.indices {
            if servers[machine].state == .crashed { startServer(machine) }
            resumeServer(machine)
        }
    }

    private func resumeServer(_ machine: Int) {
        guard servers[machine].state == .paused else { return }
        servers[machine].state = .running
        touchedMachine = machine
        releaseBacklog(of: .server(machine))
    }

    private func resumeViewLeader() {
        guard viewLeader.state == .paused else { return }
        viewLeader.state = .running
        releaseBacklog(of: .viewLeader)
    }

    private func doom(_ machine: Int) {
        doomedServerIDs.insert(servers[machine].node.serverID)
    }

    private func count(_ kind: FaultKind) {
        faultCounts[kind, default: 0] += 1
    }
}
