import ClientKit
import FaultModel
import Foundation
import Glibc
import Linearizability
import Placement
import Seeded
import Transport
import Wire

/// A fault campaign on real processes, Jepsen-style: a viewleader and five to seven servers, clients on a few
/// keys, and a nemesis that SIGKILLs, SIGSTOPs, removes and adds servers, crashes, pauses and isolates the
/// viewleader, and (on network namespaces) cuts links. At the end every fault is healed, the cluster must
/// settle, every key ever acknowledged is read once more, and the whole history goes through the checker.
public final class Campaign: @unchecked Sendable {
    public let seed: UInt64
    public let configuration: CampaignConfiguration
    /// Receives a line for each fault, fault end and view change as it happens.
    public var trace: (@Sendable (String) -> Void)?

    /// A turn of the nemesis's loop: how often it looks at the view and applies faults that are due to end.
    static let pollIntervalMs = 50
    /// After the last fault started or ended, the cluster counts as stable only once this much longer than a
    /// lease has passed with the view synced: a server that lost its lease has been dropped by then.
    static let quietMarginMs = 500
    /// Final reads stop waiting for further keys after this many unreadable ones: the cluster is down.
    static let unreadableKeysMax = 3

    private var lab: NetworkLab?
    private var random: SplitMix64
    private var nemesis: CampaignNemesis
    private var cluster: CampaignCluster!
    private var startedAtMs: Int64 = 0
    private var pendingEnds: [(dueMs: Int64, end: CampaignFaultEnd)] = []
    private var doomedMachines: Set<Int> = []
    /// Kills aimed at a snapshot being written that landed while one was.
    private var killsDuringSnapshot = 0
    /// How long a kill aimed at a snapshot waits for one to begin before it kills anyway.
    static let snapshotWaitMs = 2_000
    private var dataLossBudget: Int
    private var lastChangeMs: Int64 = 0
    private var lastEpoch: Int64 = -1
    /// Set when the viewleader restarted from lost or older state: the highest epoch seen before. Its epoch may go
    /// back until it hears from the servers; it must then rise above this.
    private var epochBeforeStateLoss: Int64?
    private var viewLeaderIsolated = false
    /// Peers each isolation cut a machine (or the viewleader, key -1) from, to heal exactly those.
    private var isolatedFrom: [Int: [NetworkLab.Host]] = [:]
    private var faults: [FaultKind: Int] = [:]
    private var faultsDuringRebalancing: [FaultKind: Int] = [:]
    private var invariantViolations: [String] = []
    /// Partial partitions in force, each watched until the view drops one of its two servers.
    private var partialPartitions: [PartialPartition] = []
    /// For each partial partition the view resolved: milliseconds from the cut to the view without one of the two.
    private var partialPartitionResolutionsMs: [Int] = []

    private struct PartialPartition {
        let machines: [Int]
        let serverIDs: [String]
        let startMs: Int64
        let durationMs: Int
        var resolvedMs: Int64?
        /// Whether one of the two was primary of a range the other backs up when the cut began: only then do
        /// writes cross the link (the clients write keys all over the ring).
        let shareRanges: Bool
        /// Time during the cut when the viewleader could act on reports: running, not cut off, not behind.
        var viewLeaderAbleMs: Int64 = 0
    }
    /// When the view was last observed, to count the time the viewleader could act.
    private var lastObservedMs: Int64 = 0
    private var log: [String] = []

    public init(seed: UInt64, configuration: CampaignConfiguration) {
        self.seed = seed
        self.configuration = configuration
        random = SplitMix64(seed: seed)
        nemesis = CampaignNemesis(configuration: configuration)
        dataLossBudget = configuration.dataLosingFaultsMax
    }

