import CommandLineKit
import Dispatch
import Synchronization
import Transport
import Wire

/// Runs a `ReplicaNode` on real sockets and timers: peer channels, view fetches and delayed alarms.
///
/// Confined to the frame server's loop thread: every entry point runs there. Peers are reached through
/// `PeerChannel`s on that same loop, so their answers arrive there too; the viewleader fetch and timers run
/// elsewhere and hop back with `server.execute` before touching the node.
final class ReplicaShell: @unchecked Sendable {
    static let viewFetchTimeoutMs = Int(ReplicaNode.viewFetchTimeoutMs)

    private(set) var node: ReplicaNode
    private let server: FrameServer
    private let log: Log
    private let viewLeaderHost: String
    private let viewLeaderPorts: [Int]
    /// Published for the heartbeat thread, which reports them to the viewleader.
    let syncedEpoch = Atomic<Int64>(-1)
    let knownEpoch = Atomic<Int64>(-1)
    let adoptedView = Mutex<ViewDescription?>(nil)
    /// One pipelined channel per peer address, made on first use.
    private var channels: [String: PeerChannel] = [:]
    /// Requests the node has yet to answer, by the token it was given.
    private var responders: [RequestToken: Responder] = [:]
    private var nextToken: UInt64 = 1

    init(serverID: String, server: FrameServer, log: Log, viewLeaderHost: String, viewLeaderPorts: [Int]) {
        node = ReplicaNode(serverID: serverID)
        self.server = server
        self.log = log
        self.viewLeaderHost = viewLeaderHost
        self.viewLeaderPorts = viewLeaderPorts
    }

    var liveKeys: [String] { node.core.store.liveKeys }

    // MARK: Events (all on the loop)

    func heartbeatAccepted(sentMs: Int64, epoch: Int64, leaseMs: Int64, allSyncedEpoch: Int64) {
        perform(node.heartbeatAccepted(sentMs: sentMs, epoch: epoch, leaseMs: leaseMs, allSyncedEpoch: allSyncedEpoch))
    }

    func restart(as freshID: String) {
        perform(node.restart(as: freshID))
    }

    func handle(_ request: ServerRequest, responder: Responder) {
        let token = RequestToken(nextToken)
        nextToken += 1
        let actions: [ReplicaAction]
        do throws(RequestError) {
            actions = try node.handle(request, token: token, nowMs: MonotonicClock.nowMs())
        } catch {
            responder.reply(ServerReply(error))
            return
        }
        responders[token] = responder
        perform(actions)
    }

    // MARK: Actions

    private func perform(_ actions: [ReplicaAction]) {
        for action in actions {
            switch action {
            case .reply(let token, let reply):
                responders.removeValue(forKey: token)?.reply(reply)
            case .call(let id, let address, let message):
                guard let channel = channel(to: address) else {
                    log.warning("peer address \"\(address)\" is not host:port; the call to it fails")
                    server.execute { [self] in perform(node.peerAnswered(id, reply: nil, nowMs: MonotonicClock.nowMs())) }
                    continue
                }
                channel.call(message) { [self] result in
                    perform(node.peerAnswered(id, reply: try? result.get(), nowMs: MonotonicClock.nowMs()))
                }
            case .fetchView:
                fetchView()
            case .wake(let delayMs, let alarm):
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(delayMs))) { [self] in
                    server.execute { [self] in perform(node.wake(alarm)) }
                }
            case .publishSyncedEpoch(let epoch):
                syncedEpoch.store(epoch, ordering: .relaxed)
            case .publishKnownEpoch(let epoch):
                knownEpoch.store(epoch, ordering: .relaxed)
            case .publishView(let view):
                adoptedView.withLock { $0 = view }
            case .log(let line):
                log.info(line)
            }
        }
    }

    private func channel(to address: String) -> PeerChannel? {
        if let channel = channels[address] { return channel }
        guard let (host, port) = splitAddress(address) else { return nil }
        let channel = PeerChannel(loop: server, host: host, port: port, callTimeoutMs: Int(ReplicaNode.peerCallTimeoutMs))
        channels[address] = channel
        return channel
    }

    private func fetchView() {
        let host = viewLeaderHost
        let ports = viewLeaderPorts
        DispatchQueue.global().async { [self] in
            let description: ViewDescription?
            do {
                let connection = try FrameConnection.connectFirst(host: host, ports: ports, timeoutMs: Self.viewFetchTimeoutMs)
                defer { connection.close() }
                description = try ViewDescription(reply: connection.call(["cmd": "query_servers"],
                                                                         timeoutMs: Self.viewFetchTimeoutMs))
            } catch {
                log.warning("cannot fetch the view: \(error); retrying")
                description = nil
            }
            server.execute { [self] in perform(node.viewFetched(description)) }
        }
    }
}
