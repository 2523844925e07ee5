import Placement
import Wire

/// Something the shell must carry out for the core: the core itself never does I/O.
public enum ViewLeaderEffect: Equatable, Sendable {
    /// A line for the operator's log (stderr).
    case log(String)
    /// Write this state to stable storage before replying: the view changed.
    case persist(ViewLeaderState)
    /// Tell these servers ("host:port") that `epoch` exists, so they fetch the view without waiting for a
    /// heartbeat; a lost notice only delays them, since heartbeat replies carry the epoch too.
    case announce(epoch: Int64, addresses: [String])
}

/// The viewleader's decisions: heartbeats, views and locks, as one value driven by requests and ticks.
///
/// Every entry point takes `nowMs` (monotonic milliseconds) and returns its reply and effects as data.
public struct ViewLeaderCore: Sendable {
    /// The commands this process serves, for the error reply to an unknown one.

    public private(set) var membership: Membership
    public private(set) var locks: LockTable
    /// Members that report each other unreachable, and the one being excluded (see `SuspicionBoard`).
    public private(set) var suspicions: SuspicionBoard
    /// Addresses whose servers keep joining, reported once a window.
    private var flaps = FlapWatch()

    /// Ring size announced in every view, so members can never disagree on it.
    public let ringSize: Int
    /// The latest time any event brought; a much later one means this process was not running in between.
    private var lastEventMs: Int64
    /// When any server last heartbeated (stalled time excluded); a long silence from all of them at once means
    /// this viewleader is cut off, not that they all failed.
    private var lastHeartbeatHeardMs: Int64
    /// Expiry is on hold because no server has been heard for `isolationSilenceMs`.
    private var expiryHeld = false
    /// When this process started (the core was made). For one lease after it, heartbeat replies report no epoch
    /// as synced by everyone (`all_synced_epoch` -1), so no server serves a moved range yet: a viewleader that lost
    /// its state cannot know yet whether servers of an earlier life hold the data, nor whether one of them still
    /// serves under a lease its predecessor granted. Every such lease has run out one lease after the start.
    private let startedMs: Int64
    /// The last time this process renewed a lease (answered a heartbeat `ok`); `startedMs` before any.
    private var lastLeaseGrantMs: Int64
    /// Set while this viewleader cannot trust its view and renews no lease: confirming a restored view, or
    /// recovering after a server reported a later epoch (see `ViewRecovery`).
    public private(set) var recovery: ViewRecovery?

    /// How often the shell must call `tick`: a lapsed lease is noticed within this much of expiring.
    public static func tickIntervalMs(leaseMs: Int64) -> Int64 {
        max(10, min(250, leaseMs / 10))
    }

    /// A silence longer than this between events means the viewleader itself was stopped or starved (SIGSTOP, a
    /// stalled VM, swapping): with ticks due every `tickIntervalMs`, it cannot be a quiet spell.
    public static func stallMsMin(leaseMs: Int64) -> Int64 { 4 * tickIntervalMs(leaseMs: leaseMs) }

    /// Silence from every server for this long means the viewleader itself may be cut off from them (a partition, a dead network interface): live servers heartbeat many times a lease, and
    /// every member failing within one heartbeat interval of the others is far less likely. Half a lease: the
    /// first lease to lapse in such a silence lapses after at least this long.
    public static func isolationSilenceMs(leaseMs: Int64) -> Int64 { leaseMs / 2 }

    public init(leaseMs: Int64, lockWaiterTimeoutMs: Int64, ringSize: Int = HashRing.defaultRingSize,
                restoring saved: ViewLeaderState? = nil, nowMs: Int64 = 0) {
        membership = saved.map { Membership(leaseMs: leaseMs, restoring: $0, nowMs: nowMs) }
            ?? Membership(leaseMs: leaseMs)
        locks = LockTable(waiterTimeoutMs: lockWaiterTimeoutMs)
        suspicions = SuspicionBoard(leaseMs: leaseMs)
        self.ringSize = ringSize
        lastEventMs = nowMs
        lastHeartbeatHeardMs = nowMs
        startedMs = nowMs
        lastLeaseGrantMs = nowMs
        if let saved, !saved.members.isEmpty {
            recovery = ViewRecovery(confirming: Set(saved.members.map(\.id)), epoch: saved.epoch, startedMs: nowMs,
                                    leaseMs: leaseMs)
        }
    }

