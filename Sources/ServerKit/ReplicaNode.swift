import Durability
import Placement
import Wire

/// Identifies a request the shell is waiting to answer; chosen by the shell, echoed back in `.reply`.
public struct RequestToken: Hashable, Sendable {
    public let raw: UInt64

    public init(_ raw: UInt64) { self.raw = raw }
}

/// Identifies one message the node sent to a peer and awaits an answer to.
public struct CallID: Hashable, Sendable {
    public let raw: UInt64
}

/// A reminder the node asked for; the shell hands it back to `wake(_:)` once the delay has passed.
public enum Alarm: Equatable, Sendable {
    /// Ask `peer` again for the page after `after` of the sync at `epoch`.
    case retryPull(peer: String, epoch: Int64, after: String?)
    /// Ask the viewleader for the view again.
    case refetchView
}

/// What the replica node asks its shell to do, in order.
public enum ReplicaAction: Equatable, Sendable {
    /// Answer request `token` with `reply`.
    case reply(RequestToken, ServerReply)
    /// Send `message` to the peer at `address`; hand its answer, or nil when none came, to `peerAnswered`.
    case call(CallID, address: String, message: ServerRequest)
    /// Ask the viewleader for the view (`query_servers`); hand the result to `viewFetched`.
    case fetchView
    /// After `delayMs`, call `wake` with `alarm`.
    case wake(afterMs: Int64, Alarm)
    /// Report this synced epoch in heartbeats from now on (-1: none).
    case publishSyncedEpoch(Int64)
    /// Report this as the highest epoch known in heartbeats from now on: the epoch of the view this server adopted,
    /// or a later one a peer or the viewleader mentioned.
    case publishKnownEpoch(Int64)
    /// The view this server adopted, for heartbeats to a viewleader that asks for it while recovering (nil: none).
    case publishView(ViewDescription?)
    /// Tell the viewleader that calls to `peer` have gone unanswered for `unreachableMs` (`suspect`), in `epoch`.
    case reportSuspect(peer: String, epoch: Int64, unreachableMs: Int64)
    /// A line for the operator's log.
    case log(String)
}

/// The replicated side of a server as one state machine: requests, peer answers, views and alarms in; replies,
/// peer messages and alarms out.
///
/// Pure: it owns a `ReplicaCore` (which keeps each write's one record) and the bookkeeping around it (the sync in
/// progress, the view fetch), reads no clock and does no I/O. `ReplicaDriver` runs it, in the real server over
/// sockets and the loop's timers and in the simulator over a seeded network and clock.
public struct ReplicaNode: Sendable {
    /// Pause before asking a peer again after a failed or refused pull.
    public static let pullRetryMs: Int64 = 50
    /// Pause before asking the viewleader again after a failed view fetch.
    public static let viewFetchRetryMs: Int64 = 100
    /// Time a peer has to answer one server-to-server request before the call counts as failed.
    public static let peerCallTimeoutMs: Int64 = 1_000
    /// Time allowed to connect to the viewleader and hear its `query_servers` answer.
    public static let viewFetchTimeoutMs: Int64 = 1_000

    public private(set) var core: ReplicaCore
    private var sync: SyncRun?
    private var calls: [CallID: PendingCall] = [:]
    private var nextCallID: UInt64 = 1
    private var fetchingView = false
    private var fetchAgain = false
    /// The highest epoch this server knows exists: its view's, or one a peer or the viewleader mentioned (not a
    /// client, whose epochs come from the viewleader anyway). Kept across a restart under a fresh ID.
    public private(set) var knownEpoch: Int64 = -1

