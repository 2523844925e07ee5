import CommandLineKit
import Dispatch
import Placement
import Synchronization
import Wire

/// Carries out what `ReplicaCore` decides: talks to peers and the viewleader, and answers replicated requests.
///
/// Confined to the frame server's loop thread: every entry point runs there, and every completion from a peer
/// or the viewleader hops back with `server.execute` before touching state.
final class ReplicaShell: @unchecked Sendable {
    /// Pause before asking a peer again after a failed or refused pull.
    static let pullRetryMs = 50
    /// Pause before asking the viewleader again after a failed view fetch.
    static let viewFetchRetryMs = 100

    static let commands = ["setr", "getr", "delr", "replicate", "pull", "view_change"]

    private(set) var core: ReplicaCore
    private let server: FrameServer
    private let log: Log
    private let viewLeaderHost: String
    private let viewLeaderPorts: [Int]
    /// Published for the heartbeat thread, which reports it to the viewleader.
    let syncedEpoch = Atomic<Int64>(-1)
    private var links: [String: PeerLink] = [:]
    private var fetchingView = false
    private var fetchAgain = false
    private var sync: SyncRun?
    private var waitingWrites: [WriteID: WaitingWrite] = [:]

    /// A sync in progress: who has yet to answer, and what has arrived.
    struct SyncRun {
        let epoch: Int64
        let ranges: [PositionRange]
        var remaining: Set<String>
        var entries: [(key: String, entry: VersionedEntry)] = []
    }

    /// A write sent to backups: how many acks are still due, whether any failed, and who to answer.
    struct WaitingWrite {
        var acksDue: Int
        var failed: Bool
        let responder: Responder
    }

    init(serverID: String, server: FrameServer, log: Log, viewLeaderHost: String, viewLeaderPorts: [Int]) {
        core = ReplicaCore(serverID: serverID)
        self.server = server
        self.log = log
        self.viewLeaderHost = viewLeaderHost
        self.viewLeaderPorts = viewLeaderPorts
    }

    // MARK: Events from the heartbeat thread (already on the loop)

    /// A heartbeat sent at `sentMs` was accepted in `epoch`.
    func heartbeatAccepted(sentMs: Int64, epoch: Int64, leaseMs: Int64, allSyncedEpoch: Int64) {
        core.renewLease(sentMs: sentMs, leaseMs: leaseMs, marginMs: ServerConfiguration.leaseMarginMs(leaseMs: leaseMs))
        carryOut(core.observe(epoch: epoch))
        if core.view.epoch < 0 { fetchView() }
        core.collectGarbage(everyoneSyncedTo: allSyncedEpoch)
    }

    /// The viewleader denied our ID: start over as a new, empty member under `freshID`.
    func restart(as freshID: String) {
        core = ReplicaCore(serverID: freshID)
        sync = nil
        for (_, waiting) in waitingWrites {
            waiting.responder.reply(ReplicationMessages.retry(.noView, epoch: -1, maybeApplied: true))
        }
        waitingWrites.removeAll()
        syncedEpoch.store(-1, ordering: .relaxed)
    }

    // MARK: Requests

    var liveKeys: [String] { core.store.liveKeys }

    func handle(_ request: Request, responder: Responder) throws(RequestError) {
        switch request.command {
        case "getr": try read(request, responder)
        case "setr": try write(request, value: request.string("val"), responder)
        case "delr": try write(request, value: nil, responder)
        case "replicate": try applyReplicated(request, responder)
        case "pull": try servePull(request, responder)
        case "view_change":
            carryOut(core.observe(epoch: try request.integer("epoch", in: 0...Int64.max)))
            responder.reply(Reply.ok)
        default: preconditionFailure("dispatch sent \(request.command) to the replica shell")
        }
    }

