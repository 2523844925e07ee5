import Authentication
import Foundation
import Glibc
import Transport
import Wire

/// The viewleader and servers of a campaign: real processes, each on a machine of its own (a network
/// namespace with its own address), or all on loopback when namespaces are not available.
final class CampaignCluster: @unchecked Sendable {
    enum ProcessState: Equatable {
        case running, paused, crashed, retired
    }

    /// Where one process runs.
    struct Machine {
        let name: String
        let host: NetworkLab.Host?
        var address: String { host?.address ?? "127.0.0.1" }
    }

    struct ServerSlot {
        let machine: Machine
        var process: ChildProcess?
        var state: ProcessState
        /// With data directories: which directory the server uses; a restart without its data takes the next.
        var dataGeneration = 0
    }

    /// A server's start-up lines must appear within this time, even on a loaded machine.
    static let startUpTimeoutMs = 15_000
    /// The viewleader's `query_servers` answer must come within this time.
    static let queryTimeoutMs = 2_000

    let configuration: CampaignConfiguration
    let directory: URL
    let lab: NetworkLab?
    let viewLeaderMachine: Machine
    private(set) var viewLeader: ChildProcess
    private(set) var viewLeaderState = ProcessState.running
    private(set) var viewLeaderPort = 0
    private(set) var servers: [ServerSlot] = []
    private var viewLeaderStarts = 0
    /// Copies of the viewleader's state file taken as the view changed, oldest first, for restarts from older state.
    private var savedStates: [Data] = []
    /// State copies kept.
    static let savedStatesMax = 8

    /// With `configuration.authenticated`: the key the campaign's clients use (read-write), and the processes'
    /// arguments that name the key file; otherwise nil and `--insecure` (they listen beyond loopback).
    let clientKey: Key?
    let securityArguments: [String]

    init(configuration: CampaignConfiguration, directory: URL, lab: NetworkLab?) throws {
        self.configuration = configuration
        self.directory = directory
        self.lab = lab
        if configuration.authenticated {
            let keys = KeyFile(keys: [Key(name: "cluster", role: .member, secret: SecureRandom.bytes(Key.secretBytes)),
                                      Key(name: "campaign", role: .readWrite,
                                          secret: SecureRandom.bytes(Key.secretBytes))])
            let path = directory.appendingPathComponent("cluster.keys")
            try keys.text.write(to: path, atomically: true, encoding: .utf8)
            clientKey = keys.keys[1]
            securityArguments = ["--cluster-key-file", path.path]
        } else {
            clientKey = nil
            securityArguments = ["--insecure"]
        }
        viewLeaderMachine = Machine(name: "viewleader", host: try lab?.addHost())
        viewLeader = try Self.launchViewLeader(configuration: configuration, directory: directory,
                                               machine: viewLeaderMachine, port: 0, start: 0,
                                               securityArguments: securityArguments)
        viewLeaderPort = try viewLeader.listeningPort()
    }

    var viewLeaderAddress: String { viewLeaderMachine.address }

    // MARK: Servers

    /// Starts a server on a new machine; returns its index. `prepare` sees the machine before the server starts
    /// on it (to cut it off from someone first).
    @discardableResult
    func joinServer(prepare: (Machine) -> Void = { _ in }) throws -> Int {
        let index = servers.count
        servers.append(ServerSlot(machine: Machine(name: "server\(index)", host: try lab?.addHost()),
                                  process: nil, state: .crashed))
        prepare(servers[index].machine)
        try startServer(index)
        return index
    }

    /// Starts (or restarts) the server on machine `index` and waits until it listens: fresh and empty, or, with
    /// `keepingData`, on the data directory it used before (its ID, keys and snapshots).
    func startServer(_ index: Int, keepingData: Bool = false) throws {
        let machine = servers[index].machine
        let starts = servers[index].process == nil ? 0 : 1
        var storage = ["--in-memory"]
        if configuration.dataDirectories {
            precondition(!keepingData || starts > 0, "only a server that ran has data to keep")
            if !keepingData && starts > 0 { servers[index].dataGeneration += 1 }
            storage = ["--data-dir", dataDirectory(of: index).path,
                       "--snapshot-log-bytes", String(configuration.snapshotLogBytes)]
        }
        let suffix = starts == 0 ? "" : keepingData ? "-on-data" : "-restarted"
        let process = try ChildProcess(
            executableURL: configuration.binaries.appendingPathComponent("server"),
            arguments: ["--bind", machine.address] + securityArguments + ["--port", "0",
                        "--viewleader", "\(viewLeaderAddress):\(viewLeaderPort)",
                        "--heartbeat-interval", seconds(configuration.heartbeatIntervalMs),
                        "--max-frame-bytes", String(configuration.frameBytesMax)] + storage,
            name: "\(machine.name)-\(UUID().uuidString.prefix(4))\(suffix)",
            logDirectory: directory, networkNamespace: machine.host?.namespace)
        servers[index].process = process
        servers[index].state = .running
        _ = try process.waitForLine(prefix: "server id: ", timeoutMs: Self.startUpTimeoutMs)
        _ = try process.listeningPort()
    }