    /// A sync in progress: who has yet to answer, and how many entries have arrived (each page is merged into
    /// the store as it arrives, so a large move never holds every pulled entry twice).
    ///
    /// Peers are asked one after another, each request saying what the store already holds (`summaries`): a
    /// server new to a range copies it from the first peer that has it, and the other replicas then send only
    /// positions where they hold something different (a write its primary abandoned), not the range again.
    struct SyncRun {
        let epoch: Int64
        let ranges: [PositionRange]
        /// `ranges` cut into what one pull request may list (`RecordLimits.pullRangesPerRequestMax`): almost always
        /// one batch; each peer is asked for every batch in turn.
        let batches: [ArraySlice<PositionRange>]
        /// The batch being pulled from the first of `remaining`.
        var batch = 0
        /// Peers yet to answer, in the order they are asked; the first is being pulled from.
        var remaining: [String]
        var entriesPulled = 0
        /// Peers whose pulls failed in this sync (each failure is logged once).
        var peersFailing: Set<String> = []
    }

    /// What an outstanding call was for, to whom, and when it was sent.
    enum PendingCall {
        case replicate(PendingWriteID, backup: String, sentMs: Int64)
        case pull(peer: String, epoch: Int64, after: String?, sentMs: Int64)
    }

    /// Peers whose calls go unanswered, reported to the viewleader (see `PeerReachability`).
    private var reachability = PeerReachability()
    /// The latest time an event brought; stamps calls sent from paths that are not handed the time.
    private var latestMs: Int64 = 0

    /// How much sooner than the viewleader a server considers its own lease over: a fifth of the lease, so
    /// scheduling delays and clock-rate differences never let a server serve after it has been expired.
    public static func leaseMarginMs(leaseMs: Int64) -> Int64 { leaseMs / 5 }

    /// Sizes of keys and values, and so of the pull pages this node writes.
    public let recordLimits: RecordLimits

    public init(serverID: String, ringSize: Int = HashRing.defaultRingSize, recordLimits: RecordLimits = .standard,
                store: VersionedStore? = nil) {
        core = ReplicaCore(serverID: serverID, ringSize: ringSize, store: store)
        self.recordLimits = recordLimits
    }

    /// The replicated store's changes since the last call, as log entries.
    public mutating func takeJournal() -> [LogEntry] { core.takeJournal() }

    public var serverID: String { core.serverID }

    // MARK: Membership

    /// A heartbeat sent at `sentMs` was accepted in `epoch`.
    public mutating func heartbeatAccepted(sentMs: Int64, epoch: Int64, leaseMs: Int64, allSyncedEpoch: Int64)
        -> [ReplicaAction]
    {
        latestMs = max(latestMs, sentMs)
        core.renewLease(sentMs: sentMs, leaseMs: leaseMs, marginMs: Self.leaseMarginMs(leaseMs: leaseMs),
                        epoch: epoch)
        core.forgetExpiredWriteIDs(nowMs: sentMs)
        var actions = observe(mentioned: epoch)
        if core.view.epoch < 0 { actions += fetchView() }
        core.noteEveryoneSynced(allSyncedEpoch)
        return actions
    }

    /// The viewleader denied our ID: start over as a new, empty member under `freshID`.
    ///
    /// Call IDs go on from where they were, never repeating in a process: answers to the old incarnation's calls
    /// may still arrive, and one taken for a new call would complete a pull that never happened.
    /// With a data directory, `freshID` is the same ID (registered as a later incarnation).
    public mutating func restart(as freshID: String) -> [ReplicaAction] {
        // In write order, so the answers do not depend on dictionary order (the simulator replays by seed).
        var actions = core.pendingWrites.values.sorted { $0.id.raw < $1.id.raw }.map {
            ReplicaAction.reply($0.token, ReplicationMessages.retry(.noView, epoch: -1, maybeApplied: true))
        }
        actions += [.publishSyncedEpoch(-1), .publishView(nil)]
        let callIDsUsed = nextCallID
        let epochKnown = knownEpoch
        let timeKnown = latestMs
        let ringSize = core.view.ring.ringSize
        // A logged store starts over empty in the log too: its last changes, then everything dropped.
        var emptied: VersionedStore?
        if core.store.isJournaling {
            var store = VersionedStore(ringSize: ringSize)
            store.startJournaling(continuing: core.takeJournal() + [.dropped([PositionRange(0, ringSize - 1)])])
            emptied = store
        }
        self = ReplicaNode(serverID: freshID, ringSize: ringSize, recordLimits: recordLimits, store: emptied)
        nextCallID = callIDsUsed
        knownEpoch = epochKnown
        latestMs = timeKnown
        return actions
    }

