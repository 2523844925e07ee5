import Durability
import Placement
import Wire

/// What the replica core asks its shell to do.
public enum ReplicaEffect: Equatable, Sendable {
    /// Ask the viewleader for the current view: someone mentioned an epoch newer than ours.
    case fetchView
    /// Pull `ranges` from every server in `peers` at `epoch`, then call `syncCompleted`. An empty range list is
    /// still sent: the answer proves that peer has moved to `epoch`.
    case sync(epoch: Int64, ranges: [PositionRange], peers: [String])
}

/// A write the primary has stamped and sent to the key's backups: the one record of its life, from `write` until
/// every backup has answered (`backupAnswered`), when it is committed and answered, or abandoned.
public struct PendingWrite: Equatable, Sendable {
    public let id: PendingWriteID
    public let key: String
    public let entry: VersionedEntry
    /// The client's ID for the write, sent along so that every replica remembers it; nil for classic clients.
    public let writeID: WriteID?
    public let epoch: Int64
    public let backups: [String]
    /// The request to answer once every backup has.
    public let token: RequestToken
    /// Backups yet to answer.
    public internal(set) var answersDue: Int
    /// Why the write will not be committed (the first reason that arose), or nil while it still may be.
    public internal(set) var failure: WriteFailure?

    public var failed: Bool { failure != nil }
}

/// How a backup answered a `replicate`.
public enum BackupAnswer: Equatable, Sendable {
    case accepted
    /// It answered, but did not apply the write (another epoch, not a replica).
    case refused(backup: String)
    /// No answer came within the call's time, or the connection failed.
    case silent(backup: String)
}

/// Why a replicated write was abandoned; a backup may hold it in every case.
public enum WriteFailure: Equatable, Sendable {
    case viewChanged
    case backupRefused(String)
    case backupSilent(String)

    /// The refusal the client is answered with.
    var refusal: Refusal {
        switch self {
        case .viewChanged: .viewChangedDuringWrite
        case .backupRefused(let backup): .backupRefused(backup)
        case .backupSilent(let backup): .backupUnreachable(backup)
        }
    }
}

/// How a replicated write ended, once every backup has answered.
public enum WriteOutcome: Equatable, Sendable {
    /// Every backup accepted it in the view it was stamped in: it is applied here too; answer `ok`.
    case committed(RequestToken)
    /// It will not be committed; a backup may hold it, so the answer says it may have been applied.
    case abandoned(RequestToken, WriteFailure)
}

/// Identifies one write a primary is waiting to commit (chosen by the primary; not the client's `WriteID`).
public struct PendingWriteID: Hashable, Sendable {
    public let raw: UInt64
}

/// Why a replica will not serve a request right now; each case maps to a `retry` reply carrying our epoch.
public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
    case noView
    case epochMismatch(mine: Int64, theirs: Int64)
    case leaseExpired
    case notPrimary(primary: String?)
    case notReplica
    case rangeInMotion
    /// A write with this write ID is already being replicated; its outcome is not known yet.
    case writeInFlight
    /// The view changed while the write was being replicated.
    case viewChangedDuringWrite
    /// A backup answered the `replicate` without applying it.
    case backupRefused(String)
    /// A backup did not answer the `replicate` in time.
    case backupUnreachable(String)

    public var description: String {
        switch self {
        case .noView: return "this server has not joined a view yet"
        case .epochMismatch(let mine, let theirs): return "request is for epoch \(theirs) but this server is in \(mine)"
        case .leaseExpired: return "this server's lease has expired; it serves nothing until it renews"
        case .notPrimary(let primary): return "this server is not the key's primary (\(primary ?? "none") is)"
        case .notReplica: return "this server is not a replica of the key in this epoch"
        case .rangeInMotion: return "the key's range is being copied to this server; retry shortly"
        case .writeInFlight: return "an earlier attempt of this write is still being replicated; retry shortly"
        case .viewChangedDuringWrite:
            return "the view changed while the write was being replicated, so it may have been applied on a backup; "
                + "retry it (with its write ID) in the new view"
        case .backupRefused(let backup):
            return "backup \(backup) did not apply the write (it is in another epoch), so it may have been applied "
                + "on another backup; retry it (with its write ID) once the view settles"
        case .backupUnreachable(let backup):
            return "backup \(backup) did not answer within \(ReplicaNode.peerCallTimeoutMs) ms, so the write may "
                + "have been applied there; retry it (with its write ID): this server reports the backup to the "
                + "viewleader, which removes one of the two from the view if the link stays down"
        }
    }
}