    /// Answers one request from a peer at `peerHost`.
    public mutating func handle(_ request: Request, peerHost: String, nowMs: Int64)
        throws(RequestError) -> (reply: JSONValue, effects: [ViewLeaderEffect])
    {
        let epochBefore = membership.epoch
        let stall = noticeStall(nowMs: nowMs)
        var (reply, effects) = try dispatch(request, peerHost: peerHost, nowMs: nowMs)
        effects = stall + effects
        if membership.epoch != epochBefore {
            effects.insert(.persist(membership.state), at: 0)
            effects.append(announcement())
        }
        return (reply, effects)
    }

    private mutating func dispatch(_ request: Request, peerHost: String, nowMs: Int64)
        throws(RequestError) -> (reply: JSONValue, effects: [ViewLeaderEffect])
    {
        switch try ViewLeaderRequest(request) {
        case .heartbeat(let beat): return heartbeat(beat, peerHost: peerHost, nowMs: nowMs)
        case .queryServers: return (queryServers(nowMs: nowMs), [])
        case .lockGet(let lockID, let requestor): return lockGet(lockID, by: requestor, nowMs: nowMs)
        case .lockRelease(let lockID, let requestor): return lockRelease(lockID, by: requestor)
        case .suspect(let report): return (suspect(report, nowMs: nowMs), [])
        }
    }

    /// Advances time: expires lapsed leases (releasing their locks), ends a recovery that has gathered for a
    /// lease, and drops silent lock waiters.
    public mutating func tick(nowMs: Int64) -> [ViewLeaderEffect] {
        let stall = noticeStall(nowMs: nowMs) + noticeIsolation(nowMs: nowMs)
        if recovery != nil { return stall + advanceRecovery(nowMs: nowMs) + dropSilentWaiters(nowMs: nowMs) }
        let heldBefore = membership.heldIDs
        let changes = expiryHeld ? [] : membership.expire(nowMs: nowMs)
        var effects = changes.isEmpty ? stall : [ViewLeaderEffect.persist(membership.state)] + stall
        for id in membership.heldIDs.subtracting(heldBefore).sorted() {
            effects.append(.log("server \(id)'s lease lapsed, but \(membership.expiredSinceSynced) members already "
                + "left since every member last synced: it stays in the view, serving nothing, until the others "
                + "have copied its ranges (or it is silent for \(Membership.heldExpiryLeasesMax) leases more)"))
        }
        effects += apply(changes, nowMs: nowMs)
        if !changes.isEmpty { effects.append(announcement()) }
        return effects + decideSuspicions(nowMs: nowMs) + dropSilentWaiters(nowMs: nowMs)
    }

    // MARK: Partial partitions

    /// A member's report that it cannot reach another. Noted only from a live member about a live member in the
    /// current epoch, outside a recovery; the reply says whether it was (`noted`) and, if not, why.
    private mutating func suspect(_ report: ViewLeaderRequest.Suspicion, nowMs: Int64) -> JSONValue {
        func setAside(_ reason: String) -> JSONValue { ["status": "ok", "noted": false, "reason": .string(reason)] }
        guard recovery == nil else { return setAside("the viewleader is confirming or recovering its view") }
        guard report.epoch == membership.epoch else {
            return setAside("the report is for epoch \(report.epoch); the view is at \(membership.epoch)")
        }
        guard membership.members[report.requestor] != nil, membership.members[report.peer] != nil else {
            return setAside("the reporter and the peer must both be live members")
        }
        guard suspicions.record(reporter: report.requestor, peer: report.peer, unreachableMs: report.unreachableMs,
                                nowMs: nowMs)
        else { return setAside("one of the two is already being excluded") }
        return ["status": "ok", "noted": true]
    }

