import Durability
import Wire

/// The server's side of membership: which ID it heartbeats under and what the viewleader last said.
///
/// Pure: the shell sends `request`, feeds the reply (or the failure) to `receive`, and acts on the outcome.
public struct HeartbeatSession: Sendable {
    /// The ID and incarnation this server currently heartbeats under; replaced after a denial.
    public private(set) var identity: ServerIdentity
    public var serverID: String { identity.id }
    /// Port and optional host advertised to the viewleader.
    public let port: Int
    public let advertisedHost: String?
    /// Latest epoch the viewleader reported; -1 before any.
    public private(set) var epoch: Int64 = -1
    /// Lease length the viewleader reported, in milliseconds.
    public private(set) var leaseMs: Int64?
    public private(set) var isMember = false

    public init(identity: ServerIdentity, port: Int, advertisedHost: String?) {
        self.identity = identity
        self.port = port
        self.advertisedHost = advertisedHost
    }

    /// What the server should learn from a heartbeat reply.
    public enum Outcome: Equatable, Sendable {
        /// Accepted; `joined` is true on the first acceptance of this ID, `epochChanged` when the epoch moved.
        case accepted(epoch: Int64, joined: Bool, epochChanged: Bool)
        /// This incarnation of the ID was expired (or a later one registered); the shell must pick a later incarnation
        /// or a fresh ID and call `restart(as:)`.
        case denied(reason: String)
        /// Not admitted now (another live server holds our address, the view is full, or the viewleader is
        /// recovering); keep heartbeating.
        case retry(reason: String)
        /// The viewleader could not act on the heartbeat (an error reply, such as a refusal at its connection
        /// limit); keep heartbeating. Never read as a view or an epoch.
        case refused(reason: String)
        /// The reply made no sense.
        case malformed(String)
    }

    /// Lowest synced epoch among live members, from the last accepted heartbeat; -1 when unknown.
    public private(set) var allSyncedEpoch: Int64 = -1
    /// The viewleader is recovering its view and asked for the one this server serves (`report_view`).
    public private(set) var viewRequested = false

    public var request: JSONValue { request(syncedEpoch: -1, knownEpoch: -1, view: nil) }

    /// The heartbeat, reporting the epoch this server has fully synced to, and the highest epoch it knows of: the
    /// later of the viewleader's last answer and `knownEpoch` (its view's, or one a peer mentioned). A viewleader
    /// that restarted from older state learns from it that the cluster is ahead, and moves above it.
    /// When the viewleader asked for it, the heartbeat also carries `view`, the view this server serves.
    public func request(syncedEpoch: Int64, knownEpoch: Int64, view: ViewDescription?) -> JSONValue {
        let reported = viewRequested ? view.map { view in
            ViewLeaderRequest.ReportedView(epoch: view.epoch,
                                           members: view.servers.map { .init(id: $0.id, address: $0.address) })
        } : nil
        return ViewLeaderRequest.heartbeat(.init(port: port, requestor: serverID, host: advertisedHost,
                                                 syncedEpoch: max(-1, syncedEpoch), epoch: max(-1, epoch, knownEpoch),
                                                 view: reported, incarnation: identity.incarnation)).json
    }

    public mutating func receive(_ reply: JSONValue) -> Outcome {
        let decoded: HeartbeatReply
        do throws(MalformedReply) {
            decoded = try HeartbeatReply(reply)
        } catch {
            return .malformed(error.description)
        }
        switch decoded {
        case .accepted(let newEpoch, let grantedLeaseMs, let everyoneSynced):
            let joined = !isMember
            let changed = newEpoch != epoch
            isMember = true
            viewRequested = false
            epoch = max(epoch, newEpoch)
            leaseMs = grantedLeaseMs ?? leaseMs
            allSyncedEpoch = everyoneSynced
            return .accepted(epoch: epoch, joined: joined, epochChanged: changed)
        case .denied(let reason):
            isMember = false
            return .denied(reason: reason)
        case .retry(let reason, let newEpoch, let reportView):
            if let newEpoch { epoch = max(epoch, newEpoch) }
            viewRequested = reportView == true
            return .retry(reason: reason)
        case .refused(let reason):
            return .refused(reason: reason)
        }
    }

    /// Starts over as a new and empty member: a later incarnation of the same ID, or a fresh ID.
    public mutating func restart(as fresh: ServerIdentity) {
        precondition(fresh.id != identity.id || fresh.incarnation > identity.incarnation,
                     "a restart registers under a fresh ID or a later incarnation")
        identity = fresh
        isMember = false
    }
}