/// A replica's decisions: which view it serves, what it may serve, and how writes are versioned.
///
/// Pure: time arrives as `nowMs`, and I/O is returned as `ReplicaEffect`s. Invariants, checked after every event:
/// the epoch only rises, and a write's version is always newer than any the primary issued before.
public struct ReplicaCore: Sendable {
    public let serverID: String
    public private(set) var view: ServerView
    /// For each ring position: does this server hold every acknowledged write there, as of `view`?
    public private(set) var synced: [Bool]
    /// For each ring position whose replica set changed in `view`: may it be served only once every member has
    /// synced to `view.epoch`? Until then a backup may lack what the primary would serve (see `adopt`).
    private var awaitsEveryone: [Bool]
    /// For each ring position: is this server in its replica set in `view`?
    private var replicates: [Bool]
    /// Lowest synced epoch among all live members, as the viewleader last reported it; -1 before any.
    public private(set) var everyoneSyncedEpoch: Int64 = -1
    /// True once every live member has answered this epoch's sync, so no one serves an older epoch.
    public private(set) var syncComplete = false
    /// Highest epoch this server has fully synced to (reported to the viewleader); -1 before any.
    public private(set) var syncedEpoch: Int64 = -1
    /// The epoch whose garbage was last collected; -1 before any. Nothing becomes garbage between view changes
    /// (every key stored after a sync is one this server replicates in `view`), so each epoch is collected once.
    public private(set) var collectedEpoch: Int64 = -1
    public private(set) var store: VersionedStore
    /// Monotonic milliseconds until which this server may serve; nothing before the first heartbeat.
    public private(set) var leaseExpiresMs = Int64.min
    /// A lease the viewleader granted in a view this server has not adopted yet: it applies once it has.
    private var pendingLease: (epoch: Int64, expiresMs: Int64)?
    private var counter: Int64 = 0
    private var nextPendingWriteID: UInt64 = 1
    /// Writes sent to backups and not yet answered by all of them. A view change marks them failed; they stay
    /// until their last backup answers (or its call fails), so each is answered exactly once.
    public private(set) var pendingWrites: [PendingWriteID: PendingWrite] = [:]
    /// The pending writes that carry a client's write ID, by that ID.
    private var pendingByWriteID: [WriteID: PendingWriteID] = [:]

    /// A core that starts with `store`: empty, or what a data directory's log held. A recovered store is never
    /// served as it is: like any newcomer's, every range is pulled from its replicas before this server serves it,
    /// merging by version, and what this server does not replicate is collected with the first view's garbage.
    public init(serverID: String, ringSize: Int = HashRing.defaultRingSize, store: VersionedStore? = nil) {
        precondition(store.map { $0.ringSize == ringSize } ?? true, "a recovered store has the ring's size")
        self.serverID = serverID
        view = .initial(ringSize: ringSize)
        synced = [Bool](repeating: false, count: ringSize)
        awaitsEveryone = [Bool](repeating: true, count: ringSize)
        replicates = [Bool](repeating: false, count: ringSize)
        self.store = store ?? VersionedStore(ringSize: ringSize)
    }

    /// The store's changes since the last call, as log entries (see `VersionedStore.takeJournal`).
    public mutating func takeJournal() -> [LogEntry] { store.takeJournal() }

    // MARK: Views and leases

