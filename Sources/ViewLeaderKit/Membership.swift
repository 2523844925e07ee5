import Placement
import Wire

/// A live server as the viewleader sees it.
public struct Member: Equatable, Sendable {
    /// The server's self-chosen ID (the heartbeat's `requestor`, as text).
    public let id: String
    /// Where clients reach it, "host:port"; unique among live members.
    public let address: String
    /// Monotonic milliseconds of its last accepted heartbeat: its lease counts from here.
    public var lastHeartbeatMs: Int64
    /// Highest epoch the server reports having fully synced to; -1 until it says.
    public var syncedEpoch: Int64 = -1
    /// Monotonic milliseconds of the last heartbeat heard from it, renewed or not (a member being excluded
    /// heartbeats without renewing its lease): it is silent only when nothing is heard.
    public var lastHeardMs: Int64
    /// Which start of the server under this ID (0 for one that keeps no identity across restarts).
    public let incarnation: Int64

    public init(id: String, address: String, lastHeartbeatMs: Int64, syncedEpoch: Int64 = -1,
                incarnation: Int64 = 0) {
        self.id = id
        self.address = address
        self.incarnation = incarnation
        self.lastHeartbeatMs = lastHeartbeatMs
        self.syncedEpoch = syncedEpoch
        self.lastHeardMs = lastHeartbeatMs
    }
}

/// Why a heartbeat is denied.
public enum Denial: Equatable, Sendable {
    /// This incarnation of the ID (or a later one) expired.
    case expired
    /// A later incarnation of the ID is the live member now: this process was replaced.
    case replaced(by: Int64)
}

/// One change of the set of live servers; each one advanced the epoch by exactly one.
public enum ViewChange: Equatable, Sendable {
    case joined(Member, epoch: Int64)
    case expired(Member, epoch: Int64)
    /// A later incarnation of a live member registered: the process it replaces stopped (it holds nothing in
    /// memory, and is never renewed again); the new one takes the same ring position in a view of its own.
    case restarted(previous: Member, Member, epoch: Int64)
}

/// The viewleader's answer to one heartbeat.
public enum HeartbeatOutcome: Equatable, Sendable {
    /// The server is (now) a live member in this epoch.
    case accepted(epoch: Int64)
    /// This incarnation of the ID may never return, and must register under a new ID or a later incarnation.
    case denied(Denial)
    /// Another live member holds the address; the server should try again later.
    case addressTaken(epoch: Int64, holder: String)
}

/// Who is alive, by heartbeats and leases, and the epoch that counts changes to that set.
///
/// Expiry is paced by replication: at most `unsyncedExpiriesMax` members (two, with three replicas per key)
/// expire between moments when every live member has synced the current epoch. A further lapsed member stays in
/// the view, held, until the other members have synced the current epoch (copying its ranges), or until it has been
/// silent for `heldExpiryLeasesMax` leases more: removing a third replica of a range before rebalancing copied it would
/// drop the range's last copy, and a server that lapsed together with two others is more often slow (its
/// heartbeats stuck behind a healed partition) than gone. A held member serves nothing: its own lease lapsed.
///
/// A server that keeps its ID in a data directory returns under it as a later incarnation: after its expiry it joins
/// again (the expired incarnation and every earlier one stay denied); while its previous incarnation is still live,
/// the previous one is replaced in a new epoch (`ViewChange.restarted`), so the restarted server never issues
/// versions in an epoch its previous self issued versions in, and its synced epoch starts over (see PROTOCOL.md,
/// "Rejoining").
///
/// Pure: time arrives as `nowMs`, and nothing here reads a clock or touches a socket. Invariants, checked after
/// every event: the epoch only rises, live addresses are unique, and no live member is an incarnation that
/// expired.
public struct Membership: Sendable {
    /// Expired IDs remembered so they can be denied; beyond this the oldest are forgotten. Servers choose
    /// random 64-bit IDs when they start without a saved one, so a forgotten ID returning is not a practical
    /// concern.
    public static let expiredIDsRememberedMax = 100_000

    /// A member whose last heartbeat is older than this is expired.
    public let leaseMs: Int64
    /// Counts changes of the live set; starts at 0 and only rises.
    public private(set) var epoch: Int64 = 0
    /// Live members by ID.
    public private(set) var members: [String: Member] = [:]
    /// Members expired since every live member last synced the current epoch.
    public private(set) var expiredSinceSynced = 0
    /// Lapsed members kept in the view by the pacing rule.
    public private(set) var heldIDs: Set<String> = []
    /// Members that may expire between two fully synced views: one replica of every range survives.
    public static let unsyncedExpiriesMax = HashRing.replicationFactor - 1
    /// A held member silent for this many leases beyond its own expires anyway: it is gone, and so is any range
    /// it held the last copy of; the rest of the view must be able to move on (a sync pulls from every member,
    /// so a dead held member blocks the very sync that would release it). A slow member's heartbeat, stuck
    /// behind a healed partition, gets through well within two leases; the simulator's settling needs no more.
    public static let heldExpiryLeasesMax: Int64 = 2
    /// The latest incarnation of each expired ID that expired: it and every earlier one are denied.
    private var expiredIDs: [String: Int64] = [:]
    /// Expired IDs in the order they first expired, so the oldest can be forgotten first.
    private var expiredOrder: [String] = []