    public func run() throws -> CampaignReport {
        startedAtMs = now()
        for name in ["viewleader", "server"] {
            let path = configuration.binaries.appendingPathComponent(name).path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ChildProcessError.unexpected("no executable at \(path): build first (swift build)")
            }
        }
        let directory = configuration.workDirectory.appendingPathComponent("kv-campaign-\(seed)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (lab, network) = try Self.makeLab(configuration.network)
        self.lab = lab
        defer { lab?.tearDown() }
        cluster = try CampaignCluster(configuration: configuration, directory: directory, lab: lab)
        defer { cluster.stop() }
        note("network: \(network); logs in \(directory.path)")
        for _ in 0..<configuration.initialServers { try cluster.joinServer() }
        if let problem = settle() { throw ChildProcessError.timedOut("the first view never settled: \(problem)") }

        let workload = CampaignWorkload(configuration: configuration, viewLeaderHost: cluster.viewLeaderAddress,
                                        viewLeaderPort: cluster.viewLeaderPort, key: cluster.clientKey)
        workload.start(seed: seed)
        let chaosStartedMs = now()
        do { try chaos(workload: workload) } catch {
            _ = workload.stop()
            throw error
        }
        let chaosMs = Int(now() - chaosStartedMs)
        var (history, answeredFromWriteID, unknownReasons) = workload.stop()
        try healEverything()
        if let problem = settle() { invariantViolations.append("after healing every fault, \(problem)") }

        let finalReader = configuration.clients
        let (finalReads, finalOperations) = readEveryAcknowledgedKey(history, as: finalReader)
        history += finalOperations
        let report = CampaignReport(
            seed: seed, network: network, usedNetworkNamespaces: lab != nil, chaosMs: chaosMs, history: history,
            finalReader: finalReader,
            faults: faults, faultsDuringRebalancing: faultsDuringRebalancing,
            figures: WriteOutcomeFigures(history: history, answeredFromWriteID: answeredFromWriteID),
            unknownReasons: unknownReasons, partialPartitionResolutionsMs: partialPartitionResolutionsMs,
            verdict: LinearizabilityChecker.check(history), invariantViolations: invariantViolations,
            keysAudited: finalReads.count, losses: FinalReadAudit.losses(history: history, finalReads: finalReads),
            serversAtEnd: cluster.view()?.servers.count ?? 0, killsDuringSnapshot: killsDuringSnapshot,
            directory: directory.path)
        try? log.joined(separator: "\n").write(to: directory.appendingPathComponent("campaign.log"), atomically: true,
                                               encoding: .utf8)
        if report.passed {
            try? FileManager.default.removeItem(at: directory)
        } else {
            writeEvidence(history: history, to: directory)
        }
        return report
    }

    /// Keeps what a failure needs to be explained: every operation, timed like the campaign log, and the keys
    /// each live server holds now (`query_all_keys`), so a lost key can be told apart from a wrong answer.
    private func writeEvidence(history: [RecordedOperation], to directory: URL) {
        let startedUs = startedAtMs * 1_000
        let seconds = { (us: Int64) in String(format: "%.3f", Double(us - startedUs) / 1_000_000) }
        let lines = history.sorted { $0.invokedAt < $1.invokedAt }.map { operation in
            "[\(seconds(operation.invokedAt)) - \(seconds(operation.completedAt))] \(operation)"
        }
        try? lines.joined(separator: "\n").write(to: directory.appendingPathComponent("history.txt"), atomically: true,
                                                 encoding: .utf8)
        for server in cluster.view()?.servers ?? [] {
            guard let (host, port) = splitAddress(server.address) else { continue }
            let keys: String
            do {
                keys = try ServerClient(host: host, port: port, timeoutMs: 5_000).queryAllKeys().joined(separator: "\n")
            } catch {
                keys = "query_all_keys failed: \(error)"
            }
            try? keys.write(to: directory.appendingPathComponent("keys-\(server.id).txt"), atomically: true,
                            encoding: .utf8)
        }
    }

    /// Stops every process and removes the namespaces now, from another thread (Ctrl-C), before the tool exits.
    public func abort() {
        cluster?.stop()
        lab?.tearDown()
    }

    private static func makeLab(_ mode: NetworkMode) throws -> (NetworkLab?, String) {
        switch mode {
        case .loopback:
            return (nil, "loopback (no partitions)")
        case .namespaces:
            if let reason = NetworkLab.unavailableReason() {
                throw ChildProcessError.unexpected("network namespaces unavailable: \(reason)")
            }
            return (try NetworkLab(), "a network namespace per process")
        case .automatic:
            if let reason = NetworkLab.unavailableReason() { return (nil, "loopback (no partitions: \(reason))") }
            return (try NetworkLab(), "a network namespace per process")
        }
    }