    /// Adopts `newView` if it is newer; works out what must be pulled before this server serves again.
    ///
    /// Only a position whose replica set is exactly the same as in the previous, fully synced epoch is kept, and
    /// only when its primary had fully synced that epoch too, so that the primary keeps it as well. Every other
    /// position this server replicates is pulled from every live member, and served only once every member has
    /// synced: a backup can hold a write its primary abandoned, and a new primary that served it before the other
    /// replicas had pulled it could lose it again with its next crash (the simulator found this: a value read
    /// once, then gone, with no delete in between). A primary that pulls a position can likewise receive such a
    /// write and serve it; a backup that kept the position would never get it (the simulator found this too,
    /// once retried writes were answered from the write IDs a pull brought).
    public mutating func adopt(_ newView: ServerView) -> [ReplicaEffect] {
        guard newView.epoch > view.epoch else { return [] }
        precondition(newView.ring.ringSize == view.ring.ringSize, "the ring size never changes")
        let consecutive = newView.epoch == view.epoch + 1 && syncComplete
        var needed: [Bool] = []
        needed.reserveCapacity(synced.count)
        for position in 0..<synced.count {
            let replicas = newView.ring.replicaSet(forPosition: position)
            let isReplica = replicas.contains(serverID)
            let primaryKeeps = replicas.first == serverID || newView.syncedEpoch(of: replicas.first!) >= view.epoch
            let keeps = consecutive && synced[position] && isReplica && primaryKeeps
                && view.ring.replicaSet(forPosition: position) == replicas
            synced[position] = keeps
            awaitsEveryone[position] = !keeps
            replicates[position] = isReplica
            needed.append(isReplica && !keeps)
        }
        view = newView
        if let pending = pendingLease, pending.epoch <= newView.epoch {
            if pending.epoch == newView.epoch { leaseExpiresMs = max(leaseExpiresMs, pending.expiresMs) }
            pendingLease = nil
        }
        syncComplete = false
        for id in pendingWrites.keys where pendingWrites[id]!.failure == nil {
            pendingWrites[id]!.failure = .viewChanged
        }
        pendingByWriteID.removeAll()
        counter = 0
        let peers = newView.memberIDs.filter { $0 != serverID }
        return [.sync(epoch: newView.epoch, ranges: Self.ranges(of: needed), peers: peers)]
    }

    /// Merges entries pulled for `epoch` as they arrive, keeping those at positions this server replicates.
    ///
    /// Merging before the sync completes is safe: entries merge by version, so the order does not matter; the
    /// positions being pulled are not served until the sync completes; and nothing is collected before then.
    public mutating func merge(pulled entries: [VersionedStore.PageEntry], epoch: Int64, nowMs: Int64) {
        guard epoch == view.epoch, !syncComplete else { return }
        for pulled in entries {
            let position = view.ring.position(ofKey: pulled.key)
            if replicates[position] { store.merge(pulled, at: position, nowMs: nowMs) }
        }
    }

    /// The pulls for `epoch` finished (each page was merged as it arrived): start serving.
    public mutating func syncCompleted(epoch: Int64) {
        guard epoch == view.epoch, !syncComplete else { return }
        for position in 0..<synced.count where replicates[position] { synced[position] = true }
        syncComplete = true
        syncedEpoch = epoch
    }

    /// Drops remembered write IDs past their retention; called on every accepted heartbeat, so replicas that hold
    /// the same writes drop the same IDs at about the same time even while no write arrives.
    public mutating func forgetExpiredWriteIDs(nowMs: Int64) {
        store.forgetExpiredWriteIDs(nowMs: nowMs)
    }

    /// A heartbeat sent at `sentMs` was accepted in `epoch`: the lease runs to `sentMs + leaseMs - marginMs`.
    ///
    /// A lease is a promise for the viewleader's current view, so it extends the lease of the view this server
    /// serves only when that is the same view. One granted in a newer view waits until this server adopts it:
    /// otherwise a server still serving an old view (paused past its lease, and not expired because the viewleader
    /// restarted without its state) would serve it again beside the newer view's primaries (the simulator found
    /// two primaries for one key this way).
    public mutating func renewLease(sentMs: Int64, leaseMs: Int64, marginMs: Int64, epoch: Int64) {
        let expiresMs = sentMs + leaseMs - marginMs
        if epoch == view.epoch {
            leaseExpiresMs = max(leaseExpiresMs, expiresMs)
        } else if epoch > view.epoch {
            if let pending = pendingLease, pending.epoch == epoch {
                pendingLease = (epoch, max(pending.expiresMs, expiresMs))
            } else if pendingLease.map({ epoch > $0.epoch }) ?? true {
                pendingLease = (epoch, expiresMs)
            }
        }
    }

    /// The viewleader reported that every live member has synced to `epoch`: moved ranges may be served, and
    /// keys this server no longer replicates are dropped (once per epoch; see `collectGarbage`).
    public mutating func noteEveryoneSynced(_ epoch: Int64) {
        everyoneSyncedEpoch = max(everyoneSyncedEpoch, epoch)
        collectGarbage()
    }

    /// A peer or client mentioned `epoch`; returns `.fetchView` when it is newer than ours.
    public func observe(epoch: Int64) -> [ReplicaEffect] {
        epoch > view.epoch ? [.fetchView] : []
    }

    // MARK: Client requests

    public enum ReadDecision: Equatable, Sendable {
        /// The committed entry (nil when the key was never written).
        case value(VersionedEntry?)
        case refuse(Refusal, effects: [ReplicaEffect])
    }

