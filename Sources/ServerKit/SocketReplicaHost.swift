import CommandLineKit
import Dispatch
import Durability
import Transport
import Wire

/// The real world of a `ReplicaDriver`: the frame server's loop, its timers, peer channels, blocking calls to the
/// viewleader on a side queue, and the monotonic clock.
///
/// Every driver call happens on the loop thread: peers are reached through `PeerChannel`s on the same loop, so
/// their answers arrive there; timers are the loop's; the viewleader calls run elsewhere (a connection to it may
/// take seconds to fail) and hop back with `execute`.
final class SocketReplicaHost: ReplicaHost, @unchecked Sendable {
    /// Set by `ServerService` before the loop runs and cleared after it returns (the two refer to each other). Not
    /// weak: a weakly referenced object counts its references the slow way, and the driver is touched per request.
    var driver: ReplicaDriver<SocketReplicaHost>?
    private let server: FrameServer
    private let log: Log
    private let viewLeaderHost: String
    private let viewLeaderPorts: [Int]
    /// One pipelined channel per peer address, made on first use; loop thread only.
    private var channels: [String: PeerChannel] = [:]
    /// Heartbeats go one at a time on this queue, over `heartbeatConnection` (touched only there).
    private let heartbeatQueue = DispatchQueue(label: "replicatedkv.heartbeat")
    private var heartbeatConnection: FrameConnection?
    /// The data directory: its log on `logQueue`, its snapshots on `snapshotQueue`, its identity file on the loop;
    /// nil in memory only.
    private let files: DirectoryFiles?
    /// Log batches are written and synced here, one at a time, so the loop never waits for the disk.
    private let logQueue = DispatchQueue(label: "replicatedkv.log")
    /// Snapshots are written here, beside the log's batches (they never touch the same file).
    private let snapshotQueue = DispatchQueue(label: "replicatedkv.snapshot", qos: .utility)

    init(server: FrameServer, log: Log, viewLeaderHost: String, viewLeaderPorts: [Int], files: DirectoryFiles?) {
        self.server = server
        self.log = log
        self.viewLeaderHost = viewLeaderHost
        self.viewLeaderPorts = viewLeaderPorts
        self.files = files
    }

    var nowMs: Int64 { MonotonicClock.nowMs() }

    func answer(_ responder: Responder, with reply: ServerReply) {
        responder.reply(reply)
    }

    func callPeer(_ id: CallID, address: String, message: ServerRequest, timeoutMs: Int64) {
        guard let channel = channel(to: address, timeoutMs: timeoutMs) else {
            log.warning("peer address \"\(address)\" is not host:port; the call to it fails")
            server.execute { [self] in driver?.peerAnswered(id, reply: nil) }
            return
        }
        channel.call(message) { [self] result in driver?.peerAnswered(id, reply: try? result.get()) }
    }

    func callViewLeader(_ message: JSONValue, purpose: ViewLeaderCall, timeoutMs: Int64) {
        switch purpose {
        case .heartbeat:
            heartbeatQueue.async { [self] in
                let answer = heartbeat(message, timeoutMs: Int(timeoutMs))
                server.execute { [self] in driver?.viewLeaderAnswered(purpose, answer) }
            }
        case .viewFetch, .suspect:
            DispatchQueue.global().async { [self] in
                let answer: ViewLeaderAnswer
                do {
                    let connection = try FrameConnection.connectFirst(host: viewLeaderHost, ports: viewLeaderPorts,
                                                                      timeoutMs: Int(timeoutMs))
                    defer { connection.close() }
                    answer = .reply(try connection.call(message, timeoutMs: Int(timeoutMs)))
                } catch {
                    answer = .failed("\(error)")
                }
                server.execute { [self] in driver?.viewLeaderAnswered(purpose, answer) }
            }
        }
    }

