import CommandLineKit
import Durability
import Glibc
import Transport
import Wire

/// The `server` executable: options, start-up lines, signal handling.
public enum ServerCommand {
    static let specs: [OptionSpec] = ListenerOptions.specs(defaultPorts: DefaultPorts.server) + [
        .value("viewleader", placeholder: "HOST[:PORT]",
               help: "viewleader to heartbeat to (default 127.0.0.1, trying ports \(DefaultPorts.describe(DefaultPorts.viewLeader)))"),
        .value("heartbeat-interval", placeholder: "SECONDS",
               help: "time between heartbeats; decimals allowed; keep it well below the viewleader's lease "
                   + "(default \(ServerConfiguration.defaultHeartbeatIntervalSeconds))"),
        .value("max-memory", placeholder: "BYTES",
               help: memoryHelp),
        .value("advertise", placeholder: "HOST",
               help: "host clients should use to reach this server (default: the --bind address, or the address "
                   + "the viewleader sees when binding to all interfaces)"),
        .value("data-dir", placeholder: "DIR",
               help: "log every change to DIR (created if missing), keep the server's ID there, and recover both "
                   + "at start-up (default STATE-DIR/server-PORT; with --port 0, in memory)"),
        .value("state-dir", placeholder: "DIR",
               help: "where the default data directory server-PORT is made (default \(StateRoot.defaultDirectory), "
                   + "beside the viewleader's state)"),
        .flag("in-memory", help: "keep nothing on disk: a restart starts empty under a fresh ID"),
        .value("fsync", placeholder: "MODE",
               help: "with a data directory: always (sync before acknowledging; the default), everysec (a power "
                   + "cut may lose the last second of acknowledged writes) or no (the operating system decides)"),
        .value("min-free-disk", placeholder: "BYTES",
               help: "with a data directory: free bytes the data directory's disk keeps; past them set and setr are "
                   + "refused with \"disk full\" (reads and deletes go on); default "
                   + "\(DiskReserve.standard.freeBytesMin)"),
        .value("snapshot-log-bytes", placeholder: "BYTES",
               help: "with a data directory: log bytes after which the stores are written as a snapshot and the log "
                   + "before it removed (also never before the log outgrows the last snapshot); default "
                   + "\(SnapshotPolicy.standard.logBytesMin)"),
        ToolVersion.spec,
        .flag("help", short: "h", help: "show this help"),
    ]

    static let memoryHelp: String = {
        let quota: Int = ServerConfiguration.defaultMemoryQuota.limitBytes
        return "bytes of keys and values held before set and setr are refused with \"out of memory\" (reads and "
            + "deletes go on); default a quarter of this machine's memory, \(quota)"
    }()

    static let helpText = OptionParser.helpText(
        usage: "server [OPTIONS]",
        description: """
            Serves a key-value store and heartbeats to the viewleader under a fresh random ID, or with --data-dir \
            under the ID saved there (a restart keeps its place on the ring). Prints "server id: ID" and \
            "listening on HOST:PORT" at start-up; stop it with Ctrl-C or SIGTERM.
            """,
        specs: specs,
        examples: [
            "server --port 0 --viewleader 127.0.0.1:39000",
            "server --max-memory 1073741824              # refuse writes past 1 GiB of keys and values",
            "server                                      # data in ~/.local/state/replicatedkv/server-PORT",
            "server --data-dir /var/lib/replicatedkv/s1  # keep every change on disk, synced before each reply",
            "server --in-memory                          # keep nothing on disk",
        ])