    public init(leaseMs: Int64) {
        precondition(leaseMs > 0, "lease must be positive")
        self.leaseMs = leaseMs
    }

    /// Membership as saved before a restart. Restored members get a fresh lease from `nowMs`: they were live
    /// when the viewleader stopped, and deserve the usual time to show they still are.
    public init(leaseMs: Int64, restoring state: ViewLeaderState, nowMs: Int64) {
        self.init(leaseMs: leaseMs)
        epoch = state.epoch
        for member in state.members {
            members[member.id] = Member(id: member.id, address: member.address, lastHeartbeatMs: nowMs,
                                        incarnation: member.incarnation)
        }
        for expired in state.expiredIDs { rememberExpired(expired.id, incarnation: expired.incarnation) }
        checkInvariants()
    }

    /// The view a recovery forms at `nowMs` (see `ViewRecovery`): the members of the latest view a server sent and
    /// every server heard, at an epoch above both this viewleader's and every epoch reported, keeping the denied
    /// IDs of `previous`. Every member gets a fresh lease from `nowMs`, as restored members do: no lease was renewed
    /// while the recovery gathered, so a lease counted from a member's last heartbeat would already have run out
    /// (the simulator found two live members expired the moment a recovered view formed).
    public init(recovered recovery: ViewRecovery, previous: Membership, nowMs: Int64) {
        self.init(leaseMs: previous.leaseMs)
        epoch = max(previous.epoch, recovery.epochHeard) + 1
        expiredIDs = previous.expiredIDs
        expiredOrder = previous.expiredOrder
        for member in recovery.heard.values where !isDenied(member.id, incarnation: member.incarnation) {
            members[member.id] = Member(id: member.id, address: member.address, lastHeartbeatMs: nowMs,
                                        incarnation: member.incarnation)
        }
        // A member only reported is taken as incarnation 0: if it is a later one, its next heartbeat replaces it in
        // a new epoch, which costs a view change and risks nothing.
        for (id, address) in recovery.latestReportedView?.members ?? [] where members.count < ViewLeaderRequest.membersMax {
            guard members[id] == nil, expiredIDs[id] == nil, !members.values.contains(where: { $0.address == address })
            else { continue }
            members[id] = Member(id: id, address: address, lastHeartbeatMs: nowMs)
        }
        checkInvariants()
    }

    /// What must survive a restart.
    public var state: ViewLeaderState {
        ViewLeaderState(epoch: epoch,
                        members: membersByAddress.map {
                            .init(id: $0.id, address: $0.address, incarnation: $0.incarnation)
                        },
                        expiredIDs: expiredOrder.map { .init(id: $0, incarnation: expiredIDs[$0]!) })
    }

    /// Live members ordered by address, the order `query_servers` reports.
    public var membersByAddress: [Member] {
        members.values.sorted { $0.address < $1.address }
    }

    /// Whether `incarnation` of `id` may never be a member again: it, or a later one, expired.
    public func isDenied(_ id: String, incarnation: Int64) -> Bool {
        expiredIDs[id].map { incarnation <= $0 } ?? false
    }

    /// The lowest synced epoch among live members: all of them hold their ranges as of this epoch.
    public var everyoneSyncedTo: Int64 { members.values.map(\.syncedEpoch).min() ?? -1 }