    // MARK: Chaos

    private func chaos(workload: CampaignWorkload) throws {
        let endMs = now() + Int64(configuration.chaosMs)
        let kinds = FaultKind.allCases.filter {
            (!$0.needsNetwork || cluster.lab != nil) && (!$0.needsDataDirectories || configuration.dataDirectories)
        }
        var nextTurnMs = now() + Int64(configuration.nemesisIntervalMs.lowerBound)
        while now() < endMs || (configuration.untilEveryFaultKind && now() < endMs + Int64(configuration.chaosMs)
                                    && configuration.faultsEnabled && kinds.contains { faults[$0] == nil })
        {
            try applyDueEnds()
            let view = observeView()
            if configuration.faultsEnabled && now() >= nextTurnMs {
                let snapshot = self.snapshot(view, sharedKeys: workload.currentContendedKeys)
                if let fault = nemesis.next(snapshot, random: &random) {
                    try inject(fault, rebalancing: view.map { $0.everyoneSyncedTo < $0.epoch } ?? true)
                }
                nextTurnMs = now() + Int64(Int.random(in: configuration.nemesisIntervalMs, using: &random))
            }
            usleep(useconds_t(Self.pollIntervalMs * 1_000))
        }
    }

    /// Reads the view, checks that epochs never go back, and renews the data-loss budget once stable.
    private func observeView() -> ViewDescription? {
        countViewLeaderAbleTime()
        guard let view = cluster.view() else { return nil }
        if let floor = epochBeforeStateLoss {
            if view.epoch > floor {
                note("view \(view.epoch): the viewleader moved above epoch \(floor), the highest before it lost its state")
                epochBeforeStateLoss = nil
                lastEpoch = view.epoch
            }
        } else if view.epoch < lastEpoch {
            invariantViolations.append("the epoch went back from \(lastEpoch) to \(view.epoch)")
        }
        let memberIDs = Set(view.servers.map(\.id))
        for index in partialPartitions.indices where partialPartitions[index].resolvedMs == nil
            && partialPartitions[index].serverIDs.contains(where: { !memberIDs.contains($0) }) {
            partialPartitions[index].resolvedMs = now()
            let latencyMs = Int(now() - partialPartitions[index].startMs)
            partialPartitionResolutionsMs.append(latencyMs)
            note("  partial partition between \(partialPartitions[index].serverIDs.joined(separator: " and ")) "
                + "resolved by view \(view.epoch), \(latencyMs) ms after the cut")
        }
        if view.epoch != lastEpoch {
            note("view \(view.epoch): \(view.servers.count) servers, synced to \(view.everyoneSyncedTo)")
            cluster.copyViewLeaderState()
        }
        if epochBeforeStateLoss == nil { lastEpoch = max(lastEpoch, view.epoch) }
        if stabilityProblem(view) == nil { dataLossBudget = configuration.dataLosingFaultsMax }
        return view
    }

    /// Adds the time since the last look to each partial partition's time with a viewleader able to act: running,
    /// not cut off, not below the epoch it lost. Counted on every look, whether or not the viewleader answers:
    /// time it spent killed or paused must never count as time it could have resolved the cut in.
    private func countViewLeaderAbleTime() {
        let viewLeaderAble = cluster.viewLeaderState == .running && !viewLeaderIsolated && epochBeforeStateLoss == nil
        for index in partialPartitions.indices where viewLeaderAble {
            partialPartitions[index].viewLeaderAbleMs += now() - max(lastObservedMs, partialPartitions[index].startMs)
        }
        lastObservedMs = now()
    }

