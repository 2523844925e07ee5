import CommandLineKit
import Dispatch
import Foundation
import Transport
import Wire

/// The server's shell: a `FrameServer` for client requests and a thread that heartbeats to the viewleader.
///
/// `ServerCore` lives on the frame server's loop thread. The heartbeat thread owns the `HeartbeatSession` and
/// hands what it learns (the epoch) to the loop with `execute`, so neither side shares mutable state.
public final class ServerService: @unchecked Sendable {
    /// Time allowed to connect to the viewleader or hear its heartbeat reply.
    public static let viewLeaderTimeoutMs = 2_000

    /// A heartbeat unanswered for two intervals is given up, and the next goes on a fresh connection: after a
    /// partition heals, a connection whose packets were dropped can sit in TCP's retransmission back-off for
    /// seconds, longer than a short lease.
    public static func heartbeatCallTimeoutMs(intervalMs: Int) -> Int {
        min(viewLeaderTimeoutMs, max(100, 2 * intervalMs))
    }

    public let server: FrameServer
    public let configuration: ServerConfiguration
    private var core = ServerCore()
    private var replica: ReplicaShell!
    private let log: Log
    private let stopped = DispatchSemaphore(value: 0)
    private let heartbeatDone = DispatchSemaphore(value: 0)
    private let state = LockedFlag()

    public init(configuration: ServerConfiguration, log: Log) throws(SocketError) {
        self.configuration = configuration
        self.log = log
        server = try FrameServer(listener: configuration.listener)
    }

    /// Serves and heartbeats until `stop`.
    public func run(serverID: String) {
        replica = ReplicaShell(serverID: serverID, server: server, log: log,
                               viewLeaderHost: configuration.viewLeader.host,
                               viewLeaderPorts: configuration.viewLeaderPorts)
        let thread = Thread { [self] in
            heartbeatLoop(initialID: serverID)
            heartbeatDone.signal()
        }
        thread.start()
        // The handler runs only inside `server.run`, which this method's caller keeps `self` alive through: an
        // unowned reference that is never checked costs nothing per request.
        server.run(frames: { [unowned(unsafe) self] frame, responder in
            let request: ServerRequest
            do throws(RequestError) {
                request = try ServerRequest(frame: frame)
            } catch {
                responder.reply(ServerReply(error))
                return
            }
            switch request {
            case .print, .set, .get:
                let (reply, logLine) = core.handle(request)
                responder.reply(reply)
                if let logLine { log.info(logLine) }
            case .queryAllKeys:
                // Both stores' keys: the classic per-server one and the replicated one.
                responder.reply(ServerReply.keys(Set(core.store.keys).union(replica.liveKeys).sorted()))
            case .getr, .write, .replicate, .pull, .viewChange:
                replica.handle(request, responder: responder)
            }
        })
        state.set()
        stopped.signal()
        heartbeatDone.wait()
    }

    public func stop() {
        server.stop()
    }

    private func heartbeatLoop(initialID: String) {
        var session = HeartbeatSession(serverID: initialID, port: server.port,
                                       advertisedHost: configuration.advertisedHost)
        var connection: FrameConnection?
        var viewLeaderReachable = true
        while !state.isSet {
            do {
                if connection == nil || !connection!.isOpen {
                    connection = try FrameConnection.connectFirst(
                        host: configuration.viewLeader.host, ports: configuration.viewLeaderPorts,
                        timeoutMs: Self.viewLeaderTimeoutMs)
                }
                let sentMs = MonotonicClock.nowMs()
                let request = session.request(syncedEpoch: replica.syncedEpoch.load(ordering: .relaxed),
                                              knownEpoch: replica.knownEpoch.load(ordering: .relaxed),
                                              view: replica.adoptedView.withLock { $0 })
                let reply = try connection!.call(
                    request, timeoutMs: Self.heartbeatCallTimeoutMs(intervalMs: configuration.heartbeatIntervalMs))
                if !viewLeaderReachable { log.info("viewleader reachable again") }
                viewLeaderReachable = true
                act(on: session.receive(reply), session: &session, sentMs: sentMs)
            } catch {
                connection?.close()
                connection = nil
                if viewLeaderReachable { log.warning("cannot reach the viewleader: \(error); will keep trying") }
                viewLeaderReachable = false
            }
            _ = stopped.wait(timeout: .now() + .milliseconds(configuration.heartbeatIntervalMs))
        }
    }

    /// True while the viewleader keeps answering `retry`; the first one is logged, the rest until an `ok` are not
    /// (a recovering viewleader answers every heartbeat that way for about a lease).
    private var retrying = false

    private func act(on outcome: HeartbeatSession.Outcome, session: inout HeartbeatSession, sentMs: Int64) {
        if case .retry = outcome {} else { retrying = false }
        switch outcome {
        case .accepted(let epoch, let joined, let epochChanged):
            if joined { log.info("joined the view as server \(session.serverID) in epoch \(epoch)") }
            else if epochChanged { log.info("epoch is now \(epoch)") }
            let leaseMs = session.leaseMs ?? 0
            let allSynced = session.allSyncedEpoch
            server.execute { [self] in
                core.observe(epoch: epoch)
                replica.heartbeatAccepted(sentMs: sentMs, epoch: epoch, leaseMs: leaseMs, allSyncedEpoch: allSynced)
            }
        case .denied(let reason):
            let freshID = ServerConfiguration.makeServerID()
            log.warning("the viewleader denied server \(session.serverID): \(reason). "
                + "Was this process paused or cut off? Registering again as new server \(freshID)")
            session.restart(as: freshID)
            server.execute { [self] in replica.restart(as: freshID) }
            printLine("server id: \(freshID)")
        case .retry(let reason):
            if !retrying { log.warning("viewleader asks to retry: \(reason); heartbeating on") }
            retrying = true
        case .malformed(let reason):
            log.warning("unexpected heartbeat reply: \(reason)")
        }
    }
}

/// A flag set once by one thread and read by others.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }

    func set() { lock.withLock { value = true } }
}

/// Everything a server is started with.
public struct ServerConfiguration: Sendable {
    public static let defaultPorts = 38_000...38_009
    public static let defaultHeartbeatIntervalSeconds = 1.0

    public var listener: ListenerOptions
    public var viewLeader: HostPort
    public var heartbeatIntervalMs: Int
    /// Host sent in heartbeats as `addr`; nil lets the viewleader use the address it sees.
    public var advertisedHost: String?

    /// How much sooner than the viewleader a server considers its own lease over: a fifth of the lease, so
    /// scheduling delays and clock-rate differences never let a server serve after it has been expired.
    public static func leaseMarginMs(leaseMs: Int64) -> Int64 { leaseMs / 5 }

    /// Ports to try for the viewleader: the one given, or its default range.
    public var viewLeaderPorts: [Int] {
        viewLeader.port.map { [$0] } ?? Array(39_000...39_009)
    }

    /// A fresh random ID: 16 hex digits, so two starts never collide in practice.
    public static func makeServerID() -> String {
        let raw = String(UInt64.random(in: 1...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - raw.count) + raw
    }
}