    func startTimer(afterMs delayMs: Int64, _ timer: ReplicaTimer) {
        server.after(ms: Int(delayMs)) { [weak self] in self?.driver?.timerFired(timer) }
    }

    /// Saved on the loop: a denial is rare, and the identity file is not one the log's thread touches.
    func nextIdentity(after denied: ServerIdentity) throws(DiskError) -> ServerIdentity {
        try IdentityFile.afterDenial(of: denied, in: files, freshID: ServerConfiguration.makeServerID)
    }

    func log(_ line: String, _ level: ReplicaLogLevel) {
        switch level {
        case .info: log.info(line)
        case .warning: log.warning(line)
        }
    }

    func registered(as identity: ServerIdentity) {
        printLine("server id: \(identity.id)")
    }

    /// A batch that only writes (`--fsync everysec` and `no`) is written here on the loop, as Redis writes its AOF
    /// before replying: a write to the page cache takes microseconds, far less than a hop to another thread and
    /// back. Its outcome is handed over at the end of this turn of the loop, once every ready event was handled:
    /// the events after the first one of the turn log into the next batch, which is then written and released in
    /// the same turn, so a turn's replies leave in it with two writes at most. A batch that syncs goes to
    /// `logQueue`, so the loop never waits for the disk. One batch is in flight at a time, so the two never touch
    /// the files at once.
    func writeLog(_ batch: WriteAheadLog.Batch) {
        precondition(files != nil, "a server in memory only writes no log")
        guard batch.sync else {
            let (failure, freeBytes) = carryOut(batch)
            server.soon { [self] in driver?.logWritten(failure, freeBytes: freeBytes) }
            return
        }
        logQueue.async { [self] in
            let (failure, freeBytes) = carryOut(batch)
            server.execute { [self] in driver?.logWritten(failure, freeBytes: freeBytes) }
        }
    }

    /// Writes (and syncs) `batch`; returns the failure, if any, and the disk's free space after it.
    private func carryOut(_ batch: WriteAheadLog.Batch) -> (DiskError?, Int?) {
        do throws(DiskError) {
            try WriteAheadLog.carryOut(batch, on: files!)
        } catch {
            return (error, try? files!.freeBytes())
        }
        return (nil, try? files!.freeBytes())
    }

    func writeSnapshot(_ snapshot: StoreSnapshot) {
        snapshotQueue.async { [self] in
            let outcome: Result<Int, DiskError>
            do throws(DiskError) {
                outcome = .success(try snapshot.write(to: files!))
            } catch {
                outcome = .failure(error)
            }
            server.execute { [self] in driver?.snapshotWritten(outcome) }
        }
    }

    func stopAfterDiskFailure(_ message: String) {
        log.warning(message)
        exitWithError("server", message, status: ToolExit.diskFailure)
    }

    /// One heartbeat on the kept connection, opening it first if needed; a failure closes it, so the next
    /// heartbeat starts fresh. Runs on `heartbeatQueue`.
    private func heartbeat(_ message: JSONValue, timeoutMs: Int) -> ViewLeaderAnswer {
        do {
            if heartbeatConnection == nil || !heartbeatConnection!.isOpen {
                heartbeatConnection = try FrameConnection.connectFirst(
                    host: viewLeaderHost, ports: viewLeaderPorts, timeoutMs: Int(HeartbeatTiming.viewLeaderTimeoutMs))
            }
            return .reply(try heartbeatConnection!.call(message, timeoutMs: timeoutMs))
        } catch {
            heartbeatConnection?.close()
            heartbeatConnection = nil
            return .failed("\(error)")
        }
    }

    private func channel(to address: String, timeoutMs: Int64) -> PeerChannel? {
        if let channel = channels[address] { return channel }
        guard let (host, port) = splitAddress(address) else { return nil }
        let channel = PeerChannel(loop: server, host: host, port: port, callTimeoutMs: Int(timeoutMs))
        channels[address] = channel
        return channel
    }
}