    private func read(_ request: Request, _ responder: Responder) throws(RequestError) {
        let key = try request.string("key")
        let epoch = try request.integer("epoch", in: -1...Int64.max)
        switch core.read(key, epoch: epoch, nowMs: MonotonicClock.nowMs()) {
        case .value(let entry):
            if let value = entry?.value {
                responder.reply(.object(["status": "ok", "value": .string(value)]))
            } else {
                responder.reply(Reply.status("not_found"))
            }
        case .refuse(let refusal, let effects):
            responder.reply(ReplicationMessages.retry(refusal, epoch: core.view.epoch))
            carryOut(effects)
        }
    }

    private func write(_ request: Request, value: String?, _ responder: Responder) throws(RequestError) {
        let key = try request.string("key")
        let epoch = try request.integer("epoch", in: -1...Int64.max)
        switch core.write(key, value: value, epoch: epoch, nowMs: MonotonicClock.nowMs()) {
        case .committedAlone:
            responder.reply(Reply.ok)
        case .refuse(let refusal, let effects):
            responder.reply(ReplicationMessages.retry(refusal, epoch: core.view.epoch))
            carryOut(effects)
        case .replicate(let write):
            let id = write.id
            waitingWrites[id] = WaitingWrite(acksDue: write.backups.count, failed: false, responder: responder)
            let message = ReplicationMessages.replicate(write.key, write.entry, epoch: write.epoch)
            for backup in write.backups {
                guard let address = core.view.addresses[backup] else {
                    backupAnswered(id, accepted: false, epoch: nil)
                    continue
                }
                link(address).call(message) { [self] result in
                    server.execute { [self] in
                        let reply = try? result.get()
                        backupAnswered(id, accepted: reply?.objectValue?["status"] == "ok",
                                       epoch: reply?.objectValue?["epoch"]?.integerValue)
                    }
                }
            }
        }
    }

    private func backupAnswered(_ id: WriteID, accepted: Bool, epoch: Int64?) {
        if let epoch { carryOut(core.observe(epoch: epoch)) }
        guard var waiting = waitingWrites[id] else { return }
        waiting.acksDue -= 1
        waiting.failed = waiting.failed || !accepted
        guard waiting.acksDue == 0 else {
            waitingWrites[id] = waiting
            return
        }
        waitingWrites[id] = nil
        if !waiting.failed && core.writeAcknowledged(id) {
            waiting.responder.reply(Reply.ok)
        } else {
            core.writeAbandoned(id)
            waiting.responder.reply(ReplicationMessages.retry(.rangeInMotion, epoch: core.view.epoch, maybeApplied: true))
        }
    }

    private func applyReplicated(_ request: Request, _ responder: Responder) throws(RequestError) {
        let epoch = try request.integer("epoch", in: 0...Int64.max)
        let (key, entry) = try ReplicationMessages.entry(from: request.fields)
        if let refusal = core.applyReplicated(key, entry: entry, epoch: epoch) {
            responder.reply(ReplicationMessages.retry(refusal, epoch: core.view.epoch))
            carryOut(core.observe(epoch: epoch))
        } else {
            responder.reply(Reply.ok)
        }
    }

    private func servePull(_ request: Request, _ responder: Responder) throws(RequestError) {
        let epoch = try request.integer("epoch", in: 0...Int64.max)
        let ranges = try ReplicationMessages.ranges(from: request, ringSize: core.view.ring.ringSize)
        let after = try request.optionalString("after")
        switch core.entries(in: ranges, epoch: epoch) {
        case .success(let entries):
            responder.reply(ReplicationMessages.pullPage(entries, after: after))
        case .failure(let refusal):
            responder.reply(ReplicationMessages.retry(refusal, epoch: core.view.epoch))
            carryOut(core.observe(epoch: epoch))
        }
    }

    // MARK: Effects

    private func carryOut(_ effects: [ReplicaEffect]) {
        for effect in effects {
            switch effect {
            case .fetchView: fetchView()
            case .sync(let epoch, let ranges, let peers): startSync(epoch: epoch, ranges: ranges, peers: peers)
            }
        }
    }