    /// Why the cluster is not stable (every running server a member, no one else, all synced to the current
    /// epoch, and quiet for longer than a lease since the last fault), or nil when it is.
    private func stabilityProblem(_ view: ViewDescription) -> String? {
        // A server excluded for a partial partition waits out its quarantine before it may join again.
        let quarantinedHosts = Set(view.quarantined.compactMap { splitAddress($0.address)?.host })
        let running = cluster.servers.indices.filter {
            cluster.servers[$0].state == .running && !quarantinedHosts.contains(cluster.servers[$0].machine.address)
        }
        let expected = Set(running.compactMap { cluster.currentID(of: $0) })
        let members = Set(view.servers.map(\.id))
        if !doomedMachines.isEmpty { return "servers \(doomedMachines.sorted()) are still down or cut off" }
        if !partialPartitions.isEmpty { return "\(partialPartitions.count) partial partition(s) in force" }
        // A report or an exclusion under way will cost a server its data, as a fault does.
        if let excluding = view.excluding { return "server \(excluding) is being excluded" }
        if view.suspicions > 0 { return "\(view.suspicions) report(s) of unreachable peers stand" }
        if let floor = epochBeforeStateLoss {
            return "the viewleader restarted without its latest state and is at epoch \(view.epoch), not yet above \(floor)"
        }
        if members != expected {
            return "view \(view.epoch) has \(members.sorted()), the running servers are \(expected.sorted())"
        }
        if view.everyoneSyncedTo < view.epoch { return "view \(view.epoch) is synced only to \(view.everyoneSyncedTo)" }
        let quietMs = now() - lastChangeMs
        if quietMs < Int64(configuration.leaseMs + Self.quietMarginMs) { return "the last fault was \(quietMs) ms ago" }
        return nil
    }

    private func snapshot(_ view: ViewDescription?, sharedKeys: [String]) -> CampaignSnapshot {
        let healthy = cluster.servers.indices.filter { cluster.servers[$0].state == .running && !doomedMachines.contains($0) }
        var machineByID: [String: Int] = [:]
        for machine in healthy { if let id = cluster.currentID(of: machine) { machineByID[id] = machine } }
        let memberIDs = view?.servers.map(\.id) ?? []
        let members = healthy.filter { machine in memberIDs.contains { machineByID[$0] == machine } }
        var primaries: [Int] = []
        if let view {
            let ring = HashRing(memberIDs: memberIDs, ringSize: view.ringSize)
            primaries = Set(sharedKeys.compactMap { ring.primary(forKey: $0).flatMap { machineByID[$0] } }).sorted()
        }
        return CampaignSnapshot(
            healthyMachines: healthy, memberMachines: members, primaryMachines: primaries,
            activeServerCount: cluster.servers.count { $0.state != .retired }, dataLossBudget: dataLossBudget,
            isStable: view.map { stabilityProblem($0) == nil } ?? false,
            viewLeaderHealthy: cluster.viewLeaderState == .running && !viewLeaderIsolated,
            networkFaultsPossible: cluster.lab != nil)
    }

