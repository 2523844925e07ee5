import Authentication
import CommandLineKit
import Dispatch
import Glibc
import Transport
import Wire

/// The viewleader's shell: a `FrameServer` feeding requests and clock ticks into `ViewLeaderCore`.
///
/// The core lives on the server's loop thread and is touched nowhere else, so it needs no lock.
public final class ViewLeaderService: @unchecked Sendable {
    private var core: ViewLeaderCore
    private let log: Log
    public let server: FrameServer

    private let stateFile: StateFile

    /// Binds, then restores the state saved for the bound port, if any.
    public init(configuration: ViewLeaderConfiguration, log: Log) throws(ViewLeaderStartError) {
        self.log = log
        do {
            server = try FrameServer(listener: configuration.listener)
            server.onLimitReached = { [log] line in log.warning(line) }
            server.isMemberRequest = { frame in
                (try? ViewLeaderRequest(Request(frame: frame)))?.isMemberMessage == true
            }
        } catch {
            throw .cannotListen(error)
        }
        stateFile = StateFile(directory: configuration.stateDirectory, port: server.port)
        do {
            try stateFile.checkWritable()
        } catch {
            throw .unwritableState(error)
        }
        let saved: ViewLeaderState?
        do {
            saved = try stateFile.load()
        } catch {
            throw .badState(error)
        }
        core = ViewLeaderCore(leaseMs: configuration.leaseMs, lockWaiterTimeoutMs: configuration.lockWaiterTimeoutMs,
                              restoring: saved, nowMs: MonotonicClock.nowMs())
        if let saved {
            log.info("restored epoch \(saved.epoch) with \(saved.members.count) server(s) from \(stateFile.path)")
        } else {
            log.info("no saved state at \(stateFile.path); starting at epoch 0")
        }
        server.every(ms: Int(ViewLeaderCore.tickIntervalMs(leaseMs: configuration.leaseMs))) { [unowned self] in
            carryOut(core.tick(nowMs: MonotonicClock.nowMs()))
        }
    }

    /// Serves until `stop`.
    public func run() {
        server.run(requests: { [unowned self] request, responder throws(RequestError) in
            if responder.role != nil, let refusal = AuthorityRefusal.refusal(
                needed: try ViewLeaderRequest(request).requiredRole, held: responder.role) {
                return responder.reply(Reply.error(refusal))
            }
            let (reply, effects) = try core.handle(request, peerHost: responder.peerHost, nowMs: MonotonicClock.nowMs())
            carryOut(effects)
            responder.reply(reply)
        })
    }

    public func stop() {
        server.stop()
    }

    /// Time a server has to take a view-change notice.
    public static let announceTimeoutMs = 500

    /// Sends `view_change` to every server at once, off the loop thread; failures are harmless.
    private func announce(epoch: Int64, to addresses: [String]) {
        for address in addresses {
            guard let (host, port) = splitAddress(address) else { continue }
            DispatchQueue.global().async {
                guard let connection = try? FrameConnection(host: host, port: port, timeoutMs: Self.announceTimeoutMs)
                else { return }
                _ = try? connection.call(["cmd": "view_change", "epoch": .integer(epoch)],
                                         timeoutMs: Self.announceTimeoutMs)
                connection.close()
            }
        }
    }

    /// Carries out effects in order; the core puts `persist` first, and the reply waits for all of them.
    private func carryOut(_ effects: [ViewLeaderEffect]) {
        for effect in effects {
            switch effect {
            case .log(let line):
                log.info(line)
            case .announce(let epoch, let addresses):
                announce(epoch: epoch, to: addresses)
            case .persist(let state):
                do {
                    try stateFile.save(state)
                } catch {
                    // Answering without the state on disk could hand out an epoch twice after a restart.
                    log.error("cannot save state: \(error); stopping rather than risk reusing an epoch")
                    exit(ToolExit.startFailure)
                }
            }
        }
    }
}

/// Everything the viewleader is started with.
public struct ViewLeaderConfiguration: Sendable {
    /// Default lease: long enough to ride out a busy machine, short enough that failures show within seconds.
    public static let defaultLeaseSeconds = 5.0
    public static let defaultLockWaiterTimeoutSeconds = 60.0

    public var listener: ListenerOptions
    public var leaseMs: Int64
    public var lockWaiterTimeoutMs: Int64
    /// Where the epoch and membership are kept across restarts.
    public var stateDirectory: String
}

/// Why the viewleader could not start.
public enum ViewLeaderStartError: Error, CustomStringConvertible {
    /// No candidate port could be bound.
    case cannotListen(SocketError)
    /// The saved state exists but cannot be read.
    case badState(StateFileError)
    /// The state directory cannot be written, so no view change could be saved.
    case unwritableState(StateFileError)

    public var description: String {
        switch self {
        case .cannotListen(let error): return "cannot listen: \(error); pass --port to choose another port"
        case .badState(let error):
            return "\(error); fix or remove the file, or pass --state-dir to start from another directory"
        case .unwritableState(let error):
            return "\(error); fix its permissions or pass --state-dir with a directory this user can write"
        }
    }
}