    // MARK: Requests

    /// Answers a replicated request (`getr`, `setr`/`delr`, `replicate`, `pull`, `view_change`) now or later, through
    /// `.reply(token, _)`; throws, before changing anything, when a field is malformed for this server's ring.
    public mutating func handle(_ request: ServerRequest, token: RequestToken, nowMs: Int64)
        throws(RequestError) -> [ReplicaAction]
    {
        latestMs = max(latestMs, nowMs)
        switch request {
        case .getr(let key, let epoch):
            return readActions(key, epoch: epoch, token, nowMs: nowMs)
        case .write(let key, let value, let epoch, let writeID, let resent):
            return write(key, value: value, epoch: epoch, writeID: writeID, resent: resent, token, nowMs: nowMs)
        case .replicate(let key, let entry, let writeID, let epoch):
            return applyReplicated(key, entry: entry, writeID: writeID, epoch: epoch, token, nowMs: nowMs)
        case .pull(let pull):
            return try servePull(pull, token)
        case .viewChange(let epoch):
            return [.reply(token, .ok)] + observe(mentioned: epoch)
        case .print, .set, .get, .queryAllKeys:
            preconditionFailure("\(request) is not a replicated request")
        }
    }

    private mutating func readActions(_ key: String, epoch: Int64, _ token: RequestToken, nowMs: Int64)
        -> [ReplicaAction]
    {
        switch core.read(key, epoch: epoch, nowMs: nowMs) {
        case .value(let entry):
            guard let value = entry?.value else { return [.reply(token, .notFound)] }
            return [.reply(token, .value(value))]
        case .refuse(let refusal, let effects):
            return [.reply(token, ReplicationMessages.retry(refusal, epoch: core.view.epoch))] + carryOut(effects)
        }
    }

    private mutating func write(_ key: String, value: String?, epoch: Int64, writeID: WriteID?, resent: Bool,
                                _ token: RequestToken, nowMs: Int64) -> [ReplicaAction]
    {
        switch core.write(key, value: value, writeID: writeID, resent: resent, epoch: epoch, nowMs: nowMs,
                          answering: token) {
        case .committedAlone:
            return [.reply(token, .ok)]
        case .alreadyApplied:
            return [.reply(token, .deduplicated)]
        case .superseded(let older, let latest):
            return [.reply(token, .error("write \(older) is older than this client's latest write to the key "
                + "(sequence \(latest)); a client retries only its latest write, so it is not applied"))]
        case .outcomeForgotten(let forgotten):
            return [.reply(token, ReplicationMessages.outcomeForgotten(forgotten))]
        case .refuse(let refusal, let effects):
            let reply = ReplicationMessages.retry(refusal, epoch: core.view.epoch, maybeApplied: refusal == .writeInFlight)
            return [.reply(token, reply)] + carryOut(effects)
        case .replicate(let write):
            let message = ServerRequest.replicate(key: write.key, entry: write.entry, writeID: write.writeID,
                                                  epoch: write.epoch)
            var actions: [ReplicaAction] = []
            for backup in write.backups {
                guard let address = core.view.addresses[backup] else {
                    actions += backupAnswered(write.id, .refused(backup: backup), epoch: nil, nowMs: nowMs)
                    continue
                }
                actions.append(call(.replicate(write.id, backup: backup, sentMs: nowMs), address: address,
                                    message: message))
            }
            return actions
        }
    }

    private mutating func applyReplicated(_ key: String, entry: VersionedEntry, writeID: WriteID?, epoch: Int64,
                                          _ token: RequestToken, nowMs: Int64) -> [ReplicaAction]
    {
        guard let refusal = core.applyReplicated(key, entry: entry, writeID: writeID, epoch: epoch, nowMs: nowMs) else {
            return [.reply(token, .ok)]
        }
        return [.reply(token, ReplicationMessages.retry(refusal, epoch: core.view.epoch))] + observe(mentioned: epoch)
    }

