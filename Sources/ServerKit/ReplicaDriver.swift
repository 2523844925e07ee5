import Durability
import Placement
import Wire

/// Runs one server's cores over a host: the only place that turns events into core calls and core actions into
/// host calls.
///
/// It owns the replica node, the heartbeat session and the classic store, and reacts to every event a server
/// sees: a client or peer request, a peer's answer, the viewleader's answer to a heartbeat or a view fetch, and a
/// timer. The real server runs it on its event loop over sockets (`SocketReplicaHost`); the simulator runs the
/// same driver over its seeded network and clock, so the heartbeat reaction and the execution of every action
/// are simulated exactly as they run. Confined to one thread; the host never re-enters it.
public final class ReplicaDriver<Host: ReplicaHost> {
    public let host: Host
    public let heartbeatIntervalMs: Int64
    /// The interval heartbeats go at: `heartbeatIntervalMs`, shortened once the lease is known if it is too long
    /// for it (`HeartbeatTiming.intervalMs`).
    public private(set) var effectiveHeartbeatIntervalMs: Int64
    public private(set) var node: ReplicaNode
    public private(set) var session: HeartbeatSession
    public private(set) var classic = ServerCore()
    /// What the node published for heartbeats.
    public private(set) var syncedEpoch: Int64 = -1
    public private(set) var knownEpoch: Int64 = -1
    public private(set) var adoptedView: ViewDescription?
    private var responders: [RequestToken: Host.Responder] = [:]
    private var nextToken: UInt64 = 1
    private var viewLeaderReachable = true
    /// True while the viewleader keeps answering `retry`; the first is logged, the rest until an `ok` are not (a
    /// recovering viewleader answers every heartbeat that way for about a lease).
    private var retrying = false

    /// The key and value sizes this server accepts, from its frame limit.
    public let recordLimits: RecordLimits
    /// The data this server holds before it refuses writes.
    public let memoryQuota: MemoryQuota

    /// The log every change reaches before any reply or heartbeat reveals it; nil when nothing is kept on disk.
    public private(set) var log: WriteAheadLog?
    /// Replies made while handling the current event; sent, or held for the log, once the event's changes are in
    /// it (`finishEvent`).
    private var eventReplies: [(responder: Host.Responder, reply: ServerReply)] = []
    /// Replies waiting for the log to reach `barrier`, oldest first (barriers never decrease), from `heldStart` on.
    private var heldReplies: [(barrier: UInt64, responder: Host.Responder, reply: ServerReply)] = []
    private var heldStart = 0
    /// A heartbeat is due (set by its timer; sent or held at the end of the event).
    private var heartbeatDue = false
    /// The barrier a due heartbeat waits for: it may report a synced epoch, which must not outrun the disk.
    private var heldHeartbeatBarrier: UInt64?
    /// True once a log write failed: nothing more is acknowledged.
    public private(set) var stoppedByDisk = false
    /// The free space the data directory keeps before writes are refused.
    public let diskReserve: DiskReserve
    /// Free bytes on the data directory's disk, as last measured (after recovery, then after each batch).
    public private(set) var diskFreeBytes = Int.max
    /// When a snapshot replaces the log.
    public let snapshotPolicy: SnapshotPolicy
    /// The size of the last snapshot written or recovered (0 when there is none).
    public private(set) var lastSnapshotBytes = 0
    /// A snapshot taken as the log began a new segment, waiting for the closed one to be synced.
    private var snapshotWaiting: StoreSnapshot?
    /// The snapshot the host is writing, and when it was handed over.
    private var snapshotWriting: (through: UInt64, startedMs: Int64)?
    /// Snapshots written since the start.
    public private(set) var snapshotsWritten = 0

    /// A driver whose node and classic store start from `recovered` (a data directory's contents, logged from now
    /// on), or empty and in memory only when it is nil.
    public init(host: Host, identity: ServerIdentity, port: Int, advertisedHost: String?, heartbeatIntervalMs: Int64,
                ringSize: Int = HashRing.defaultRingSize, recordLimits: RecordLimits = .standard,
                memoryQuota: MemoryQuota = .unlimited, recovered: RecoveredState? = nil,
                diskReserve: DiskReserve = .standard, snapshotPolicy: SnapshotPolicy = .standard) {
        self.host = host
        self.diskReserve = diskReserve
        self.snapshotPolicy = snapshotPolicy
        self.heartbeatIntervalMs = heartbeatIntervalMs
        effectiveHeartbeatIntervalMs = heartbeatIntervalMs
        self.recordLimits = recordLimits
        self.memoryQuota = memoryQuota
        node = ReplicaNode(serverID: identity.id, ringSize: ringSize, recordLimits: recordLimits,
                           store: recovered?.store)
        session = HeartbeatSession(identity: identity, port: port, advertisedHost: advertisedHost)
        if let recovered {
            classic = recovered.classic
            log = recovered.log
            diskFreeBytes = recovered.freeBytes
            lastSnapshotBytes = recovered.snapshotBytes
        }
    }

