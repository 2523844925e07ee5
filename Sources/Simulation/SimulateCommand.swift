import CommandLineKit
import Durability
import Glibc
import Linearizability

/// The `simulate` tool: runs seeded simulations, many for a soak or one to replay a failure.
public enum SimulateCommand {
    /// Seeds one invocation may run; a soak longer than this is several invocations.
    static let seedsMax = 1_000_000

    static let specs: [OptionSpec] = [
        .value("seeds", placeholder: "N", help: "run N seeds, starting at --first-seed (default 100)"),
        .value("first-seed", placeholder: "SEED", help: "first seed of the range (default 1)"),
        .value("seed", placeholder: "SEED", help: "run only this seed (to replay a failure)"),
        .flag("bounded", help: "the shorter runs CI uses (8 s of chaos, 6 s to settle)"),
        .value("chaos", placeholder: "SECONDS", help: "virtual time with clients and faults (default 12)"),
        .value("client-budget", placeholder: "SECONDS",
               help: "how long a client retries one operation (default 15, at most 30); a short budget ends many "
                   + "writes unknown, and checks that none is reported failed when it may have taken effect"),
        .flag("no-faults", help: "run the workload without the nemesis"),
        .flag("data-dirs", help: "servers keep a data directory on a simulated disk that loses unsynced writes and "
                  + "tears the last one when they crash, and recover from it when restarted"),
        .value("fsync", placeholder: "MODE", help: "with --data-dirs: always (default), everysec or no"),
        .flag("verbose", short: "v", help: "print each fault, view change and operation of every run"),
        .flag("help", short: "h", help: "show this help"),
    ]

    static let helpText = OptionParser.helpText(
        usage: "simulate [--seeds N] [--first-seed SEED] [--seed SEED] [--bounded] [--verbose]",
        description: """
            Runs the real viewleader, server and client cores on a simulated network and clock, under a seeded \
            nemesis (message loss, delay, duplication, partitions, kills, pauses past the lease, viewleader \
            restarts, joins and removals), checking invariants after every event and the clients' history for \
            linearizability. Prints one line per failing seed and a summary; exits 1 if any seed failed. A \
            failing seed replays exactly: run it again with --seed SEED --verbose.
            """,
        specs: specs,
        examples: [
            "simulate --seeds 1000                        # seeds 1-1000",
            "simulate --seed 464 --verbose                # replay one seed, printing every fault and operation",
            "simulate --seeds 500 --data-dirs             # servers that log to a simulated disk and recover from it",
        ])

    public static func main(arguments: [String]) -> Int32 {
        let parsed: ParsedOptions
        var configuration: SimulationConfiguration
        let seeds: ClosedRange<UInt64>
        do throws(OptionError) {
            parsed = try OptionParser.parse(arguments, specs: specs)
            if parsed.has("help") {
                print(helpText)
                return 0
            }
            guard parsed.positionals.isEmpty else {
                throw .invalidValue(option: "arguments", value: parsed.positionals.joined(separator: " "),
                                    expected: "none")
            }
            configuration = parsed.has("bounded") ? .bounded : SimulationConfiguration()
            if parsed.value("chaos") != nil {
                configuration.chaosMs = Int64(1000 * (try parsed.seconds("chaos", default: 12, range: 1...3_600)))
                configuration.replayOptions += "--chaos \(parsed.value("chaos")!) "
            }
            if parsed.value("client-budget") != nil {
                configuration.clientRetryBudgetMs = Int64(1000 * (try parsed.seconds("client-budget", default: 15,
                                                                                    range: 0.05...30)))
                configuration.replayOptions += "--client-budget \(parsed.value("client-budget")!) "
            }
            if parsed.has("data-dirs") {
                configuration.dataDirectories = true
                configuration.replayOptions += "--data-dirs "
                let mode = parsed.string("fsync", default: "always")
                guard let fsync = WriteAheadLog.SyncMode(rawValue: mode) else {
                    throw .invalidValue(option: "fsync", value: mode, expected: "always, everysec or no")
                }
                configuration.fsync = fsync
                configuration.replayOptions += "--fsync \(mode) "
            }
            configuration.faultsEnabled = !parsed.has("no-faults")
            if !configuration.faultsEnabled { configuration.replayOptions += "--no-faults " }
            if parsed.value("seed") != nil {
                let seed = UInt64(try parsed.integer("seed", default: 1, range: 0...Int.max))
                seeds = seed...seed
            } else {
                let first = UInt64(try parsed.integer("first-seed", default: 1, range: 0...Int.max / 2))
                let count = UInt64(try parsed.integer("seeds", default: 100, range: 1...seedsMax))
                seeds = first...(first + count - 1)
            }
        } catch {
            exitWithUsageError("simulate", error.description)
        }
        return run(seeds, configuration: configuration, verbose: parsed.has("verbose"))
    }

    private static func run(_ seeds: ClosedRange<UInt64>, configuration: SimulationConfiguration, verbose: Bool)
        -> Int32
    {
        var failed: [UInt64] = []
        var figures = WriteOutcomeFigures.zero
        var operations = 0
        var faults = 0
        var resolutionsMs: [Int64] = []
        var writeGapsMs: [Int64] = []
        var diskFigures = DiskFigures()
        for seed in seeds {
            let simulation = Simulation(seed: seed, configuration: configuration)
            if verbose { simulation.trace = { print($0) } }
            let report = simulation.run()
            operations += report.history.count
            figures = figures + report.figures
            faults += report.faults.values.reduce(0, +)
            resolutionsMs += report.partialPartitionResolutionsMs
            writeGapsMs += report.partialPartitionWriteGapsMs
            diskFigures = diskFigures + report.diskFigures
            if verbose || !report.passed { print(report) }
            if !report.passed { failed.append(seed) }
        }
        print("\(seeds.count) seed(s) \(seeds.lowerBound)...\(seeds.upperBound): \(seeds.count - failed.count) passed, "
            + "\(failed.count) failed; \(operations) operations, \(faults) faults")
        print(figures)
        if configuration.dataDirectories { print(diskFigures) }
        if !resolutionsMs.isEmpty {
            let sorted = resolutionsMs.sorted()
            print("partial partitions the view resolved: \(sorted.count); cut to view change median "
                + "\(sorted[sorted.count / 2]) ms, slowest \(sorted.last!) ms (lease \(configuration.leaseMs) ms)")
        }
        if !writeGapsMs.isEmpty {
            let sorted = writeGapsMs.sorted()
            print("writes to keys a partial partition cut: served again after median \(sorted[sorted.count / 2]) ms, "
                + "slowest \(sorted.last!) ms from the cut (target 2.5 leases: \(5 * configuration.leaseMs / 2) ms)")
        }
        if !failed.isEmpty { print("failing seeds: \(failed.map(String.init).joined(separator: " "))") }
        return failed.isEmpty ? 0 : 1
    }
}