    private func inject(_ fault: CampaignFault, rebalancing: Bool) throws {
        note("fault: \(fault.kind.rawValue) \(fault)\(rebalancing ? " (while rebalancing)" : "")")
        faults[fault.kind, default: 0] += 1
        if rebalancing { faultsDuringRebalancing[fault.kind, default: 0] += 1 }
        if fault.kind.losesData { dataLossBudget -= 1 }
        lastChangeMs = now()
        switch fault {
        case .killServer(let machine, let restartAfterMs):
            doomedMachines.insert(machine)
            cluster.killServer(machine, retiring: false)
            schedule(.restartServer(machine: machine), afterMs: restartAfterMs)
        case .pauseServer(let machine, let forMs, let pastLease):
            if pastLease { doomedMachines.insert(machine) }
            cluster.pauseServer(machine)
            schedule(.resumeServer(machine: machine), afterMs: forMs)
        case .removeServer(let machine):
            cluster.killServer(machine, retiring: true)
        case .joinServer:
            try joinServer()
        case .replaceServer(let machine):
            let joined = try joinServer()
            let admitted = waitUntilMember(joined, timeoutMs: 3 * configuration.leaseMs)
            note("  server \(joined) \(admitted ? "is in the view" : "not yet in the view"); removing server \(machine)")
            cluster.killServer(machine, retiring: true)
        case .killServerKeepingData(let machine, let restartAfterMs):
            doomedMachines.insert(machine)
            cluster.killServer(machine, retiring: false)
            schedule(.restartServerOnData(machine: machine), afterMs: restartAfterMs)
        case .killServerDuringSnapshot(let machine, let restartAfterMs):
            doomedMachines.insert(machine)
            let during = cluster.waitUntilWritingSnapshot(machine, timeoutMs: Self.snapshotWaitMs)
            cluster.killServer(machine, retiring: false)
            if during { killsDuringSnapshot += 1 }
            note(during ? "  killed while it wrote a snapshot"
                : "  no snapshot began within \(Self.snapshotWaitMs) ms; killed anyway")
            schedule(.restartServerOnData(machine: machine), afterMs: restartAfterMs)
        case .killEveryServer(let restartAfterMs):
            for machine in cluster.servers.indices where cluster.servers[machine].state == .running {
                doomedMachines.insert(machine)
                cluster.killServer(machine, retiring: false)
                schedule(.restartServerOnData(machine: machine), afterMs: restartAfterMs)
            }
        case .killViewLeader(let restartAfterMs, let restoring):
            cluster.killViewLeader()
            schedule(.restartViewLeader(restoring: restoring), afterMs: restartAfterMs)
        case .pauseViewLeader(let forMs):
            cluster.pauseViewLeader()
            schedule(.resumeViewLeader, afterMs: forMs)
        case .isolateServerFromViewLeader(let machine, let forMs):
            doomedMachines.insert(machine)
            cut(machine, from: [cluster.viewLeaderMachine.host].compactMap { $0 })
            schedule(.reconnectServer(machine: machine), afterMs: forMs)
        case .isolatePrimary(let machine, let forMs):
            doomedMachines.insert(machine)
            let peers = cluster.servers.indices.filter { $0 != machine && cluster.servers[$0].state != .retired }
            cut(machine, from: [cluster.viewLeaderMachine.host].compactMap { $0 }
                + peers.compactMap { cluster.servers[$0].machine.host })
            schedule(.rejoinPrimary(machine: machine), afterMs: forMs)
        case .isolateViewLeader(let forMs):
            viewLeaderIsolated = true
            cut(-1, from: cluster.servers.filter { $0.state != .retired }.compactMap(\.machine.host))
            schedule(.reconnectViewLeader, afterMs: forMs)
        case .cutLink(let first, let second, let forMs):
            if let a = cluster.servers[first].machine.host, let b = cluster.servers[second].machine.host {
                cluster.lab?.cut(a, b)
            }
            schedule(.healLink(first, second), afterMs: forMs)
        case .cutLinkLong(let first, let second, let forMs):
            if let a = cluster.servers[first].machine.host, let b = cluster.servers[second].machine.host {
                cluster.lab?.cut(a, b)
            }
            watchPartialPartition([first, second], forMs: forMs)
            schedule(.healLongLink(first, second), afterMs: forMs)
        case .cutLinkOneWay(let from, let to, let forMs):
            if let a = cluster.servers[from].machine.host, let b = cluster.servers[to].machine.host {
                cluster.lab?.cutOneWay(from: a, to: b)
            }
            watchPartialPartition([from, to], forMs: forMs)
            schedule(.healOneWay(from: from, to: to), afterMs: forMs)
        case .joinServerWithLinkCut(let member, let forMs):
            let joined = try cluster.joinServer { machine in
                if let lab = cluster.lab, let joining = machine.host, let other = cluster.servers[member].machine.host {
                    lab.cut(joining, other)
                }
            }
            let admitted = waitUntilMember(joined, timeoutMs: 3 * configuration.leaseMs)
            note("  server \(joined) \(admitted ? "is in the view" : "not yet in the view"), cut from server \(member)")
            watchPartialPartition([joined, member], forMs: forMs)
            schedule(.healLongLink(joined, member), afterMs: forMs)
        }
    }

    /// Starts watching the cut between two machines that lasts `forMs` from now (see `endPartialPartition`).
    private func watchPartialPartition(_ machines: [Int], forMs: Int) {
        let ids = machines.compactMap { cluster.currentID(of: $0) }
        var shareRanges = false
        if let view = cluster.view(), ids.count == 2 {
            let ring = HashRing(memberIDs: view.servers.map(\.id), ringSize: view.ringSize)
            let replicas = ids.map { ring.replicaSet(forPosition: HashRing.position(of: $0, ringSize: view.ringSize)) }
            shareRanges = replicas[0].contains(ids[1]) || replicas[1].contains(ids[0])
        }
        partialPartitions.append(PartialPartition(machines: machines, serverIDs: ids, startMs: now(), durationMs: forMs,
                                                  shareRanges: shareRanges))
    }