    /// Excludes one member of a standing report once its reports have gathered (see `SuspicionBoard`).
    private mutating func decideSuspicions(nowMs: Int64) -> [ViewLeaderEffect] {
        let members = membership.members.mapValues { (address: $0.address, syncedEpoch: $0.syncedEpoch) }
        let mayExclude = membership.expiredSinceSynced < Membership.unsyncedExpiriesMax
        guard let decision = suspicions.decide(members: members, mayExclude: mayExclude, nowMs: nowMs) else {
            return []
        }
        let report = decision.report
        let other = decision.excluded == report.peer ? report.reporter : report.peer
        let counts = decision.counterparts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return [.log("server \(report.reporter) cannot reach server \(report.peer) (unanswered for "
            + "\(report.unreachableMs) ms) though both heartbeat: excluding \(decision.excluded) at "
            + "\(members[decision.excluded]!.address), not \(other) (peers each cannot reach: "
            + counts.joined(separator: ", ") + "). Its lease is not renewed, so it leaves the view within "
            + "\(membership.leaseMs) ms; a server at its address may join again after \(decision.quarantineMs) ms "
            + "more")]
    }

    private mutating func dropSilentWaiters(nowMs: Int64) -> [ViewLeaderEffect] {
        locks.dropSilentWaiters(nowMs: nowMs).map { lockID, requestor in
            .log("lock \"\(lockID)\": waiter \(requestor) stopped asking and lost its place")
        }
    }

    // MARK: Recovery from older state

    /// The line that says why this viewleader stopped renewing leases: `id` reported a later epoch.
    private func recoveryStarted(reportedEpoch: Int64, by id: String, at address: String, formsAtMs: Int64,
                                 nowMs: Int64) -> ViewLeaderEffect {
        .log("server \(id) at \(address) reports epoch \(reportedEpoch), but this viewleader is at epoch "
            + "\(membership.epoch): the state it started from is older than the cluster's, or was lost. Renewing no "
            + "lease and gathering heartbeats for \(max(0, formsAtMs - nowMs)) ms, until every lease granted before "
            + "has run out, then forming epoch \(reportedEpoch + 1) or above from every server heard")
    }

    /// Ends a confirmation that is due or complete, and forms the recovered view once it may.
    private mutating func advanceRecovery(nowMs: Int64) -> [ViewLeaderEffect] {
        guard var gathering = recovery else { return [] }
        switch gathering.phase {
        case .confirming:
            guard gathering.epochHeard > membership.epoch || gathering.confirmationEnds(nowMs: nowMs) else {
                return []
            }
            guard gathering.epochHeard > membership.epoch else {
                recovery = nil
                return [.log("restored view of epoch \(membership.epoch) confirmed: \(gathering.heard.count) server(s) "
                    + "heard since the restart, none at a later epoch")]
            }
            gathering.startRecovering(nowMs: nowMs, leasesGrantedUntilMs: lastLeaseGrantMs,
                                      leaseMs: membership.leaseMs)
            recovery = gathering
            guard case .recovering(_, let formsAtMs) = gathering.phase else { preconditionFailure("just set") }
            return [.log("a server reported epoch \(gathering.epochHeard), above the restored epoch "
                + "\(membership.epoch): the saved state is older than the cluster's. Forming epoch "
                + "\(gathering.epochHeard + 1) or above in \(max(0, formsAtMs - nowMs)) ms from every server heard")]
        case .recovering:
            guard gathering.recoveryEnds(nowMs: nowMs) else { return [] }
            return formRecoveredView(gathering, nowMs: nowMs)
        }
    }

    /// Forms the view of every server a recovery heard, above every epoch reported.
    private mutating func formRecoveredView(_ gathered: ViewRecovery, nowMs: Int64) -> [ViewLeaderEffect] {
        recovery = nil
        let previous = membership
        membership = Membership(recovered: gathered, previous: previous, nowMs: nowMs)
        var effects: [ViewLeaderEffect] = [.persist(membership.state)]
        let members = membership.membersByAddress.map { member in
            "\(member.id) at \(member.address)\(gathered.heard[member.id] == nil ? " (not heard)" : "")"
        }
        effects.append(.log("epoch \(membership.epoch): recovered view, above every epoch reported (highest "
            + "\(gathered.epochHeard)), of the members of epoch \(gathered.latestReportedView?.epoch ?? -1) and every "
            + "server heard: " + (members.isEmpty ? "none" : members.joined(separator: ", "))))
        for member in previous.membersByAddress where membership.members[member.id] == nil {
            effects.append(.log("server \(member.id) at \(member.address), in the state this viewleader started from, "
                + "is in no view the cluster reported and was not heard: it is not in the new view"))
            for (lockID, outcome) in locks.releaseAll(of: [member.id, member.address]) {
                effects.append(.log(describe(lockID, outcome, member: member)))
            }
        }
        effects.append(announcement())
        return effects
    }