    public enum WriteDecision: Equatable, Sendable {
        /// Send to the backups and answer once they all acknowledged.
        case replicate(PendingWrite)
        /// No backups (a one-server view): committed already.
        case committedAlone
        /// The write ID is remembered: an earlier attempt took effect, and this one is answered without applying.
        case alreadyApplied
        /// The client's latest write to the key is a later one (sequence `latest`): `WriteID`'s is not applied.
        case superseded(WriteID, latest: Int64)
        /// A retried write whose ID this key does not remember, where IDs were dropped early: it may have taken
        /// effect, so it is not applied again, and its outcome cannot be told.
        case outcomeForgotten(WriteID)
        case refuse(Refusal, effects: [ReplicaEffect])
    }

    /// Decides a `getr`: answered from committed state only, by a primary holding a valid lease.
    public func read(_ key: String, epoch: Int64, nowMs: Int64) -> ReadDecision {
        let position = view.ring.position(ofKey: key)
        if let refusal = refusalToServe(position, epoch: epoch, nowMs: nowMs) {
            return .refuse(refusal, effects: observe(epoch: epoch))
        }
        return .value(store.entry(key, at: position))
    }

    /// Decides a `setr` (value) or `delr` (nil): stamps a version and asks for replication to the backups.
    ///
    /// A write with a `writeID` is first looked up: only the key's serving primary answers from memory, since
    /// its sync pulled every replica's write IDs for the key. `resent` says the client sent this ID before and
    /// an attempt may have taken effect.
    public mutating func write(_ key: String, value: String?, writeID: WriteID? = nil, resent: Bool = false,
                               epoch: Int64, nowMs: Int64, answering token: RequestToken) -> WriteDecision {
        let position = view.ring.position(ofKey: key)
        if let refusal = refusalToServe(position, epoch: epoch, nowMs: nowMs) {
            return .refuse(refusal, effects: observe(epoch: epoch))
        }
        if let writeID {
            if let remembered = store.rememberedWrite(of: key, client: writeID.client),
               remembered.writeID.sequence >= writeID.sequence {
                return remembered.writeID == writeID ? .alreadyApplied
                    : .superseded(writeID, latest: remembered.writeID.sequence)
            }
            if pendingByWriteID[writeID] != nil { return .refuse(.writeInFlight, effects: []) }
            if resent && store.mayHaveForgottenWriteIDs(at: position, nowMs: nowMs) { return .outcomeForgotten(writeID) }
        }
        counter += 1
        let entry = VersionedEntry(value: value, version: Version(epoch: view.epoch, counter: counter))
        let backups = Array(view.ring.replicaSet(forPosition: position).dropFirst())
        if backups.isEmpty {
            store.apply(entry, to: key, at: position, writeID: writeID, nowMs: nowMs)
            checkApplied(entry, to: key, at: position)
            return .committedAlone
        }
        let id = PendingWriteID(raw: nextPendingWriteID)
        nextPendingWriteID += 1
        let write = PendingWrite(id: id, key: key, entry: entry, writeID: writeID, epoch: view.epoch, backups: backups,
                                 token: token, answersDue: backups.count)
        pendingWrites[id] = write
        if let writeID { pendingByWriteID[writeID] = id }
        return .replicate(write)
    }

    /// A backup of write `id` accepted it, or refused or failed to answer. Once the last has answered, the write
    /// is committed if all accepted in its view, and abandoned otherwise; nil while answers are still due (or for
    /// a write this core does not know).
    public mutating func backupAnswered(_ id: PendingWriteID, _ answer: BackupAnswer, nowMs: Int64) -> WriteOutcome? {
        guard var write = pendingWrites[id] else { return nil }
        write.answersDue -= 1
        if write.failure == nil {
            switch answer {
            case .accepted: break
            case .refused(let backup): write.failure = .backupRefused(backup)
            case .silent(let backup): write.failure = .backupSilent(backup)
            }
        }
        guard write.answersDue <= 0 else {
            pendingWrites[id] = write
            return nil
        }
        pendingWrites[id] = nil
        // A view change forgot the ID's pending attempt; a retry since may be pending under it now.
        if let writeID = write.writeID, pendingByWriteID[writeID] == id { pendingByWriteID[writeID] = nil }
        if let failure = write.failure { return .abandoned(write.token, failure) }
        let position = view.ring.position(ofKey: write.key)
        store.apply(write.entry, to: write.key, at: position, writeID: write.writeID, nowMs: nowMs)
        checkApplied(write.entry, to: write.key, at: position)
        return .committed(write.token)
    }