    /// The data directory the server on machine `index` uses now (with data directories on).
    func dataDirectory(of index: Int) -> URL {
        directory.appendingPathComponent("data")
            .appendingPathComponent("\(servers[index].machine.name)-\(servers[index].dataGeneration)")
    }

    /// Waits up to `timeoutMs` for the server on machine `index` to be writing a snapshot (its `.snap.tmp` file
    /// exists), looking every millisecond; returns whether it saw one.
    func waitUntilWritingSnapshot(_ index: Int, timeoutMs: Int) -> Bool {
        let path = dataDirectory(of: index).path
        let deadline = MonotonicClock.nowMs() + Int64(timeoutMs)
        while MonotonicClock.nowMs() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if names.contains(where: { $0.hasPrefix("snap-") && $0.hasSuffix(".snap.tmp") }) { return true }
            usleep(1_000)
        }
        return false
    }

    func killServer(_ index: Int, retiring: Bool) {
        servers[index].process?.kill(SIGKILL)
        servers[index].state = retiring ? .retired : .crashed
    }

    func pauseServer(_ index: Int) {
        guard servers[index].state == .running else { return }
        servers[index].process?.signal(SIGSTOP)
        servers[index].state = .paused
    }

    func resumeServer(_ index: Int) {
        guard servers[index].state == .paused else { return }
        servers[index].process?.signal(SIGCONT)
        servers[index].state = .running
    }

    /// The ID the server on machine `index` heartbeats under now: it takes a fresh one when its lease lapsed.
    func currentID(of index: Int) -> String? {
        guard servers[index].state == .running || servers[index].state == .paused else { return nil }
        let prefix = "server id: "
        return servers[index].process?.stdoutLines.last { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    // MARK: Viewleader

    func killViewLeader() {
        viewLeader.kill(SIGKILL)
        viewLeaderState = .crashed
    }

    /// The viewleader's state file.
    var viewLeaderStateFile: URL {
        directory.appendingPathComponent("viewleader-state").appendingPathComponent("viewleader-\(viewLeaderPort).json")
    }

    /// Keeps a copy of the viewleader's state as it is now, for a later restart from older state.
    func copyViewLeaderState() {
        guard let data = try? Data(contentsOf: viewLeaderStateFile), data != savedStates.last else { return }
        savedStates = Array((savedStates + [data]).suffix(Self.savedStatesMax))
    }

    /// Starts the viewleader again on the same machine, port and state folder, finding in it the state it saved
    /// last, none, or the oldest copy kept (`restoring`); returns whether it found anything but its latest state.
    @discardableResult
    func restartViewLeader(restoring: SavedStateChoice = .latest) throws -> Bool {
        guard viewLeaderState == .crashed else { return false }
        let latest = try? Data(contentsOf: viewLeaderStateFile)
        switch restoring {
        case .latest:
            break
        case .none:
            try? FileManager.default.removeItem(at: viewLeaderStateFile)
        case .older:
            if let oldest = savedStates.first { try oldest.write(to: viewLeaderStateFile) }
        }
        if restoring != .latest { savedStates.removeAll() }
        let changed = latest != (try? Data(contentsOf: viewLeaderStateFile))
        viewLeaderStarts += 1
        viewLeader = try Self.launchViewLeader(configuration: configuration, directory: directory,
                                               machine: viewLeaderMachine, port: viewLeaderPort,
                                               start: viewLeaderStarts, securityArguments: securityArguments)
        viewLeaderState = .running
        _ = try viewLeader.listeningPort()
        return changed
    }

    func pauseViewLeader() {
        guard viewLeaderState == .running else { return }
        viewLeader.signal(SIGSTOP)
        viewLeaderState = .paused
    }

    func resumeViewLeader() {
        guard viewLeaderState == .paused else { return }
        viewLeader.signal(SIGCONT)
        viewLeaderState = .running
    }

    private static func launchViewLeader(configuration: CampaignConfiguration, directory: URL, machine: Machine,
                                         port: Int, start: Int, securityArguments: [String]) throws -> ChildProcess
    {
        try ChildProcess(
            executableURL: configuration.binaries.appendingPathComponent("viewleader"),
            arguments: ["--bind", machine.address] + securityArguments + ["--port", String(port),
                        "--lease", seconds(configuration.leaseMs),
                        "--state-dir", directory.appendingPathComponent("viewleader-state").path],
            name: start == 0 ? "viewleader" : "viewleader-restart\(start)", logDirectory: directory,
            networkNamespace: machine.host?.namespace)
    }

    /// The viewleader's view, with each server's synced epoch; nil while it cannot answer.
    func view() -> ViewDescription? {
        guard viewLeaderState == .running,
              let connection = try? FrameConnection(host: viewLeaderAddress, port: viewLeaderPort,
                                                    timeoutMs: Self.queryTimeoutMs, key: clientKey)
        else { return nil }
        defer { connection.close() }
        guard let reply = try? connection.call(["cmd": "query_servers"], timeoutMs: Self.queryTimeoutMs) else {
            return nil
        }
        return try? ViewDescription(reply: reply)
    }

    /// Stops every process this cluster started, by PID.
    func stop() {
        for slot in servers { slot.process?.kill(SIGKILL) }
        viewLeader.kill(SIGKILL)
    }
}

private func seconds(_ ms: Int) -> String { String(Double(ms) / 1000) }
