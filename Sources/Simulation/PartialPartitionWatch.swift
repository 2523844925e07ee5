import Placement

/// A partial partition the nemesis made (two servers that cannot reach each other, both still reaching the
/// viewleader), watched until the view drops one of the two, and until a write to a key they share is served.
struct PartialPartitionWatch: Equatable {
    /// The two servers' IDs when the cut began.
    let serverIDs: [String]
    let machines: [Int]
    let startMs: Int64
    /// The event count when the cut began: operations are stamped with event counts.
    let startEvent: Int64
    let endMs: Int64
    /// The workload's keys with one of the two servers as primary and the other as a backup when the cut began.
    let sharedKeys: Set<String>
    /// When the viewleader's view first lacked one of the two; nil while both are in it.
    var resolvedMs: Int64?
    /// When a write to a shared key, sent after the cut began, was first acknowledged; nil until one was.
    var writeServedMs: Int64?
    let leaseMs: Int64
    /// Time during the cut when the viewleader could act on reports: running, not recovering, not cut off.
    var viewLeaderAbleMs: Int64 = 0

    /// Whether the view must have dropped one of the two by the cut's end: the clients write the keys the two
    /// share all the time, so the cut is noticed one call time after it begins, decided on a check interval
    /// later, and the excluded server's lease runs out within one more; four leases of a viewleader able to act
    /// leave room to spare. (With no shared key, nothing may cross the link, and nothing need change.)
    var mustHaveResolved: Bool { !sharedKeys.isEmpty && viewLeaderAbleMs >= 4 * leaseMs }
}

extension Simulation {
    /// Starts watching the cut between `first` and `second` that lasts `forMs` from now.
    func watchPartialPartition(_ first: Int, _ second: Int, forMs: Int64) {
        let ids = [servers[first].node.serverID, servers[second].node.serverID]
        let ring = HashRing(memberIDs: Array(viewLeader.core?.membership.members.keys ?? [:].keys),
                            ringSize: configuration.ringSize)
        // Writes cross the link only where one of the two is the key's primary and the other a backup.
        let shared = keys.filter { key in
            let replicas = ring.replicaSet(forKey: key)
            return replicas.first.map(ids.contains) == true && ids.allSatisfy(replicas.contains)
        }
        partialPartitions.append(PartialPartitionWatch(
            serverIDs: ids, machines: [first, second], startMs: nowMs, startEvent: Int64(eventCount),
            endMs: nowMs + forMs, sharedKeys: Set(shared), leaseMs: configuration.leaseMs))
    }

    /// A write to `key` sent at event `invokedAtEvent` was acknowledged now.
    func notePartialPartitionWriteServed(key: String, invokedAtEvent: Int64) {
        for index in partialPartitions.indices where partialPartitions[index].writeServedMs == nil
            && partialPartitions[index].sharedKeys.contains(key)
            && invokedAtEvent >= partialPartitions[index].startEvent {
            partialPartitions[index].writeServedMs = nowMs
            partialPartitionWriteGapsMs.append(nowMs - partialPartitions[index].startMs)
        }
    }

    /// After every event: a watched cut is resolved once the view lacks one of its two servers; the time the
    /// viewleader could act is counted.
    func notePartialPartitionsResolved(sinceMs previousMs: Int64) {
        guard !partialPartitions.isEmpty, let core = viewLeader.core else { return }
        let able = viewLeader.state == .running && core.recovery == nil
            && !servers.indices.contains { network.isCut(.viewLeader, .server($0)) }
        let members = core.membership.members
        if able {
            for index in partialPartitions.indices { partialPartitions[index].viewLeaderAbleMs += nowMs - previousMs }
        }
        for index in partialPartitions.indices where partialPartitions[index].resolvedMs == nil {
            if partialPartitions[index].serverIDs.contains(where: { members[$0] == nil }) {
                partialPartitions[index].resolvedMs = nowMs
                partialPartitionResolutionsMs.append(nowMs - partialPartitions[index].startMs)
            }
        }
    }

    /// How much longer the cluster gets to settle because of partial partitions: the usual settling time after
    /// the last quarantine ends (an exclusion under way, or reports that may lead to one, first take a lease and
    /// start a quarantine); nil when none held anyone back recently enough.
    func partialPartitionSettleMs() -> Int64? {
        guard let suspicions = viewLeader.core?.suspicions else { return nil }
        let afterQuarantineMs = suspicions.quarantined.values.map { $0.untilMs + configuration.settleMs - nowMs }
            .max() ?? 0
        let afterExclusionMs = suspicions.excluding != nil || !suspicions.reports.isEmpty
            ? configuration.leaseMs + suspicions.quarantineMs(strikes: 5) + configuration.settleMs : 0
        let waitMs = max(afterQuarantineMs, afterExclusionMs)
        return waitMs > 0 ? waitMs : nil
    }

    /// The cut between `machines` healed: it ends its watch, and fails the run if it lasted long enough to
    /// have to change the view and did not (the writes to the keys the two share waited for the whole cut).
    func endPartialPartition(_ machines: [Int]) {
        guard let index = partialPartitions.firstIndex(where: { $0.machines == machines }) else { return }
        let watch = partialPartitions.remove(at: index)
        let durationMs = watch.endMs - watch.startMs
        if watch.resolvedMs == nil && phase == .chaos && watch.mustHaveResolved {
            violation = "servers \(watch.serverIDs.joined(separator: " and ")) could not reach each other for "
                + "\(durationMs) ms while both reached the viewleader (which could act for \(watch.viewLeaderAbleMs) "
                + "ms of it), and the view never dropped either: writes to the keys they share "
                + "(\(watch.sharedKeys.sorted().joined(separator: ", "))) waited for the whole cut"
        }
    }
}
