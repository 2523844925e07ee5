import Durability
import Wire

/// The world a `ReplicaDriver` runs in: how it answers, calls, waits and logs, and what time it is.
///
/// Production supplies sockets, the monotonic clock and the loop's timers (`SocketReplicaHost`); the simulator
/// supplies its seeded network and clock. A host decides nothing: it carries out what the driver asks and hands
/// every answer back as a new event. It never calls back into the driver from inside one of these methods, so
/// the driver is never re-entered.
public protocol ReplicaHost: AnyObject {
    /// Whatever the host needs to answer one request (a connection's responder, a simulated delivery).
    associatedtype Responder

    /// Milliseconds on a clock that never goes backwards.
    var nowMs: Int64 { get }

    /// Sends `reply` to whoever `responder` stands for.
    func answer(_ responder: Responder, with reply: ServerReply)

    /// Sends `message` to the peer at `address`; hands its answer, or nil when none came within `timeoutMs`, to
    /// `ReplicaDriver.peerAnswered(_:reply:)`.
    func callPeer(_ id: CallID, address: String, message: ServerRequest, timeoutMs: Int64)

    /// Sends `message` to the viewleader; hands the outcome to `ReplicaDriver.viewLeaderAnswered(_:_:)`.
    func callViewLeader(_ message: JSONValue, purpose: ViewLeaderCall, timeoutMs: Int64)

    /// After `delayMs`, hands `timer` to `ReplicaDriver.timerFired(_:)`.
    func startTimer(afterMs delayMs: Int64, _ timer: ReplicaTimer)

    /// The identity to register under after the viewleader denied `denied`: with a data directory, the same ID's
    /// next incarnation, saved there first (a failure to save stops the server, as a failed log write does);
    /// without one, a fresh random ID.
    func nextIdentity(after denied: ServerIdentity) throws(DiskError) -> ServerIdentity

    /// A line for the operator.
    func log(_ line: String, _ level: ReplicaLogLevel)

    /// The server now heartbeats under `identity` (printed as `server id: ID` by the real server).
    func registered(as identity: ServerIdentity)

    /// Carries out `batch` of the server's log (append, then sync when it says so), then hands the outcome to
    /// `ReplicaDriver.logWritten(_:freeBytes:)` with the disk's free space after it (nil when it could not be
    /// read). The driver hands over one batch at a time.
    func writeLog(_ batch: WriteAheadLog.Batch)

    /// The log could not be written: the process stops at once, acknowledging nothing more, with `message`.
    func stopAfterDiskFailure(_ message: String)

    /// Writes `snapshot` to the data directory (`StoreSnapshot.write`) without holding up the driver, then hands
    /// the outcome to `ReplicaDriver.snapshotWritten(_:)`. The driver hands over one snapshot at a time.
    func writeSnapshot(_ snapshot: StoreSnapshot)
}

extension ReplicaHost {
    /// A driver without a log never writes one; hosts that never run one need not say how.
    public func writeLog(_ batch: WriteAheadLog.Batch) {
        preconditionFailure("this host keeps no log")
    }

    public func stopAfterDiskFailure(_ message: String) {
        preconditionFailure("this host keeps no log")
    }

    public func writeSnapshot(_ snapshot: StoreSnapshot) {
        preconditionFailure("this host keeps no log")
    }
}

/// Why the driver called the viewleader.
public enum ViewLeaderCall: Equatable, Sendable {
    /// A heartbeat sent at `sentMs`: a lease granted in answer counts from then.
    case heartbeat(sentMs: Int64)
    /// `query_servers`, for the view.
    case viewFetch
    /// `suspect`: calls to `peer` go unanswered (see `PeerReachability`).
    case suspect(peer: String)
}

/// What came of a call to the viewleader.
public enum ViewLeaderAnswer: Sendable {
    case reply(JSONValue)
    /// No answer: the reason, for the log.
    case failed(String)

    var reply: JSONValue? {
        if case .reply(let reply) = self { return reply }
        return nil
    }
}

/// A reminder the driver set; the host hands it back once its delay has passed.
public enum ReplicaTimer: Equatable, Sendable {
    /// Time for the next heartbeat.
    case heartbeat
    /// A reminder the replica node asked for.
    case node(Alarm)
    /// Time to sync the log, in `--fsync everysec`.
    case logSync
}

public enum ReplicaLogLevel: Sendable {
    case info
    case warning
}