    /// The cut between `machines` healed. One during which the viewleader could act for four leases and that never
    /// changed the view is a violation: the writes to the keys the two share (the clients write keys all over the
    /// ring) waited for the whole cut. Detection, the decision and the excluded server's lease take about two.
    private func endPartialPartition(_ machines: [Int]) {
        guard let index = partialPartitions.firstIndex(where: { $0.machines == machines }) else { return }
        let watch = partialPartitions.remove(at: index)
        if watch.resolvedMs == nil && watch.shareRanges && watch.viewLeaderAbleMs >= 4 * Int64(configuration.leaseMs) {
            invariantViolations.append("servers \(watch.serverIDs.joined(separator: " and ")) could not reach each "
                + "other for \(watch.durationMs) ms while both reached the viewleader (which could act for "
                + "\(watch.viewLeaderAbleMs) ms of it), and the view never dropped either: writes to the keys they "
                + "share waited for the whole cut")
        }
    }

    /// Polls the view until the server on `machine` is a member; false if it is not within `timeoutMs`.
    private func waitUntilMember(_ machine: Int, timeoutMs: Int) -> Bool {
        let deadline = now() + Int64(timeoutMs)
        while now() < deadline {
            if let id = cluster.currentID(of: machine), let view = observeView(), view.servers.contains(where: { $0.id == id }) {
                return true
            }
            usleep(useconds_t(Self.pollIntervalMs * 1_000) / 5)
        }
        return false
    }

    /// Cuts a server's machine (or the viewleader's, for -1) from each of `peers`, remembering them for the heal.
    /// Starts a server on a new machine. While the viewleader is cut off from every server, the new machine is on
    /// the servers' side of that cut too: were the viewleader to hear it, the isolation would be one from *some*
    /// servers, which may expire two of them (seeds 2000 and 2003 lost ranges that way, with two more servers
    /// removed on top by the data-loss budget).
    @discardableResult
    private func joinServer() throws -> Int {
        try cluster.joinServer { machine in
            guard viewLeaderIsolated, let lab = cluster.lab, let viewLeader = host(-1), let joining = machine.host else {
                return
            }
            lab.cut(viewLeader, joining)
            isolatedFrom[-1, default: []].append(joining)
        }
    }

    private func cut(_ machine: Int, from peers: [NetworkLab.Host]) {
        guard let lab = cluster.lab, let host = self.host(machine) else { return }
        for peer in peers { lab.cut(host, peer) }
        isolatedFrom[machine] = peers
    }

    private func reconnect(_ machine: Int) {
        guard let lab = cluster.lab, let host = self.host(machine) else { return }
        for peer in isolatedFrom.removeValue(forKey: machine) ?? [] { lab.heal(host, peer) }
    }

    private func host(_ machine: Int) -> NetworkLab.Host? {
        machine < 0 ? cluster.viewLeaderMachine.host : cluster.servers[machine].machine.host
    }

    private func schedule(_ end: CampaignFaultEnd, afterMs: Int) {
        pendingEnds.append((now() + Int64(afterMs), end))
    }

    private func applyDueEnds() throws {
        let due = pendingEnds.filter { $0.dueMs <= now() }
        pendingEnds.removeAll { $0.dueMs <= now() }
        for (_, end) in due { try apply(end) }
    }