    /// After a stall, no server could be heard however often it heartbeated, so the stalled time does not count
    /// against anyone's lease: expiring them all on waking would throw away every replica at once. Extending a
    /// lease here is always safe, since it only makes the viewleader wait longer before moving on.
    private mutating func noticeStall(nowMs: Int64) -> [ViewLeaderEffect] {
        let silenceMs = nowMs - lastEventMs
        lastEventMs = max(lastEventMs, nowMs)
        guard silenceMs > Self.stallMsMin(leaseMs: membership.leaseMs) else { return [] }
        membership.extendLeases(byMs: silenceMs)
        lastHeartbeatHeardMs += silenceMs
        return [.log("heard nothing for \(silenceMs) ms: this process was stopped or starved, so every lease is "
            + "extended by as much rather than expired")]
    }

    /// While no server at all is heard, leases lapse only because this viewleader is cut off: expiring the
    /// members one by one would empty the view and throw away every replica (a real-process campaign that
    /// cut the viewleader off from every server found exactly that). Expiry waits until a server is heard
    /// again; then every lease is extended by the silence, so each member has a full lease to get through.
    /// This holds for a single member too: it may hold the last copy of every key (simulation seed 895 lost
    /// everything when a sole survivor was expired while the viewleader was cut off), and if it is dead, the
    /// next server to heartbeat ends the silence and it expires a lease later.
    private mutating func noticeIsolation(nowMs: Int64) -> [ViewLeaderEffect] {
        let silenceMs = nowMs - lastHeartbeatHeardMs
        let isolated = !membership.members.isEmpty && silenceMs > Self.isolationSilenceMs(leaseMs: membership.leaseMs)
        guard isolated != expiryHeld else { return [] }
        expiryHeld = isolated
        return isolated
            ? [.log("heard no server for \(silenceMs) ms: this viewleader seems cut off from all "
                + "\(membership.members.count) members, so no lease expires until one is heard again")]
            : []
    }

    /// A heartbeat ends any silence: after one long enough to hold expiry, every lease restarts from now.
    private mutating func noteHeartbeatHeard(nowMs: Int64) -> [ViewLeaderEffect] {
        defer { lastHeartbeatHeardMs = max(lastHeartbeatHeardMs, nowMs) }
        let noticed = noticeIsolation(nowMs: nowMs)
        guard expiryHeld else { return noticed }
        let silenceMs = nowMs - lastHeartbeatHeardMs
        expiryHeld = false
        membership.extendLeases(byMs: silenceMs)
        return noticed + [.log("heard a server again after \(silenceMs) ms of silence from all of them: every lease is "
            + "extended by as much")]
    }