    public var serverID: String { node.serverID }
    /// The ID and incarnation this server heartbeats under.
    public var identity: ServerIdentity { session.identity }

    /// Keys of both stores, for `query_all_keys`, each once by its exact bytes, in byte order.
    public var allKeys: [String] {
        Set((classic.store.keys + node.core.store.liveKeys).map { ExactString($0) }).sorted().map(\.text)
    }

    /// Starts heartbeating: the first after `firstHeartbeatAfterMs`, then one interval after each answer.
    public func start(firstHeartbeatAfterMs: Int64 = 0) {
        host.startTimer(afterMs: firstHeartbeatAfterMs, .heartbeat)
        if log?.mode == .everysec { host.startTimer(afterMs: WriteAheadLog.everysecSyncIntervalMs, .logSync) }
    }

    // MARK: Events

    /// A request from a client or a peer; answered now or later through the host.
    public func receive(_ request: ServerRequest, from responder: Host.Responder) {
        defer { finishEvent() }
        do throws(RequestError) {
            try request.check(recordLimits)
        } catch {
            answer(responder, with: ServerReply(error))
            return
        }
        if let refusal = spaceRefusal(of: request) {
            answer(responder, with: .error(refusal))
            return
        }
        switch request {
        case .print, .set, .get:
            let (reply, logLine) = classic.handle(request)
            answer(responder, with: reply)
            if let logLine { host.log(logLine, .info) }
        case .queryAllKeys:
            answer(responder, with: .keys(fitting: allKeys, frameBytesMax: recordLimits.frameBytesMax))
        case .getr, .write, .replicate, .pull, .viewChange:
            let token = RequestToken(nextToken)
            nextToken += 1
            let actions: [ReplicaAction]
            do throws(RequestError) {
                actions = try node.handle(request, token: token, nowMs: host.nowMs)
            } catch {
                answer(responder, with: ServerReply(error))
                return
            }
            responders[token] = responder
            perform(actions)
        }
    }

    /// Bytes of data both stores hold, as the memory quota counts them.
    public var heldBytes: Int { classic.store.heldBytes + node.core.store.heldBytes }

    /// The refusal for a write that would take this server past its memory quota, or nil. Only writes that add a
    /// value are refused (deletes free memory), only where they would be applied (a replicated write at the key's
    /// serving primary; elsewhere the node refuses it anyway), and never a write that may already have taken
    /// effect (resent, or with an ID the key remembers): an error would report failed a write that happened.
    ///
    /// The same writes are refused, with a reason of their own, when the data directory's disk would be left with
    /// less than `diskReserve`: a log that filled its disk would stop the server.
    private func spaceRefusal(of request: ServerRequest) -> String? {
        let incomingBytes: Int
        switch request {
        case .set(let key, let value):
            incomingBytes = key.utf8.count + value.utf8.count
        case .write(let key, let value?, let epoch, let writeID, let resent):
            let mayHaveTakenEffect = resent
                || writeID.map { node.core.store.rememberedVersion(of: key, writeID: $0) != nil } == true
            guard !mayHaveTakenEffect, node.core.serves(key, epoch: epoch, nowMs: host.nowMs) else { return nil }
            incomingBytes = key.utf8.count + value.utf8.count
        default:
            return nil
        }
        if let refusal = memoryQuota.refusal(heldBytes: heldBytes, incomingBytes: incomingBytes) {
            return refusal.description
        }
        guard let log else { return nil }
        return diskReserve.refusal(freeBytes: diskFreeBytes, unwrittenBytes: log.unwrittenBytes,
                                   incomingBytes: incomingBytes)?.description
    }

    /// A peer answered call `id` (nil: no answer came).
    public func peerAnswered(_ id: CallID, reply: JSONValue?) {
        defer { finishEvent() }
        perform(node.peerAnswered(id, reply: reply, nowMs: host.nowMs))
    }