    private mutating func servePull(_ pull: PullRequest, _ token: RequestToken) throws(RequestError) -> [ReplicaAction] {
        let ringSize = Int64(core.view.ring.ringSize)
        guard pull.ranges.allSatisfy({ $0.high < ringSize }) else { throw PullRequest.badRanges }
        guard pull.have.allSatisfy({ $0.position < ringSize }) else { throw PullRequest.badHave }
        let ranges = pull.ranges.map { PositionRange(Int($0.low), Int($0.high)) }
        var have: [Int: VersionedStore.BucketSummary] = [:]
        for held in pull.have { have[Int(held.position)] = .init(count: Int(held.count), digest: held.digest) }
        switch core.entries(in: ranges, epoch: pull.epoch, after: pull.after, pullerHas: have,
                            bytesMax: recordLimits.pullPageBytesMax) {
        case .success(let page):
            return [.reply(token, .page(PullPage(entries: page.entries, more: page.more)))]
        case .failure(let refusal):
            return [.reply(token, ReplicationMessages.retry(refusal, epoch: core.view.epoch))]
                + observe(mentioned: pull.epoch)
        }
    }

    // MARK: Answers and alarms

    /// The peer answered call `id` with `reply`, or nil when the call failed (no connection, timeout).
    public mutating func peerAnswered(_ id: CallID, reply: JSONValue?, nowMs: Int64) -> [ReplicaAction] {
        latestMs = max(latestMs, nowMs)
        guard let call = calls.removeValue(forKey: id) else { return [] }
        // A pull's page reads as `.ok` here and is decoded by `PullPage`; an unreadable reply counts as none.
        let answer = reply.flatMap { try? ServerReply($0) }
        switch call {
        case .replicate(let pendingID, let backup, let sentMs):
            let reachable = noteCall(to: backup, answered: reply != nil, sentMs: sentMs, nowMs: nowMs)
            let outcome: BackupAnswer = answer == .ok ? .accepted
                : reply == nil ? .silent(backup: backup) : .refused(backup: backup)
            return reachable + backupAnswered(pendingID, outcome, epoch: answer?.mentionedEpoch, nowMs: nowMs)
        case .pull(let peer, let epoch, let after, let sentMs):
            let reachable = noteCall(to: peer, answered: reply != nil, sentMs: sentMs, nowMs: nowMs)
            let page = answer == .ok ? reply?.objectValue : nil
            // A refusal to retry is the protocol at work (the peer has not reached this epoch yet); anything else
            // (no answer, an error such as a frame over the peer's limit) is worth a line in the log.
            let failure: String? = switch answer {
            case .ok, .retry?: nil
            case .error(let reason)?: reason
            case nil: reply == nil ? "no answer" : "an unreadable reply"
            case let other?: "an unexpected reply \(other)"
            }
            return reachable + pulled(from: peer, epoch: epoch, after: after, page: page, failure: failure,
                                      mentioned: answer?.mentionedEpoch, nowMs: nowMs)
        }
    }

    /// Keeps track of which peers answer; a peer whose calls have failed for long enough is reported to the
    /// viewleader, and each episode is logged when it is first reported and when it ends.
    private mutating func noteCall(to peer: String, answered: Bool, sentMs: Int64, nowMs: Int64) -> [ReplicaAction] {
        let decision = answered ? reachability.callAnswered(by: peer, sentMs: sentMs, nowMs: nowMs)
            : reachability.callFailed(to: peer, sentMs: sentMs, nowMs: nowMs)
        switch decision {
        case .nothing:
            return []
        case .report(let peer, let unreachableMs, let firstReport):
            guard core.view.epoch >= 0, core.view.addresses[peer] != nil else { return [] }
            let report = ReplicaAction.reportSuspect(peer: peer, epoch: core.view.epoch, unreachableMs: unreachableMs)
            guard firstReport else { return [report] }
            return [.log("cannot reach peer \(peer) at \(core.view.addresses[peer] ?? "?"): its calls have gone "
                + "unanswered for \(unreachableMs) ms; reporting it to the viewleader"), report]
        case .reachableAgain(let peer, let unreachableMs, let wasReported):
            guard wasReported else { return [] }
            // Withdrawn at once: a report left standing could exclude a server that is reachable again.
            return [.log("peer \(peer) answers again after \(unreachableMs) ms unreachable; withdrawing the report"),
                    .reportSuspect(peer: peer, epoch: core.view.epoch, unreachableMs: 0)]
        }
    }