    private mutating func heartbeat(_ heartbeat: ViewLeaderRequest.Heartbeat, peerHost: String, nowMs: Int64)
        -> (reply: JSONValue, effects: [ViewLeaderEffect])
    {
        let id = heartbeat.requestor
        let host = heartbeat.host ?? peerHost
        let port = heartbeat.port
        let address = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let syncedEpoch = heartbeat.syncedEpoch
        let reportedEpoch = heartbeat.epoch
        let incarnation = heartbeat.incarnation
        let denied = membership.isDenied(id, incarnation: incarnation)
        var heard = noteHeartbeatHeard(nowMs: nowMs)
        if denied && recovery != nil { return (Self.denial(of: id, incarnation: incarnation), heard) }
        if recovery == nil && reportedEpoch > membership.epoch && !denied {
            let gathering = ViewRecovery(recoveringFrom: membership.epoch, reportedEpoch: reportedEpoch, nowMs: nowMs,
                                         leasesGrantedUntilMs: lastLeaseGrantMs, leaseMs: membership.leaseMs)
            guard case .recovering(_, let formsAtMs) = gathering.phase else { preconditionFailure("just made") }
            heard.append(recoveryStarted(reportedEpoch: reportedEpoch, by: id, at: address, formsAtMs: formsAtMs,
                                         nowMs: nowMs))
            recovery = gathering
        }
        if var gathering = recovery {
            gathering.hear(id: id, address: address, incarnation: incarnation, reportedEpoch: reportedEpoch,
                           reportedView: heartbeat.view.map { ($0.epoch, $0.members.map { ($0.id, $0.address) }) },
                           nowMs: nowMs)
            recovery = gathering
            if !gathering.isRecovering
                && (gathering.confirmationEnds(nowMs: nowMs) || gathering.epochHeard > membership.epoch) {
                heard += advanceRecovery(nowMs: nowMs)
            }
            if let stillGathering = recovery { return (Self.gatheringReply(stillGathering, nowMs: nowMs), heard) }
        }
        if suspicions.isExcluding(id), membership.members[id]?.address == address {
            membership.heardWithoutRenewing(id, syncedEpoch: syncedEpoch, nowMs: nowMs)
            return (HeartbeatReply.retry(reason: "this server is being excluded from the view: a peer cannot reach "
                + "it (see the viewleader's log); its lease is not renewed, and it may join again under a new ID "
                + "after a quarantine", epoch: membership.epoch, reportView: nil).json, heard)
        }
        if membership.members[id] == nil, !denied,
           let untilMs = suspicions.quarantinedUntil(address, nowMs: nowMs) {
            return (HeartbeatReply.retry(reason: "\(address) is quarantined for \(untilMs - nowMs) ms more: the "
                + "server there was excluded because a peer could not reach it", epoch: membership.epoch,
                                         reportView: nil).json, heard)
        }
        let (outcome, changes) = membership.heartbeat(id: id, address: address, incarnation: incarnation, nowMs: nowMs,
                                                      syncedEpoch: syncedEpoch)
        let effects = heard + apply(changes, nowMs: nowMs)
        switch outcome {
        case .accepted(let epoch):
            lastLeaseGrantMs = nowMs
            let withheld = nowMs - startedMs < membership.leaseMs
            return (HeartbeatReply.accepted(epoch: epoch, leaseMs: membership.leaseMs,
                                            allSyncedEpoch: withheld ? -1 : membership.everyoneSyncedTo).json, effects)
        case .denied(let why):
            return (Self.denial(of: id, incarnation: incarnation, why), effects)
        case .addressTaken(let epoch, let holder):
            let reason = holder.isEmpty
                ? "the view is full (limit \(ViewLeaderRequest.membersMax) servers)"
                : "\(address) is held by live server \(holder) until its lease expires"
            return (HeartbeatReply.retry(reason: reason, epoch: epoch, reportView: nil).json, effects)
        }
    }

    /// The answer to a heartbeat while this viewleader renews no lease.
    private static func gatheringReply(_ gathering: ViewRecovery, nowMs: Int64) -> JSONValue {
        let reason: String
        switch gathering.phase {
        case .confirming(_, let untilMs):
            reason = "the viewleader restarted and is confirming its restored view of epoch \(gathering.ownEpoch) "
                + "with its members (at most \(max(0, untilMs - nowMs)) ms more)"
        case .recovering(_, let formsAtMs):
            reason = "the viewleader is recovering a view above epoch \(gathering.epochHeard) after starting from older "
                + "state; it forms one in \(max(0, formsAtMs - nowMs)) ms"
        }
        // While recovering, the view each server serves tells who holds the data; servers send it when asked.
        return HeartbeatReply.retry(reason: reason, epoch: nil, reportView: gathering.isRecovering).json
    }