    public func viewLeaderAnswered(_ call: ViewLeaderCall, _ answer: ViewLeaderAnswer) {
        defer { finishEvent() }
        switch call {
        case .heartbeat(let sentMs):
            heartbeatAnswered(answer, sentMs: sentMs)
            host.startTimer(afterMs: effectiveHeartbeatIntervalMs, .heartbeat)
        case .viewFetch:
            perform(node.viewFetched(fetchedView(answer), nowMs: host.nowMs))
        case .suspect(let peer):
            if case .failed(let reason) = answer {
                host.log("could not report peer \(peer) to the viewleader: \(reason)", .warning)
            } else if let refusal = answer.reply.flatMap(Reply.errorMessage(in:)) {
                host.log("the viewleader refused the report of peer \(peer): \(refusal)", .warning)
            }
        }
    }

    /// The view in the viewleader's answer to `query_servers`, or nil (logged) when there is none: no answer, an
    /// error reply (a refusal is never read as a view), or a reply that does not describe one.
    private func fetchedView(_ answer: ViewLeaderAnswer) -> ViewDescription? {
        switch answer {
        case .failed(let reason):
            host.log("cannot fetch the view: \(reason); retrying", .warning)
            return nil
        case .reply(let reply):
            if let refusal = Reply.errorMessage(in: reply) {
                host.log("the viewleader refused to describe the view: \(refusal); retrying", .warning)
                return nil
            }
            do {
                return try ViewDescription(reply: reply)
            } catch {
                host.log("the viewleader's view is unreadable: \(error); retrying", .warning)
                return nil
            }
        }
    }

    public func timerFired(_ timer: ReplicaTimer) {
        guard !stoppedByDisk else { return }
        defer { finishEvent() }
        switch timer {
        case .heartbeat:
            heartbeatDue = true
        case .node(let alarm):
            perform(node.wake(alarm, nowMs: host.nowMs))
        case .logSync:
            host.startTimer(afterMs: WriteAheadLog.everysecSyncIntervalMs, .logSync)
        }
    }

    private func sendHeartbeat() {
        let request = session.request(syncedEpoch: syncedEpoch, knownEpoch: knownEpoch, view: adoptedView)
        host.callViewLeader(request, purpose: .heartbeat(sentMs: host.nowMs),
                            timeoutMs: HeartbeatTiming.callTimeoutMs(intervalMs: effectiveHeartbeatIntervalMs))
    }

    // MARK: The log

    /// Sends `reply` once whatever this server changed so far is in the log (see `finishEvent`).
    private func answer(_ responder: Host.Responder, with reply: ServerReply) {
        guard log != nil else {
            host.answer(responder, with: reply)
            return
        }
        eventReplies.append((responder, reply))
    }

    /// Ends every event: the stores' changes go into the log; the event's replies, and a due heartbeat, go out at
    /// once if the log already holds everything they may reveal (synced in `--fsync always`, written otherwise),
    /// or wait for it; and the next batch goes to the disk if none is in flight.
    private func finishEvent() {
        guard var log else {
            if heartbeatDue {
                heartbeatDue = false
                sendHeartbeat()
            }
            return
        }
        guard !stoppedByDisk else {
            eventReplies = []
            return
        }
        log.append(node.takeJournal())
        log.append(classic.takeJournal())
        takeSnapshotIfDue(&log)
        let barrier = log.replyBarrier
        let released = log.releasedSequence >= barrier && heldStart == heldReplies.count
        for (responder, reply) in eventReplies {
            if released { host.answer(responder, with: reply) } else { heldReplies.append((barrier, responder, reply)) }
        }
        eventReplies = []
        if heartbeatDue {
            heartbeatDue = false
            if log.releasedSequence >= barrier { sendHeartbeat() } else { heldHeartbeatBarrier = barrier }
        }
        let batch = log.nextBatch(nowMs: host.nowMs)
        self.log = log
        if let batch { host.writeLog(batch) }
        if let snapshot = snapshotWaiting, log.earlierSegmentsSettled {
            snapshotWaiting = nil
            snapshotWriting = (snapshot.through, host.nowMs)
            host.writeSnapshot(snapshot)
        }
    }

    /// When the log has grown past the policy's size, begins a new segment and takes the stores as they are: once
    /// the segments before it are synced, the host writes them as a snapshot, which replaces those segments.
    private func takeSnapshotIfDue(_ log: inout WriteAheadLog) {
        guard snapshotWaiting == nil, snapshotWriting == nil, !log.isSealing,
              snapshotPolicy.isDue(logBytes: log.segmentBytes, lastSnapshotBytes: lastSnapshotBytes) else { return }
        let through = log.startSegment()
        snapshotWaiting = StoreSnapshot(through: through, store: node.core.store, classic: classic.store)
    }