    /// The viewleader described the view, or nil when it could not be asked.
    public mutating func viewFetched(_ description: ViewDescription?, nowMs: Int64) -> [ReplicaAction] {
        latestMs = max(latestMs, nowMs)
        fetchingView = false
        var actions: [ReplicaAction] = []
        if let description {
            let view = ServerView(epoch: description.epoch,
                                  addresses: Dictionary(description.servers.map { ($0.id, $0.address) },
                                                        uniquingKeysWith: { first, _ in first }),
                                  syncedEpochs: Dictionary(description.servers.map { ($0.id, $0.syncedEpoch) },
                                                           uniquingKeysWith: { first, _ in first }),
                                  ringSize: description.ringSize)
            // A view without us is one we were expired from; the heartbeat's denial restarts us.
            if view.ring.ringSize == core.view.ring.ringSize && view.addresses[core.serverID] != nil {
                let effects = core.adopt(view)
                if !effects.isEmpty {
                    reachability.keepOnly(view.addresses.keys)
                    actions.append(.log("adopted view of epoch \(view.epoch) with \(view.addresses.count) server(s)"))
                    actions += learn(epoch: view.epoch) + [.publishView(description)]
                }
                actions += carryOut(effects)
            }
        } else {
            fetchAgain = true
        }
        if fetchAgain {
            fetchAgain = false
            actions.append(.wake(afterMs: Self.viewFetchRetryMs, .refetchView))
        }
        return actions
    }

    public mutating func wake(_ alarm: Alarm, nowMs: Int64) -> [ReplicaAction] {
        latestMs = max(latestMs, nowMs)
        switch alarm {
        case .refetchView: return fetchView()
        case .retryPull(let peer, let epoch, let after): return pull(from: peer, epoch: epoch, after: after)
        }
    }

    // MARK: Internals

    private mutating func backupAnswered(_ id: PendingWriteID, _ answer: BackupAnswer, epoch: Int64?, nowMs: Int64)
        -> [ReplicaAction]
    {
        var actions = epoch.map { observe(mentioned: $0) } ?? []
        switch core.backupAnswered(id, answer, nowMs: nowMs) {
        case nil:
            break
        case .committed(let token):
            actions.insert(.reply(token, .ok), at: 0)
        case .abandoned(let token, let failure):
            let retry = ReplicationMessages.retry(failure.refusal, epoch: core.view.epoch, maybeApplied: true)
            actions.insert(.reply(token, retry), at: 0)
        }
        return actions
    }

    /// The viewleader or a peer mentioned `epoch`: remember it as known, and fetch the view if it is newer.
    private mutating func observe(mentioned epoch: Int64) -> [ReplicaAction] {
        learn(epoch: epoch) + carryOut(core.observe(epoch: epoch))
    }

    /// Raises `knownEpoch` to `epoch`, publishing it for the heartbeat when it rises.
    private mutating func learn(epoch: Int64) -> [ReplicaAction] {
        guard epoch > knownEpoch else { return [] }
        knownEpoch = epoch
        return [.publishKnownEpoch(epoch)]
    }

    private mutating func carryOut(_ effects: [ReplicaEffect]) -> [ReplicaAction] {
        var actions: [ReplicaAction] = []
        for effect in effects {
            switch effect {
            case .fetchView: actions += fetchView()
            case .sync(let epoch, let ranges, let peers): actions += startSync(epoch: epoch, ranges: ranges, peers: peers)
            }
        }
        return actions
    }

    /// Asks the viewleader for the view; a request made while one is in flight is served by one more fetch.
    private mutating func fetchView() -> [ReplicaAction] {
        guard !fetchingView else {
            fetchAgain = true
            return []
        }
        fetchingView = true
        return [.fetchView]
    }

