import CommandLineKit
import Wire

/// The viewleader's shell: a `FrameServer` feeding requests and clock ticks into `ViewLeaderCore`.
///
/// The core lives on the server's loop thread and is touched nowhere else, so it needs no lock.
public final class ViewLeaderService: @unchecked Sendable {
    /// How often leases are checked; a lapsed lease is noticed within this much of expiring.
    public static func tickIntervalMs(leaseMs: Int64) -> Int {
        Int(max(10, min(250, leaseMs / 10)))
    }

    private var core: ViewLeaderCore
    private let log: Log
    public let server: FrameServer

    public init(configuration: ViewLeaderConfiguration, log: Log) throws(SocketError) {
        core = ViewLeaderCore(leaseMs: configuration.leaseMs, lockWaiterTimeoutMs: configuration.lockWaiterTimeoutMs)
        self.log = log
        server = try FrameServer(listener: configuration.listener)
        server.every(ms: Self.tickIntervalMs(leaseMs: configuration.leaseMs)) { [unowned self] in
            carryOut(core.tick(nowMs: MonotonicClock.nowMs()))
        }
    }

    /// Serves until `stop`.
    public func run() {
        server.run { [unowned self] request, responder throws(RequestError) in
            let (reply, effects) = try core.handle(request, peerHost: responder.peerHost, nowMs: MonotonicClock.nowMs())
            responder.reply(reply)
            carryOut(effects)
        }
    }

    public func stop() {
        server.stop()
    }

    private func carryOut(_ effects: [ViewLeaderEffect]) {
        for effect in effects {
            switch effect {
            case .log(let line): log.info(line)
            }
        }
    }
}

/// Everything the viewleader is started with.
public struct ViewLeaderConfiguration: Sendable {
    public static let defaultPorts = 39_000...39_009
    /// Default lease: long enough to ride out a busy machine, short enough that failures show within seconds.
    public static let defaultLeaseSeconds = 5.0
    public static let defaultLockWaiterTimeoutSeconds = 60.0

    public var listener: ListenerOptions
    public var leaseMs: Int64
    public var lockWaiterTimeoutMs: Int64
}
