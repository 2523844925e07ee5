import CommandLineKit
import Glibc
import Wire

/// The `viewleader` executable: options, start-up line, signal handling.
public enum ViewLeaderCommand {
    static let specs: [OptionSpec] = ListenerOptions.specs(defaultPorts: ViewLeaderConfiguration.defaultPorts) + [
        .value("lease", placeholder: "SECONDS",
               help: "a server missing heartbeats this long is expired; decimals allowed "
                   + "(default \(ViewLeaderConfiguration.defaultLeaseSeconds))"),
        .value("lock-waiter-timeout", placeholder: "SECONDS",
               help: "a lock waiter that stops asking this long loses its place "
                   + "(default \(ViewLeaderConfiguration.defaultLockWaiterTimeoutSeconds))"),
        .flag("help", short: "h", help: "show this help"),
    ]

    static let helpText = OptionParser.helpText(
        usage: "viewleader [OPTIONS]",
        description: """
            Tracks which servers are alive by their heartbeats, numbers each change of that set with an epoch, \
            and serves named locks. Prints "listening on HOST:PORT" once it accepts connections; stop it with \
            Ctrl-C or SIGTERM.
            """,
        specs: specs)

    /// Runs the viewleader with command-line `arguments` (without the program name); returns the exit status.
    public static func main(arguments: [String]) -> Int32 {
        let configuration: ViewLeaderConfiguration
        do {
            let parsed = try OptionParser.parse(arguments, specs: specs)
            if parsed.has("help") {
                printLine(helpText)
                return 0
            }
            guard parsed.positionals.isEmpty else {
                exitWithUsageError("viewleader", "unexpected argument '\(parsed.positionals[0])'")
            }
            configuration = ViewLeaderConfiguration(
                listener: try ListenerOptions(parsed, defaultPorts: ViewLeaderConfiguration.defaultPorts),
                leaseMs: Int64(1000 * (try parsed.seconds("lease", default: ViewLeaderConfiguration.defaultLeaseSeconds,
                                                          range: 0.05...3_600))),
                lockWaiterTimeoutMs: Int64(1000 * (try parsed.seconds(
                    "lock-waiter-timeout", default: ViewLeaderConfiguration.defaultLockWaiterTimeoutSeconds,
                    range: 0.05...86_400))))
        } catch {
            exitWithUsageError("viewleader", error.description)
        }
        Socket.ignoreBrokenPipes()
        let log = Log(component: "viewleader")
        let service: ViewLeaderService
        do {
            service = try ViewLeaderService(configuration: configuration, log: log)
        } catch {
            exitWithError("viewleader", "cannot listen: \(error); pass --port to choose another port",
                          status: ToolExit.startFailure)
        }
        let watcher = SignalWatcher(signals: [SIGINT, SIGTERM]) { signal in
            log.info("received signal \(signal); shutting down")
            service.stop()
        }
        log.info("lease \(configuration.leaseMs) ms; epoch 0")
        printLine("listening on \(service.server.host):\(service.server.port)")
        service.run()
        watcher.cancel()
        log.info("stopped")
        return 0
    }
}