    /// The invariant behind every acknowledgement: the primary holds the write it is about to acknowledge, or a
    /// newer one. Checked at each commit, before the answer exists.
    private func checkApplied(_ entry: VersionedEntry, to key: String, at position: Int) {
        let held = store.entry(key, at: position)?.version
        precondition(held.map { $0 >= entry.version } == true,
                     "the primary would acknowledge a write to \(key) at \(entry.version) that it does not hold")
    }

    // MARK: Peer requests

    /// A primary's write for a key this server backs up; returns why it was refused, or nil once applied. Its
    /// write ID, if any, is remembered: if this server becomes the key's primary, a retry is answered from memory.
    public mutating func applyReplicated(_ key: String, entry: VersionedEntry, writeID: WriteID? = nil, epoch: Int64,
                                         nowMs: Int64 = 0) -> Refusal? {
        guard epoch == view.epoch, view.epoch >= 0 else { return .epochMismatch(mine: view.epoch, theirs: epoch) }
        let position = view.ring.position(ofKey: key)
        guard replicates[position] else { return .notReplica }
        store.apply(entry, to: key, at: position, writeID: writeID, nowMs: nowMs)
        return nil
    }

    /// Another server's pull at `epoch`: one page of the entries (tombstones too) whose position lies in `ranges`,
    /// in (position, key) order, after the entry of `after`, of at most `bytesMax` bytes (see `VersionedStore.page`).
    func entries(in ranges: [PositionRange], epoch: Int64, after: String? = nil,
                 pullerHas: [Int: VersionedStore.BucketSummary] = [:],
                 bytesTarget: Int = RecordLimits.pullPageBytesTarget,
                 bytesMax: Int = RecordLimits.standard.pullPageBytesMax)
        -> Result<VersionedStore.Page, Refusal>
    {
        guard epoch == view.epoch else { return .failure(.epochMismatch(mine: view.epoch, theirs: epoch)) }
        return .success(store.page(in: ranges, after: after, bytesTarget: bytesTarget, bytesMax: bytesMax,
                                   pullerHas: pullerHas))
    }


    /// Drops keys this server no longer replicates, once every member has synced to the current epoch, and only
    /// once per epoch: until the next view change no key this server does not replicate can be stored (syncs,
    /// replicated writes and its own writes are all filtered by `replicates`), so a second pass would find nothing.
    private mutating func collectGarbage() {
        guard everyoneSyncedEpoch >= view.epoch, syncComplete, collectedEpoch < view.epoch else { return }
        collectedEpoch = view.epoch
        store.removeAll { !replicates[$0] }
    }

    // MARK: Helpers

    public func isReplica(of key: String) -> Bool { replicates[view.ring.position(ofKey: key)] }

    /// Whether this server would serve `key` now as its primary in `epoch` (reads and writes alike).
    public func serves(_ key: String, epoch: Int64, nowMs: Int64) -> Bool {
        refusalToServe(view.ring.position(ofKey: key), epoch: epoch, nowMs: nowMs) == nil
    }

    private func refusalToServe(_ position: Int, epoch: Int64, nowMs: Int64) -> Refusal? {
        guard view.epoch >= 0 else { return .noView }
        guard epoch == view.epoch else { return .epochMismatch(mine: view.epoch, theirs: epoch) }
        guard nowMs < leaseExpiresMs else { return .leaseExpired }
        let primary = view.ring.replicaSet(forPosition: position).first
        guard primary == serverID else { return .notPrimary(primary: primary) }
        // A position whose replica set is unchanged across consecutive epochs has the same primary as before,
        // and that primary's earlier sync already made every live server move past older epochs: it is served at
        // once. Other positions wait for this server's sync, which is also the barrier against older epochs, and
        // then for every member's, so that each replica holds whatever this primary will serve.
        guard synced[position] else { return .rangeInMotion }
        guard !awaitsEveryone[position] || everyoneSyncedEpoch >= view.epoch else { return .rangeInMotion }
        return nil
    }

    /// Turns a per-position flag into maximal ranges of positions where it is set.
    static func ranges(of flags: [Bool]) -> [PositionRange] {
        var ranges: [PositionRange] = []
        var start: Int?
        for (position, flag) in flags.enumerated() {
            if flag, start == nil { start = position }
            if !flag, let first = start {
                ranges.append(PositionRange(first, position - 1))
                start = nil
            }
        }
        if let first = start { ranges.append(PositionRange(first, flags.count - 1)) }
        return ranges
    }
}