    /// The host wrote the snapshot it was given (`bytes` long), or could not. A failure loses nothing: the log
    /// segments it would have replaced are still there, and the next snapshot is tried once the log grows again.
    public func snapshotWritten(_ outcome: Result<Int, DiskError>) {
        guard let (through, startedMs) = snapshotWriting, !stoppedByDisk else { return }
        snapshotWriting = nil
        switch outcome {
        case .success(let bytes):
            lastSnapshotBytes = bytes
            snapshotsWritten += 1
            host.log("wrote a snapshot of the stores through log entry \(through) (\(bytes) bytes) in "
                + "\(host.nowMs - startedMs) ms; the log before it is removed", .info)
        case .failure(let error):
            host.log("could not write a snapshot: \(error). Nothing is lost: the log still holds every change; the "
                + "snapshot is tried again once the log grows by another "
                + "\(max(snapshotPolicy.logBytesMin, lastSnapshotBytes)) bytes", .warning)
        }
    }

    /// The host carried out the batch in flight (`failure` nil), or could not: then this server stops, because
    /// it can no longer tell what reached the disk, and a write it acknowledged could be lost.
    public func logWritten(_ failure: DiskError?, freeBytes: Int? = nil) {
        guard var log, !stoppedByDisk else { return }
        if let failure {
            stoppedByDisk = true
            heldReplies = []
            heldStart = 0
            host.stopAfterDiskFailure("cannot write the log: \(failure). Stopping without acknowledging anything more; "
                + "writes not yet acknowledged may or may not have been applied. Free space or fix the disk, then "
                + "restart the server on the same data directory")
            return
        }
        log.finished(nowMs: host.nowMs)
        self.log = log
        if let freeBytes { diskFreeBytes = freeBytes }
        releaseHeld()
        finishEvent()
    }

    private func releaseHeld() {
        guard let released = log?.releasedSequence else { return }
        while heldStart < heldReplies.count && heldReplies[heldStart].barrier <= released {
            host.answer(heldReplies[heldStart].responder, with: heldReplies[heldStart].reply)
            heldStart += 1
        }
        if heldStart == heldReplies.count {
            heldReplies.removeAll(keepingCapacity: true)
            heldStart = 0
        } else if heldStart > 1_024 && heldStart * 2 > heldReplies.count {
            heldReplies.removeFirst(heldStart)
            heldStart = 0
        }
        if let barrier = heldHeartbeatBarrier, barrier <= released {
            heldHeartbeatBarrier = nil
            sendHeartbeat()
        }
    }

    // MARK: Heartbeats

    /// Shortens the heartbeat interval to `HeartbeatTiming.intervalMs` once the viewleader's lease is known, saying
    /// so once, with both settings and how to reconcile them.
    private func checkHeartbeatInterval() {
        let corrected = HeartbeatTiming.intervalMs(configured: heartbeatIntervalMs, leaseMs: session.leaseMs)
        guard corrected != effectiveHeartbeatIntervalMs else { return }
        effectiveHeartbeatIntervalMs = corrected
        guard corrected < heartbeatIntervalMs, let leaseMs = session.leaseMs else { return }
        let least = HeartbeatTiming.heartbeatsPerLeaseMin
        host.log("--heartbeat-interval \(seconds(heartbeatIntervalMs)) s is too long for the viewleader's "
            + "\(seconds(leaseMs)) s lease (--lease): a lease must hold at least \(least) "
            + "heartbeats, or this server expires between them and flaps. Heartbeating every "
            + "\(seconds(corrected)) s instead; start it with --heartbeat-interval \(seconds(corrected)) or less, or "
            + "the viewleader with --lease \(seconds(heartbeatIntervalMs * HeartbeatTiming.heartbeatsPerLeaseMin)) "
            + "or more", .warning)
    }

    /// Milliseconds as seconds for a message: "1.5", "3".
    private func seconds(_ ms: Int64) -> String {
        ms % 1_000 == 0 ? "\(ms / 1_000)" : "\(Double(ms) / 1_000)"
    }