    private func apply(_ end: CampaignFaultEnd) throws {
        note("fault ends: \(end)")
        lastChangeMs = now()
        switch end {
        case .restartServer(let machine):
            if cluster.servers[machine].state == .crashed { try cluster.startServer(machine) }
            doomedMachines.remove(machine)
        case .restartServerOnData(let machine):
            if cluster.servers[machine].state == .crashed { try cluster.startServer(machine, keepingData: true) }
            doomedMachines.remove(machine)
        case .resumeServer(let machine):
            cluster.resumeServer(machine)
            doomedMachines.remove(machine)
        case .reconnectServer(let machine), .rejoinPrimary(let machine):
            reconnect(machine)
            doomedMachines.remove(machine)
        case .restartViewLeader(let restoring):
            let floor = lastEpoch
            if try cluster.restartViewLeader(restoring: restoring) {
                epochBeforeStateLoss = max(epochBeforeStateLoss ?? -1, floor)
                note("  the viewleader restarted from \(restoring == .none ? "no state file" : "an older state file")")
            }
        case .resumeViewLeader:
            cluster.resumeViewLeader()
        case .reconnectViewLeader:
            reconnect(-1)
            viewLeaderIsolated = false
        case .healLink(let first, let second):
            if let a = cluster.servers[first].machine.host, let b = cluster.servers[second].machine.host {
                cluster.lab?.heal(a, b)
            }
        case .healLongLink(let first, let second):
            if let a = cluster.servers[first].machine.host, let b = cluster.servers[second].machine.host {
                cluster.lab?.heal(a, b)
            }
            endPartialPartition([first, second])
        case .healOneWay(let from, let to):
            if let a = cluster.servers[from].machine.host, let b = cluster.servers[to].machine.host {
                cluster.lab?.healOneWay(from: a, to: b)
            }
            endPartialPartition([from, to])
        }
    }

    // MARK: The end

    /// Ends every fault now: the settling starts from a whole cluster, less the servers removed for good.
    private func healEverything() throws {
        let ends = pendingEnds.sorted { $0.dueMs < $1.dueMs }
        pendingEnds.removeAll()
        for (_, end) in ends { try apply(end) }
        cluster.lab?.healAll()
        isolatedFrom.removeAll()
        viewLeaderIsolated = false
    }

    /// Waits until the cluster is stable; returns what still kept it from being so at the deadline.
    private func settle() -> String? {
        var deadline = now() + Int64(configuration.settleTimeoutMs)
        // A server excluded for a partial partition waits out its quarantine (at most 32 leases) before it may
        // join again; the cluster has the usual time to settle after that.
        let latest = deadline + Int64(32 * configuration.leaseMs)
        var problem = "the viewleader never answered"
        while now() < deadline {
            if let view = observeView() {
                guard let found = stabilityProblem(view) else { return nil }
                problem = found
                if let quarantineMs = view.quarantined.map(\.remainingMs).max() {
                    deadline = min(latest, max(deadline, now() + quarantineMs + Int64(configuration.settleTimeoutMs)))
                }
            }
            usleep(useconds_t(Self.pollIntervalMs * 1_000))
        }
        return "the cluster did not settle within \(configuration.settleTimeoutMs / 1000) s: \(problem)"
    }

    /// Reads each key that ever had an acknowledged write or delete, through the client library as any client.
    private func readEveryAcknowledgedKey(_ history: [RecordedOperation], as process: Int)
        -> ([String: FinalReadAudit.FinalRead], [RecordedOperation])
    {
        let client = ReplicatedClient(viewLeaderHost: cluster.viewLeaderAddress, viewLeaderPort: cluster.viewLeaderPort,
                                      timeoutMs: 2 * configuration.clientTimeoutMs,
                                      retryBudgetMs: configuration.finalReadBudgetMs, key: cluster.clientKey)
        var reads: [String: FinalReadAudit.FinalRead] = [:]
        var operations: [RecordedOperation] = []
        var unreadable = 0
        for key in FinalReadAudit.acknowledgedKeys(history) {
            guard unreadable < Self.unreadableKeysMax else {
                reads[key] = .unreadable("not tried after \(unreadable) unreadable keys")
                continue
            }
            let (operation, _) = CampaignWorkload.perform(.read(key), process: process, client: client)
            operations.append(operation)
            if operation.outcome == .ok, case .read(let observed) = operation.kind {
                reads[key] = .found(observed)
            } else {
                unreadable += 1
                reads[key] = .unreadable("no server answered within \(configuration.finalReadBudgetMs / 1000) s")
            }
        }
        note("final read: \(reads.count) keys")
        return (reads, operations)
    }

    private func now() -> Int64 { MonotonicClock.nowMs() }

    private func note(_ line: String) {
        let stamped = "[\(String(format: "%7.2f", Double(now() - startedAtMs) / 1000))] \(line)"
        log.append(stamped)
        trace?(stamped)
    }
}