    /// Runs the server with command-line `arguments` (without the program name); returns the exit status.
    public static func main(arguments: [String]) -> Int32 {
        let configuration = ServiceLauncher.configure(tool: "server", arguments: arguments, specs: specs,
                                                      helpText: helpText) { parsed throws(OptionError) in
            let listener = try ListenerOptions(parsed, defaultPorts: DefaultPorts.server)
            let wildcard = ["0.0.0.0", "::", "[::]"].contains(listener.bindAddress)
            let fsyncText = parsed.string("fsync", default: WriteAheadLog.SyncMode.always.rawValue)
            guard let fsync = WriteAheadLog.SyncMode(rawValue: fsyncText) else {
                throw .invalidValue(option: "fsync", value: fsyncText, expected: "always, everysec or no")
            }
            var configuration = ServerConfiguration(
                listener: listener,
                viewLeader: try HostPort.parse(parsed.string("viewleader", default: "127.0.0.1")),
                heartbeatIntervalMs: Int(1000 * (try parsed.seconds(
                    "heartbeat-interval", default: ServerConfiguration.defaultHeartbeatIntervalSeconds,
                    range: 0.01...600))),
                advertisedHost: parsed.value("advertise") ?? (wildcard ? nil : listener.bindAddress),
                memoryQuota: MemoryQuota(limitBytes: try parsed.integer(
                    "max-memory", default: ServerConfiguration.defaultMemoryQuota.limitBytes,
                    range: ServerConfiguration.memoryQuotaBytesMin...Int.max)))
            if parsed.has("in-memory") && parsed.has("data-dir") {
                throw .conflicting("in-memory", "data-dir", reason: "choose where the data lives, or that it lives "
                    + "in memory only")
            }
            configuration.storage = parsed.has("in-memory") ? .inMemory
                : parsed.value("data-dir").map { .directory($0) }
                ?? .perPort(root: parsed.string("state-dir", default: StateRoot.defaultDirectory))
            configuration.diskReserve = DiskReserve(freeBytesMin: try parsed.integer(
                "min-free-disk", default: DiskReserve.standard.freeBytesMin, range: 0...Int.max))
            configuration.fsync = fsync
            configuration.snapshotPolicy = SnapshotPolicy(logBytesMin: try parsed.integer(
                "snapshot-log-bytes", default: SnapshotPolicy.standard.logBytesMin,
                range: SnapshotPolicy.logBytesMinLeast...Int.max))
            return configuration
        }
        Socket.ignoreBrokenPipes()
        let log = Log(component: "server")
        let service: ServerService
        do {
            service = try ServerService(configuration: configuration, log: log)
        } catch {
            exitWithError("server", "cannot listen: \(error); pass --port to choose another port",
                          status: ToolExit.startFailure)
        }
        let path = configuration.storage.directory(port: service.server.port,
                                                   requestedPorts: configuration.listener.candidatePorts)
        if path == nil, case .perPort = configuration.storage {
            log.info("--port 0 picks a new port at every start, so nothing is kept on disk; pass --data-dir DIR to "
                + "keep this server's data")
        }
        let (files, recovered) = openDataDirectory(path, configuration, recordLimits: RecordLimits(
            frameBytesMax: configuration.listener.limits.frameBytesMax), log: log)
        let identity = startIdentity(files, log: log)
        return ServiceLauncher.serveUntilSignalled(
            log: log,
            announce: {
                printLine("server id: \(identity.id)")
                printLine("listening on \(service.server.host):\(service.server.port)")
            },
            serve: { service.run(identity: identity, files: files, recovered: recovered) }, stop: service.stop)
    }

    /// The identity this start registers under: with a data directory, its saved ID as the next incarnation
    /// (saved before any heartbeat), or a new ID as incarnation 1; without one, a fresh ID. Exits when the
    /// directory's identity cannot be read or saved.
    static func startIdentity(_ files: DirectoryFiles?, log: Log) -> ServerIdentity {
        guard let files else { return ServerIdentity(id: ServerConfiguration.makeServerID()) }
        do throws(IdentityFileError) {
            let identity = try IdentityFile.start(in: files, idBytesMax: ViewLeaderRequest.serverIDBytesMax,
                                                  freshID: ServerConfiguration.makeServerID)
            log.info(identity.incarnation == 1
                ? "starting as new server \(identity.id), saved in \(files.path)"
                : "starting as server \(identity.id) again, incarnation \(identity.incarnation): the same ring "
                    + "position")
            return identity
        } catch {
            exitWithError("server", "cannot start on the data directory \(files.path): \(error)",
                          status: ToolExit.startFailure)
        }
    }

    /// Opens and recovers the data directory, if there is one; exits with the reason when it cannot.
    static func openDataDirectory(_ path: String?, _ configuration: ServerConfiguration, recordLimits: RecordLimits,
                                  log: Log) -> (DirectoryFiles?, RecoveredState?)
    {
        guard let path else { return (nil, nil) }
        let startedMs = MonotonicClock.nowMs()
        do throws(DiskError) {
            let files = try DirectoryFiles(path: path)
            do throws(RecoveryError) {
                let recovered = try RecoveredState.recover(from: files, mode: configuration.fsync,
                                                           recordLimits: recordLimits,
                                                           snapshotPolicy: configuration.snapshotPolicy,
                                                           nowMs: MonotonicClock.nowMs())
                if let cutOff = recovered.cutOff { log.warning("\(cutOff): a write in progress when it stopped") }
                log.info("\(recovered.summary) from \(path) in \(MonotonicClock.nowMs() - startedMs) ms "
                    + "(fsync \(configuration.fsync.rawValue))")
                return (files, recovered)
            } catch {
                exitWithError("server", "cannot recover the data directory \(path): \(error)",
                              status: ToolExit.startFailure)
            }
        } catch {
            exitWithError("server", "\(error); pass --data-dir with another directory", status: ToolExit.startFailure)
        }
    }
}
