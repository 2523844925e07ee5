import Authentication
import Campaign
import ClientKit
import Foundation
import Glibc
import Transport
import Wire

/// A viewleader and servers on loopback with ephemeral ports and short leases, torn down by `stop`.
final class LocalCluster: @unchecked Sendable {
    /// Short enough that expiry tests finish quickly, long enough to ride out a loaded 2-core machine.
    static let leaseSeconds = 1.5
    static let heartbeatSeconds = 0.2

    let directory: URL
    private(set) var viewLeader: ChildProcess
    let viewLeaderPort: Int
    private let viewLeaderArguments: [String]
    private(set) var servers: [ChildProcess] = []
    /// The key the harness's own clients authenticate with, on a cluster started with keys.
    var clientKey: Key?

    init(viewLeaderArguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.viewLeaderArguments = ["--lease", String(Self.leaseSeconds)] + viewLeaderArguments
        let state = directory.appendingPathComponent("state")
        viewLeader = try ChildProcess(executable: "viewleader",
                                      arguments: ["--port", "0", "--state-dir", state.path] + self.viewLeaderArguments,
                                      name: "viewleader", logDirectory: directory)
        viewLeaderPort = try viewLeader.listeningPort()
    }

    /// Where the viewleader keeps its state, unless a restart names another.
    var stateDirectory: URL { directory.appendingPathComponent("state") }

    /// The viewleader's state file in `stateDirectory`.
    var stateFile: URL { stateDirectory.appendingPathComponent("viewleader-\(viewLeaderPort).json") }

    /// SIGKILLs the viewleader and starts it again on the same port, with the same state directory or `stateDirectory`.
    func restartViewLeader(stateDirectory other: URL? = nil) throws {
        viewLeader.kill(SIGKILL)
        restarts += 1
        viewLeader = try ChildProcess(executable: "viewleader",
                                      arguments: ["--port", String(viewLeaderPort),
                                                  "--state-dir", (other ?? stateDirectory).path] + viewLeaderArguments,
                                      name: "viewleader-restarted\(restarts)", logDirectory: directory)
        _ = try viewLeader.listeningPort()
    }

    private var restarts = 0

    /// Starts a server heartbeating to this cluster's viewleader and waits until it is listening.
    @discardableResult
    func startServer(arguments: [String] = []) throws -> (process: ChildProcess, port: Int, id: String) {
        let process = try ChildProcess(
            executable: "server",
            arguments: ["--port", "0", "--viewleader", "127.0.0.1:\(viewLeaderPort)",
                        "--heartbeat-interval", String(Self.heartbeatSeconds)] + arguments,
            name: "server\(servers.count)", logDirectory: directory)
        servers.append(process)
        let id = try process.waitForLine(prefix: "server id: ")
        return (process, try process.listeningPort(), id)
    }

    /// The server process that heartbeats under `id` now: a server whose lease lapsed (a loaded machine can stall
    /// one past a short lease) registers again under a fresh ID and prints it.
    func server(withID id: String) -> ChildProcess? {
        servers.first { $0.stdoutLines.last { $0.hasPrefix("server id: ") } == "server id: \(id)" }
    }

    func viewLeaderClient() -> ViewLeaderClient {
        ViewLeaderClient(host: "127.0.0.1", port: viewLeaderPort, timeoutMs: 5_000, key: clientKey)
    }

    /// Polls the view until `condition` holds; returns the view that satisfied it.
    func waitForView(timeoutMs: Int = 15_000, _ condition: (ViewDescription) -> Bool) throws -> ViewDescription {
        let client = viewLeaderClient()
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        var last: ViewDescription?
        while Date() < deadline {
            if let view = try? client.queryServers() {
                last = view
                if condition(view) { return view }
            }
            usleep(20_000)
        }
        throw HarnessError.timedOut("view never reached the expected state; last: \(String(describing: last))\n"
            + "viewleader log:\n\(viewLeader.log)")
    }

    func stop() {
        for server in servers { server.kill() }
        viewLeader.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A fresh connection for raw frames: malformed input, and classic one-request-per-connection clients.
func rawConnection(port: Int) throws -> FrameConnection {
    try FrameConnection(host: "127.0.0.1", port: port, timeoutMs: 5_000)
}