    private static func denial(of id: String, incarnation: Int64, _ why: Denial = .expired) -> JSONValue {
        switch why {
        case .expired where incarnation == 0:
            return HeartbeatReply.denied(reason: "lease of server \(id) expired; register again under a new ID").json
        case .expired:
            return HeartbeatReply.denied(reason: "incarnation \(incarnation) of server \(id) expired; register again "
                + "as a later incarnation or under a new ID").json
        case .replaced(let current):
            return HeartbeatReply.denied(reason: "incarnation \(incarnation) of server \(id) was replaced by "
                + "incarnation \(current); this process must stop serving and register again as a later incarnation "
                + "or under a new ID").json
        }
    }

    private func queryServers(nowMs: Int64) -> JSONValue {
        ViewDescription(epoch: membership.epoch, ringSize: ringSize, servers: membership.membersByAddress.map {
            ViewDescription.Server(id: $0.id, address: $0.address, syncedEpoch: $0.syncedEpoch,
                                   position: HashRing.position(of: $0.id, ringSize: ringSize),
                                   lastHeartbeatAgeMs: max(0, nowMs - $0.lastHeartbeatMs))
        }, quarantined: suspicions.quarantined.compactMap { address, quarantine in
            quarantine.untilMs > nowMs
                ? ViewDescription.Quarantine(address: address, remainingMs: quarantine.untilMs - nowMs) : nil
        }, excluding: suspicions.excluding?.id, suspicions: suspicions.reports.count).json
    }

    private mutating func lockGet(_ lockID: String, by requestor: String, nowMs: Int64)
        -> (reply: JSONValue, effects: [ViewLeaderEffect])
    {
        let reply: LockReply = switch locks.acquire(lockID, by: requestor, nowMs: nowMs) {
        case .granted: .granted
        case .queued(let position): .queued(position: position)
        case .refused(let reason): .refused(reason)
        }
        return (reply.json, [])
    }

    private mutating func lockRelease(_ lockID: String, by requestor: String)
        -> (reply: JSONValue, effects: [ViewLeaderEffect])
    {
        let reply: LockReply = switch locks.release(lockID, by: requestor) {
        case .released, .withdrawn: .released
        case .unknown: .unknown
        }
        return (reply.json, [])
    }

    private func announcement() -> ViewLeaderEffect {
        .announce(epoch: membership.epoch, addresses: membership.membersByAddress.map(\.address))
    }

    /// Turns view changes into log lines, releasing the locks of every server that expired.
    private mutating func apply(_ changes: [ViewChange], nowMs: Int64) -> [ViewLeaderEffect] {
        var effects: [ViewLeaderEffect] = []
        for change in changes {
            switch change {
            case .joined(let member, let epoch):
                effects.append(.log("epoch \(epoch): server \(member.id) joined at \(member.address)"))
                if let count = flaps.joined(address: member.address, nowMs: nowMs) {
                    effects.append(.log(FlapWatch.report(address: member.address, count: count,
                                                         leaseMs: membership.leaseMs)))
                }
            case .expired(let member, let epoch):
                effects.append(.log("epoch \(epoch): server \(member.id) at \(member.address) expired"))
                effects += releaseLocks(of: member)
            case .restarted(let previous, let member, let epoch):
                effects.append(.log("epoch \(epoch): server \(member.id) restarted at \(member.address) as incarnation "
                    + "\(member.incarnation) (was \(previous.incarnation) at \(previous.address)): same ring position, "
                    + "and it syncs its ranges before it serves"))
                effects += releaseLocks(of: previous)
            }
        }
        return effects
    }

    /// A member that left, or whose process was replaced, holds no lock any more.
    private mutating func releaseLocks(of member: Member) -> [ViewLeaderEffect] {
        locks.releaseAll(of: [member.id, member.address]).map { .log(describe($0, $1, member: member)) }
    }

    private func describe(_ lockID: String, _ outcome: LockTable.ReleaseOutcome, member: Member) -> String {
        switch outcome {
        case .released(let next):
            return "lock \"\(lockID)\" released from expired server \(member.id)"
                + (next.map { "; passed to \($0)" } ?? "")
        case .withdrawn, .unknown:
            return "expired server \(member.id) withdrawn from the queue for lock \"\(lockID)\""
        }
    }
}
