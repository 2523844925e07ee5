import ServerKit
import Wire

/// The safety properties checked after every simulated event, with what it must remember between checks.
struct InvariantMonitor {
    /// Highest epoch the viewleader has shown, across its restarts (since the last that lost its state).
    private var viewLeaderEpochMax: Int64 = -1
    /// The members of each epoch's view, as the first server to serve in it saw them.
    private var viewMembers: [Int64: [String]] = [:]
    /// Highest view epoch each server ID has adopted.
    private var serverEpochMax: [String: Int64] = [:]
    /// Highest version a primary has acknowledged per key.
    private var acknowledgedVersions: [String: Version] = [:]

    /// The viewleader restarted from a lost or older state file: its epoch may go back until it hears from the
    /// cluster (it must then move above every epoch in use, which `viewOfEpoch` and settling check).
    mutating func viewLeaderLostState() {
        viewLeaderEpochMax = -1
    }

    /// One epoch names one view: every server that serves in epoch `epoch` sees the same members.
    mutating func viewOfEpoch(_ epoch: Int64, members: [String]) -> String? {
        guard let first = viewMembers[epoch] else {
            viewMembers[epoch] = members
            return nil
        }
        guard first == members else {
            return "epoch \(epoch) names two views: \(first) and \(members)"
        }
        return nil
    }

    /// The viewleader's epoch never goes back, not even across a restart that kept its state.
    mutating func viewLeaderEpoch(_ epoch: Int64) -> String? {
        defer { viewLeaderEpochMax = max(viewLeaderEpochMax, epoch) }
        guard epoch >= viewLeaderEpochMax else {
            return "the viewleader's epoch went back from \(viewLeaderEpochMax) to \(epoch)"
        }
        return nil
    }

    /// A server's view epoch never goes back.
    mutating func serverEpoch(_ epoch: Int64, of serverID: String) -> String? {
        let before = serverEpochMax[serverID] ?? -1
        guard epoch >= before else { return "server \(serverID)'s view went back from epoch \(before) to \(epoch)" }
        serverEpochMax[serverID] = epoch
        return nil
    }

    /// At any moment at most one server would serve a key: every other one refuses, whatever epoch it is in.
    ///
    /// Time only takes leases away, so a second server can start serving a key only in an event of its own (or
    /// by resuming): checking the server `candidate` of each event against the others covers every moment.
    func onePrimaryPerKey(_ keys: [String], newlyServing candidate: SimulatedServer, among servers: [SimulatedServer],
                          nowMs: Int64) -> String? {
        for key in keys where Self.serves(candidate, key, nowMs: nowMs) {
            for other in servers where other.machine != candidate.machine && other.state == .running
                && Self.serves(other, key, nowMs: nowMs) {
                return "two servers would serve \(key) as primary at once: \(candidate.node.serverID) in epoch "
                    + "\(candidate.node.core.view.epoch) and \(other.node.serverID) in epoch \(other.node.core.view.epoch)"
            }
        }
        return nil
    }

    /// Whether `server` would answer a read of `key` sent in its own epoch right now.
    static func serves(_ server: SimulatedServer, _ key: String, nowMs: Int64) -> Bool {
        let core = server.node.core
        guard case .value = core.read(key, epoch: core.view.epoch, nowMs: nowMs) else { return false }
        return true
    }

    mutating func acknowledged(_ version: Version, of key: String) {
        acknowledgedVersions[key] = max(acknowledgedVersions[key] ?? .zero, version)
    }

    /// Once rebalancing to `epoch` is done, every replica of a key holds its latest acknowledged write (or a newer
    /// one).
    func acknowledgedWritesOnReplicas(_ keys: [String], servers: [SimulatedServer], epoch: Int64) -> String? {
        guard let view = servers.first(where: { $0.state == .running && $0.node.core.view.epoch == epoch })?.node.core.view
        else { return "no running server is in epoch \(epoch), the one the cluster settled in" }
        for key in keys {
            guard let acknowledged = acknowledgedVersions[key] else { continue }
            for replica in view.ring.replicaSet(forKey: key) {
                guard let machine = view.addresses[replica].flatMap(SimulatedNetwork.machine(at:)) else { continue }
                let held = servers[machine].node.core.store[key]?.version
                if held.map({ $0 < acknowledged }) ?? true {
                    return "after rebalancing to epoch \(view.epoch), replica \(replica) of \(key) holds version "
                        + "\(held.map(String.init(describing:)) ?? "none") but \(acknowledged) was acknowledged"
                }
            }
        }
        return nil
    }
}
