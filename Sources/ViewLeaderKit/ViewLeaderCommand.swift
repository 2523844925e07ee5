import CommandLineKit
import Glibc
import Transport
import Wire

/// The `viewleader` executable: options, start-up line, signal handling.
public enum ViewLeaderCommand {
    static let specs: [OptionSpec] = ListenerOptions.specs(defaultPorts: DefaultPorts.viewLeader) + [
        .value("lease", placeholder: "SECONDS",
               help: "a server missing heartbeats this long is expired; decimals allowed "
                   + "(default \(ViewLeaderConfiguration.defaultLeaseSeconds))"),
        .value("lock-waiter-timeout", placeholder: "SECONDS",
               help: "a lock waiter that stops asking this long loses its place "
                   + "(default \(ViewLeaderConfiguration.defaultLockWaiterTimeoutSeconds))"),
        .value("state-dir", placeholder: "DIR",
               help: "where the epoch and membership survive restarts (default \(StateRoot.defaultDirectory))"),
        ToolVersion.spec,
        .flag("help", short: "h", help: "show this help"),
    ]

    static let helpText = OptionParser.helpText(
        usage: "viewleader [OPTIONS]",
        description: """
            Tracks which servers are alive by their heartbeats, numbers each change of that set with an epoch, \
            and serves named locks. Prints "listening on HOST:PORT" once it accepts connections; stop it with \
            Ctrl-C or SIGTERM.
            """,
        specs: specs,
        examples: [
            "viewleader                                  # first free port of 39000-39009, 5 s leases",
            "viewleader --port 0 --lease 1.5 --state-dir /tmp/vl-state",
        ])

    /// Runs the viewleader with command-line `arguments` (without the program name); returns the exit status.
    public static func main(arguments: [String]) -> Int32 {
        let configuration = ServiceLauncher.configure(tool: "viewleader", arguments: arguments, specs: specs,
                                                      helpText: helpText) { parsed throws(OptionError) in
            ViewLeaderConfiguration(
                listener: try ListenerOptions(parsed, defaultPorts: DefaultPorts.viewLeader),
                leaseMs: Int64(1000 * (try parsed.seconds("lease", default: ViewLeaderConfiguration.defaultLeaseSeconds,
                                                          range: 0.05...3_600))),
                lockWaiterTimeoutMs: Int64(1000 * (try parsed.seconds(
                    "lock-waiter-timeout", default: ViewLeaderConfiguration.defaultLockWaiterTimeoutSeconds,
                    range: 0.05...86_400))),
                stateDirectory: parsed.string("state-dir", default: StateRoot.defaultDirectory))
        }
        Socket.ignoreBrokenPipes()
        let log = Log(component: "viewleader")
        let service: ViewLeaderService
        do {
            service = try ViewLeaderService(configuration: configuration, log: log)
        } catch {
            exitWithError("viewleader", error.description, status: ToolExit.startFailure)
        }
        log.info("lease \(configuration.leaseMs) ms")
        return ServiceLauncher.serveUntilSignalled(
            log: log, announce: { printLine("listening on \(service.server.host):\(service.server.port)") },
            serve: service.run, stop: service.stop)
    }
}