    private mutating func call(_ purpose: PendingCall, address: String, message: ServerRequest) -> ReplicaAction {
        let id = CallID(raw: nextCallID)
        nextCallID += 1
        calls[id] = purpose
        return .call(id, address: address, message: message)
    }

    private mutating func startSync(epoch: Int64, ranges: [PositionRange], peers: [String]) -> [ReplicaAction] {
        let perRequest = recordLimits.pullRangesPerRequestMax
        let batches = stride(from: 0, to: max(1, ranges.count), by: perRequest).map {
            ranges[$0..<min($0 + perRequest, ranges.count)]
        }
        sync = SyncRun(epoch: epoch, ranges: ranges, batches: batches, remaining: peers)
        guard let first = peers.first else { return finishSyncIfDone() }
        return pull(from: first, epoch: epoch, after: nil)
    }

    private mutating func pull(from peer: String, epoch: Int64, after: String?) -> [ReplicaAction] {
        guard let run = sync, run.epoch == epoch, let address = core.view.addresses[peer] else { return [] }
        // What the puller holds is a hint to skip; it is cut to what fits the frame beside the ranges, keeping the
        // positions the next pages cover first (a thousand spread keys made it 400 KB, over a 64 KiB frame).
        let ranges = Array(run.batches[run.batch])
        let have = core.store.summaries(in: ranges, after: after,
                                        limit: recordLimits.pullHeldPositionsMax(ranges: ranges.count))
        return [call(.pull(peer: peer, epoch: epoch, after: after, sentMs: latestMs), address: address,
                     message: ReplicationMessages.pull(epoch: epoch, ranges: ranges, after: after, have: have))]
    }

    /// A pull was answered with a page (`page`, its reply's fields) or not (nil: `failure` says why, `mentioned` is
    /// the epoch a refusal named). A sync that keeps failing is never silent: the first failure from each peer in
    /// a sync is logged.
    private mutating func pulled(from peer: String, epoch: Int64, after: String?, page fields: JSONObject?,
                                 failure: String?, mentioned: Int64?, nowMs: Int64) -> [ReplicaAction]
    {
        guard sync?.epoch == epoch else { return [] }
        let retry = ReplicaAction.wake(afterMs: Self.pullRetryMs, .retryPull(peer: peer, epoch: epoch, after: after))
        guard let fields else {
            var actions = mentioned.map { observe(mentioned: $0) } ?? []
            if let failure, sync?.peersFailing.insert(peer).inserted == true {
                actions.append(.log("syncing epoch \(epoch): pull from \(peer) failed (\(failure)); "
                    + "retrying every \(Self.pullRetryMs) ms"))
            }
            return actions + [retry]
        }
        let page: PullPage
        do {
            page = try PullPage(reply: fields)
        } catch {
            // A page with one unreadable entry is asked for again rather than merged without it: skipping an
            // entry could drop the last copy of a key.
            return [.log("peer \(peer) sent an unreadable pull page (\(error)); asking again"), retry]
        }
        let lastKey = page.entries.last?.key ?? after
        core.merge(pulled: page.entries, epoch: epoch, nowMs: nowMs)
        sync?.entriesPulled += page.entries.count
        if page.more { return pull(from: peer, epoch: epoch, after: lastKey) }
        if let run = sync, run.batch + 1 < run.batches.count {
            sync?.batch += 1
            return pull(from: peer, epoch: epoch, after: nil)
        }
        sync?.batch = 0
        sync?.remaining.removeAll { $0 == peer }
        if let next = sync?.remaining.first { return pull(from: next, epoch: epoch, after: nil) }
        return finishSyncIfDone()
    }

    private mutating func finishSyncIfDone() -> [ReplicaAction] {
        guard let run = sync, run.remaining.isEmpty else { return [] }
        sync = nil
        core.syncCompleted(epoch: run.epoch)
        return [.publishSyncedEpoch(run.epoch),
                .log("synced epoch \(run.epoch): pulled \(run.entriesPulled) entries in \(run.ranges.count) range(s)")]
    }
}
