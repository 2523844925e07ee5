import Authentication
import CommandLineKit
import Durability
import Glibc
import Transport
import Wire

/// The server process: a `FrameServer` whose loop runs the server's `ReplicaDriver` over sockets.
///
/// Every request, peer answer, heartbeat answer and timer reaches the driver on the loop thread; nothing else
/// touches it.
public final class ServerService: @unchecked Sendable {
    public let server: FrameServer
    public let configuration: ServerConfiguration
    private let log: Log

    /// Binds the listening socket (so the port is known, and with it the default data directory).
    public init(configuration: ServerConfiguration, log: Log) throws(SocketError) {
        self.configuration = configuration
        self.log = log
        server = try FrameServer(listener: configuration.listener)
        server.onLimitReached = { [log] line in log.warning(line) }
        server.isMemberRequest = { frame in (try? ServerRequest(frame: frame))?.isMemberMessage == true }
    }

    /// Serves and heartbeats as `identity` until `stop`, from the open data directory `files` and what was recovered
    /// from it (both nil: in memory only).
    public func run(identity: ServerIdentity, files: DirectoryFiles? = nil, recovered: RecoveredState? = nil) {
        precondition((files == nil) == (recovered == nil), "a data directory comes with what was recovered from it")
        let host = SocketReplicaHost(server: server, log: log, viewLeaderHost: configuration.viewLeader.host,
                                     viewLeaderPorts: configuration.viewLeaderPorts, files: files)
        let driver = ReplicaDriver(host: host, identity: identity, port: server.port,
                                   advertisedHost: configuration.advertisedHost,
                                   heartbeatIntervalMs: Int64(configuration.heartbeatIntervalMs),
                                   recordLimits: RecordLimits(
                                       frameBytesMax: configuration.listener.limits.frameBytesMax),
                                   memoryQuota: configuration.memoryQuota, recovered: recovered,
                                   diskReserve: configuration.diskReserve,
                                   snapshotPolicy: configuration.snapshotPolicy)
        host.driver = driver
        driver.start()
        // The handler runs only inside `server.run`, which keeps `driver` alive: an unowned reference that is never
        // checked costs nothing per request.
        server.run(frames: { [unowned(unsafe) driver] frame, responder in
            do throws(RequestError) {
                let request = try ServerRequest(frame: frame)
                if let refusal = AuthorityRefusal.refusal(needed: request.requiredRole, held: responder.role) {
                    return responder.reply(ServerReply.error(refusal))
                }
                driver.receive(request, from: responder)
            } catch {
                responder.reply(ServerReply(error))
            }
        })
        host.driver = nil
    }

    public func stop() {
        server.stop()
    }
}

/// Everything a server is started with.
public struct ServerConfiguration: Sendable {
    public static let defaultHeartbeatIntervalSeconds = 1.0

    public var listener: ListenerOptions
    public var viewLeader: HostPort
    public var heartbeatIntervalMs: Int
    /// Host sent in heartbeats as `addr`; nil lets the viewleader use the address it sees.
    public var advertisedHost: String?
    /// The data held before writes are refused.
    public var memoryQuota = ServerConfiguration.defaultMemoryQuota
    /// Where the server logs every change and keeps its ID.
    public var storage = Storage.perPort(root: StateRoot.defaultDirectory)
    /// When the log is synced (`--fsync`).
    public var fsync = WriteAheadLog.SyncMode.always
    /// Free space the data directory's disk keeps (`--min-free-disk`).
    public var diskReserve = DiskReserve.standard
    /// When the log is replaced by a snapshot (`--snapshot-log-bytes`).
    public var snapshotPolicy = SnapshotPolicy.standard

    /// A quarter of this machine's physical memory.
    public static let defaultMemoryQuota = MemoryQuota.standard(
        physicalBytes: Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))))
    /// The smallest `--max-memory`: room for a few of the largest values.
    public static let memoryQuotaBytesMin = 16 << 20

    /// Where a server keeps its data.
    public enum Storage: Sendable, Equatable {
        /// Nothing on disk (`--in-memory`): a restart starts empty under a fresh ID.
        case inMemory
        /// `--data-dir DIR`.
        case directory(String)
        /// The default: `ROOT/server-PORT` for the port it listens on, so a plain restart on the same port finds
        /// its data. With `--port 0` the port changes at every start, so nothing is kept.
        case perPort(root: String)

        /// The data directory for a server listening on `port`, having asked for `requestedPorts`; nil: in memory.
        public func directory(port: Int, requestedPorts: [Int]) -> String? {
            switch self {
            case .inMemory: nil
            case .directory(let path): path
            case .perPort(let root): requestedPorts == [0] ? nil : root + "/server-\(port)"
            }
        }
    }

    /// Ports to try for the viewleader: the one given, or its default range.
    public var viewLeaderPorts: [Int] {
        viewLeader.port.map { [$0] } ?? Array(DefaultPorts.viewLeader)
    }

    /// A fresh random ID: 16 hex digits, so two starts never collide in practice.
    public static func makeServerID() -> String {
        let raw = String(UInt64.random(in: 1...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - raw.count) + raw
    }
}