    private func heartbeatAnswered(_ answer: ViewLeaderAnswer, sentMs: Int64) {
        guard case .reply(let reply) = answer else {
            if viewLeaderReachable, case .failed(let reason) = answer {
                host.log("cannot reach the viewleader: \(reason); will keep trying", .warning)
            }
            viewLeaderReachable = false
            return
        }
        if !viewLeaderReachable { host.log("viewleader reachable again", .info) }
        viewLeaderReachable = true
        let outcome = session.receive(reply)
        switch outcome {
        case .retry, .refused: break
        default: retrying = false
        }
        switch outcome {
        case .accepted(let epoch, let joined, let epochChanged):
            if joined { host.log("joined the view as server \(session.identity) in epoch \(epoch)", .info) }
            else if epochChanged { host.log("epoch is now \(epoch)", .info) }
            classic.observe(epoch: epoch)
            checkHeartbeatInterval()
            perform(node.heartbeatAccepted(sentMs: sentMs, epoch: epoch, leaseMs: session.leaseMs ?? 0,
                                           allSyncedEpoch: session.allSyncedEpoch))
        case .denied(let reason):
            let denied = session.identity
            let fresh: ServerIdentity
            do throws(DiskError) {
                fresh = try host.nextIdentity(after: denied)
            } catch {
                stoppedByDisk = true
                host.stopAfterDiskFailure("cannot save the server's identity: \(error). Stopping; restart the server "
                    + "on the same directory once the disk is fixed")
                return
            }
            host.log("the viewleader denied server \(denied): \(reason). Was this process paused or cut off? "
                + "Registering again, empty, as server \(fresh)", .warning)
            session.restart(as: fresh)
            perform(node.restart(as: fresh.id))
            host.registered(as: fresh)
        case .retry(let reason):
            if !retrying { host.log("viewleader asks to retry: \(reason); heartbeating on", .warning) }
            retrying = true
        case .refused(let reason):
            if !retrying { host.log("the viewleader refused the heartbeat: \(reason); heartbeating on", .warning) }
            retrying = true
        case .malformed(let reason):
            host.log("unexpected heartbeat reply: \(reason)", .warning)
        }
    }

    // MARK: Actions

    private func perform(_ actions: [ReplicaAction]) {
        for action in actions {
            switch action {
            case .reply(let token, let reply):
                if let responder = responders.removeValue(forKey: token) { answer(responder, with: reply) }
            case .call(let id, let address, let message):
                host.callPeer(id, address: address, message: message, timeoutMs: ReplicaNode.peerCallTimeoutMs)
            case .fetchView:
                host.callViewLeader(ViewLeaderRequest.queryServers.json, purpose: .viewFetch,
                                    timeoutMs: ReplicaNode.viewFetchTimeoutMs)
            case .wake(let delayMs, let alarm):
                host.startTimer(afterMs: delayMs, .node(alarm))
            case .publishSyncedEpoch(let epoch):
                syncedEpoch = epoch
            case .publishKnownEpoch(let epoch):
                knownEpoch = epoch
            case .publishView(let view):
                adoptedView = view
            case .reportSuspect(let peer, let epoch, let unreachableMs):
                guard epoch >= 0 else { break }
                let report = ViewLeaderRequest.suspect(.init(requestor: session.serverID, peer: peer, epoch: epoch,
                                                             unreachableMs: unreachableMs))
                host.callViewLeader(report.json, purpose: .suspect(peer: peer),
                                    timeoutMs: ReplicaNode.viewFetchTimeoutMs)
            case .log(let line):
                host.log(line, .info)
            }
        }
    }
}

/// How long a server waits on the viewleader.
public enum HeartbeatTiming {
    /// Longest any call to the viewleader may take, connecting included.
    public static let viewLeaderTimeoutMs: Int64 = 2_000

    /// A heartbeat unanswered for two intervals is given up, and the next goes on a fresh connection: after a
    /// partition heals, a connection whose packets were dropped can sit in TCP's retransmission back-off for
    /// seconds, longer than a short lease.
    public static func callTimeoutMs(intervalMs: Int64) -> Int64 {
        min(viewLeaderTimeoutMs, max(100, 2 * intervalMs))
    }

    /// Heartbeats a lease must hold at least: with fewer, one late or lost heartbeat expires the server, and a
    /// server heartbeating slower than its lease expires every time and flaps (issue 17: `--heartbeat-interval 5`
    /// against a 3 s lease flapped 97 times in ten minutes). etcd asks for an election timeout of 5-10 heartbeats.
    public static let heartbeatsPerLeaseMin: Int64 = 3

    /// The interval to heartbeat at: the configured one, shortened to a third of the lease the viewleader
    /// granted when it is longer than that.
    public static func intervalMs(configured: Int64, leaseMs: Int64?) -> Int64 {
        guard let leaseMs, leaseMs > 0 else { return configured }
        return min(configured, max(1, leaseMs / heartbeatsPerLeaseMin))
    }
}
