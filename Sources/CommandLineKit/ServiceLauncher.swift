import Glibc

/// Start-up steps the long-running executables (`viewleader`, `server`) share.
public enum ServiceLauncher {
    /// Parses a service's options: prints help and exits 0 on `--help`; exits 64 with a hint on any error.
    public static func configure<Configuration>(
        tool: String, arguments: [String], specs: [OptionSpec], helpText: String,
        _ build: (ParsedOptions) throws(OptionError) -> Configuration
    ) -> Configuration {
        do {
            let parsed = try OptionParser.parse(arguments, specs: specs)
            if parsed.has("help") {
                printLine(helpText)
                exit(0)
            }
            if parsed.has("version") {
                printLine(ToolVersion.line(tool))
                exit(0)
            }
            guard parsed.positionals.isEmpty else {
                exitWithUsageError(tool, "unexpected argument '\(parsed.positionals[0])'")
            }
            return try build(parsed)
        } catch {
            exitWithUsageError(tool, error.description)
        }
    }

    /// Runs `serve` on this thread until SIGINT or SIGTERM calls `stop`; returns the exit status.
    ///
    /// `announce` prints the start-up lines scripts wait for; it runs only once signals are being watched, so a
    /// signal sent as soon as a script sees those lines is never lost.
    public static func serveUntilSignalled(log: Log, announce: () -> Void, serve: () -> Void,
                                           stop: @escaping @Sendable () -> Void) -> Int32 {
        let watcher = SignalWatcher(signals: [SIGINT, SIGTERM]) { signal in
            log.info("received signal \(signal); shutting down")
            stop()
        }
        ParentWatch.startIfRequested(log: log, stop: stop)
        announce()
        serve()
        watcher.cancel()
        log.info("stopped")
        return 0
    }
}