    private func link(_ address: String) -> PeerLink {
        if let link = links[address] { return link }
        let link = PeerLink(address: address)
        links[address] = link
        return link
    }

    /// Asks the viewleader for the view; a request made while one is in flight is served by one more fetch.
    func fetchView() {
        guard !fetchingView else {
            fetchAgain = true
            return
        }
        fetchingView = true
        let host = viewLeaderHost
        let ports = viewLeaderPorts
        DispatchQueue.global().async { [self] in
            let result: Result<ViewDescription, Error>
            do {
                let connection = try FrameConnection.connectFirst(host: host, ports: ports, timeoutMs: 1_000)
                defer { connection.close() }
                result = .success(try ViewDescription(reply: connection.call(["cmd": "query_servers"], timeoutMs: 1_000)))
            } catch {
                result = .failure(error)
            }
            server.execute { [self] in viewFetched(result) }
        }
    }

    private func viewFetched(_ result: Result<ViewDescription, Error>) {
        fetchingView = false
        switch result {
        case .success(let description):
            let view = ServerView(epoch: description.epoch,
                                  addresses: Dictionary(description.servers.map { ($0.id, $0.address) },
                                                        uniquingKeysWith: { first, _ in first }),
                                  ringSize: description.ringSize)
            if view.ring.ringSize == core.view.ring.ringSize && view.addresses[core.serverID] != nil {
                let effects = core.adopt(view)
                if !effects.isEmpty { log.info("adopted view of epoch \(view.epoch) with \(view.addresses.count) server(s)") }
                carryOut(effects)
            }
        case .failure(let error):
            log.warning("cannot fetch the view: \(error); retrying")
            fetchAgain = true
        }
        if fetchAgain {
            fetchAgain = false
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.viewFetchRetryMs)) { [self] in
                server.execute { [self] in fetchView() }
            }
        }
    }

    private func startSync(epoch: Int64, ranges: [PositionRange], peers: [String]) {
        sync = SyncRun(epoch: epoch, ranges: ranges, remaining: Set(peers))
        for peer in peers { pull(from: peer, epoch: epoch, after: nil) }
        finishSyncIfDone()
    }

    private func pull(from peer: String, epoch: Int64, after: String?) {
        guard let run = sync, run.epoch == epoch, let address = core.view.addresses[peer] else { return }
        link(address).call(ReplicationMessages.pull(epoch: epoch, ranges: run.ranges, after: after)) { [self] result in
            server.execute { [self] in pulled(from: peer, epoch: epoch, after: after, result) }
        }
    }

    private func pulled(from peer: String, epoch: Int64, after: String?, _ result: Result<JSONValue, SocketError>) {
        guard sync?.epoch == epoch else { return }
        let fields = (try? result.get())?.objectValue
        guard fields?["status"] == "ok", let list = fields?["entries"]?.arrayValue else {
            if let theirs = fields?["epoch"]?.integerValue { carryOut(core.observe(epoch: theirs)) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.pullRetryMs)) { [self] in
                server.execute { [self] in pull(from: peer, epoch: epoch, after: after) }
            }
            return
        }
        var lastKey = after
        for item in list {
            guard let object = item.objectValue, let (key, entry) = try? ReplicationMessages.entry(from: object) else {
                continue
            }
            sync?.entries.append((key, entry))
            lastKey = key
        }
        if fields?["more"] == true {
            pull(from: peer, epoch: epoch, after: lastKey)
        } else {
            sync?.remaining.remove(peer)
            finishSyncIfDone()
        }
    }

    private func finishSyncIfDone() {
        guard let run = sync, run.remaining.isEmpty else { return }
        sync = nil
        core.syncCompleted(epoch: run.epoch, entries: run.entries)
        syncedEpoch.store(run.epoch, ordering: .relaxed)
        log.info("synced epoch \(run.epoch): pulled \(run.entries.count) entries in \(run.ranges.count) range(s)")
    }
}