    /// Records a heartbeat from `incarnation` of `id` advertising `address`.
    public mutating func heartbeat(id: String, address: String, incarnation: Int64 = 0, nowMs: Int64,
                                   syncedEpoch: Int64 = -1) -> (outcome: HeartbeatOutcome, changes: [ViewChange])
    {
        defer { checkInvariants() }
        var changes = expire(nowMs: nowMs)
        if isDenied(id, incarnation: incarnation) { return (.denied(.expired), changes) }
        var replaced: Member?
        if let member = members[id], incarnation != member.incarnation {
            // An earlier incarnation is a process a later one replaced: it must stop, whatever it holds.
            guard incarnation > member.incarnation else {
                return (.denied(.replaced(by: member.incarnation)), changes)
            }
            members[id] = nil
            heldIDs.remove(id)
            replaced = member
        }
        if var member = members[id] {
            if member.address == address {
                member.lastHeartbeatMs = nowMs
                member.lastHeardMs = nowMs
                member.syncedEpoch = max(member.syncedEpoch, min(syncedEpoch, epoch))
                members[id] = member
                heldIDs.remove(id)
                noteSyncProgress()
                return (.accepted(epoch: epoch), changes)
            }
            // The same ID advertising a new address is a server that moved: it leaves and joins again.
            members[id] = nil
            heldIDs.remove(id)
            epoch += 1
            changes.append(.expired(member, epoch: epoch))
        }
        if let holder = members.values.first(where: { $0.address == address }) {
            if let replaced {
                epoch += 1
                changes.append(.expired(replaced, epoch: epoch))
            }
            return (.addressTaken(epoch: epoch, holder: holder.id), changes)
        }
        let member = Member(id: id, address: address, lastHeartbeatMs: nowMs, incarnation: incarnation)
        if let replaced {
            members[id] = member
            epoch += 1
            changes.append(.restarted(previous: replaced, member, epoch: epoch))
            return (.accepted(epoch: epoch), changes)
        }
        guard members.count < ViewLeaderRequest.membersMax else { return (.addressTaken(epoch: epoch, holder: ""), changes) }
        members[id] = member
        epoch += 1
        changes.append(.joined(member, epoch: epoch))
        return (.accepted(epoch: epoch), changes)
    }

    /// Removes members whose lease has run out, one epoch per member, oldest heartbeat first, as far as the
    /// pacing rule allows; holds the others (see the type's comment).
    public mutating func expire(nowMs: Int64) -> [ViewChange] {
        defer { checkInvariants() }
        noteSyncProgress()
        let lapsed = members.values
            .filter { nowMs - $0.lastHeartbeatMs > leaseMs }
            .sorted { ($0.lastHeartbeatMs, $0.id) < ($1.lastHeartbeatMs, $1.id) }
        var changes: [ViewChange] = []
        for member in lapsed {
            // A member still heard (one being excluded) is not gone: it may hold the last copy of a range.
            let silentTooLong = nowMs - member.lastHeardMs > leaseMs * (1 + Self.heldExpiryLeasesMax)
            guard expiredSinceSynced < Self.unsyncedExpiriesMax || silentTooLong else {
                heldIDs.insert(member.id)
                continue
            }
            heldIDs.remove(member.id)
            expiredSinceSynced += 1
            members[member.id] = nil
            rememberExpired(member.id, incarnation: member.incarnation)
            epoch += 1
            changes.append(.expired(member, epoch: epoch))
        }
        return changes
    }

    /// Once every member but the held ones has synced the current epoch, the held members' ranges are copied
    /// (a sync pulls from every member, held ones too), so the pacing starts over. With every member held, no
    /// one has copied anything.
    private mutating func noteSyncProgress() {
        let copying = members.values.filter { !heldIDs.contains($0.id) }
        if !copying.isEmpty && copying.allSatisfy({ $0.syncedEpoch >= epoch }) { expiredSinceSynced = 0 }
    }

    /// Moves every live member's last heartbeat `ms` later: time the viewleader could not hear them in.
    public mutating func extendLeases(byMs ms: Int64) {
        precondition(ms >= 0, "leases are only ever extended")
        for id in members.keys {
            members[id]!.lastHeartbeatMs += ms
            members[id]!.lastHeardMs += ms
        }
    }

    /// A heartbeat from member `id` was heard but renews nothing (it is being excluded): it is not silent, and
    /// its synced epoch still counts.
    public mutating func heardWithoutRenewing(_ id: String, syncedEpoch: Int64, nowMs: Int64) {
        guard var member = members[id] else { return }
        member.lastHeardMs = max(member.lastHeardMs, nowMs)
        member.syncedEpoch = max(member.syncedEpoch, min(syncedEpoch, epoch))
        members[id] = member
        noteSyncProgress()
    }

    private mutating func rememberExpired(_ id: String, incarnation: Int64) {
        if let earlier = expiredIDs[id] {
            expiredIDs[id] = max(earlier, incarnation)
            return
        }
        expiredIDs[id] = incarnation
        expiredOrder.append(id)
        if expiredOrder.count > Self.expiredIDsRememberedMax {
            let forgotten = expiredOrder.removeFirst()
            expiredIDs[forgotten] = nil
        }
    }

    private func checkInvariants() {
        precondition(epoch >= 0, "epoch went negative")
        precondition(Set(members.values.map(\.address)).count == members.count, "two live members share an address")
        precondition(members.values.allSatisfy { !isDenied($0.id, incarnation: $0.incarnation) },
                     "an expired incarnation is live")
        precondition(heldIDs.isSubset(of: members.keys), "a held ID is not a member")
    }
}
