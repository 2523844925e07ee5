import CommandLineKit
import Foundation
import Glibc
import Synchronization
import Transport
import Wire

/// The `campaign` tool: runs fault campaigns on real processes, one or many, and prints each summary.
public enum CampaignCommand {
    /// Campaigns one invocation may run back to back.
    static let runsMax = 10_000

    static let specs: [OptionSpec] = [
        .value("duration", placeholder: "SECONDS", help: "time with clients and faults, per campaign (default 60)"),
        .value("runs", placeholder: "N", help: "campaigns to run back to back, seeds SEED, SEED+1, ... (default 1)"),
        .value("seed", placeholder: "SEED", help: "seed of the first campaign (default: from the clock)"),
        .value("servers", placeholder: "N", help: "servers at the start, 3-7 (default 5; joins go up to 7)"),
        .value("clients", placeholder: "N", help: "concurrent clients, 1-16 (default 3)"),
        .value("network", placeholder: "MODE",
               help: "namespaces (a network namespace per process, links cut; needs root), loopback, or auto (default)"),
        .value("binaries", placeholder: "DIR", help: "folder with viewleader and server (default: this tool's own)"),
        .flag("data-dirs", help: "servers keep data directories (fsync always, frequent snapshots); the nemesis also "
                  + "kills servers and restarts them on their data, and kills every server at once"),
        .flag("keys", help: "every process with --cluster-key-file and the clients with a read-write key: every "
                  + "frame of the campaign authenticated"),
        .flag("no-faults", help: "run the clients without the nemesis"),
        .flag("verbose", short: "v", help: "print each fault, fault end and view change as it happens"),
        .flag("help", short: "h", help: "show this help"),
    ]

    static let helpText = OptionParser.helpText(
        usage: "campaign [--duration SECONDS] [--runs N] [--seed SEED] [--network MODE] [--data-dirs] [--keys] "
            + "[--verbose]",
        description: """
            Starts a real viewleader and servers, runs clients on a few keys while a nemesis SIGKILLs, SIGSTOPs, \
            removes and adds servers, crashes, pauses and isolates the viewleader and, on network namespaces, \
            cuts links and isolates primaries. Then heals everything, reads every key ever acknowledged, checks \
            the history for linearizability and prints a summary: operations by outcome, faults by kind, \
            violations, keys lost. Exits 1 if any campaign failed; its logs are kept and their folder printed.
            """,
        specs: specs,
        examples: [
            "campaign --duration 120 --runs 3 --seed 7400",
            "campaign --duration 600 --verbose",
            "campaign --duration 300 --data-dirs          # restarts on data, whole-cluster kills",
        ])

    public static func main(arguments: [String]) -> Int32 {
        let parsed: ParsedOptions
        var configuration: CampaignConfiguration
        let firstSeed: UInt64
        let runs: Int
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
            let ownFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
            configuration = CampaignConfiguration(binaries: URL(fileURLWithPath: parsed.string("binaries", default: ownFolder)))
            configuration.chaosMs = Int(1000 * (try parsed.seconds("duration", default: 60, range: 1...86_400)))
            configuration.initialServers = try parsed.integer("servers", default: 5, range: 3...7)
            configuration.clients = try parsed.integer("clients", default: 3, range: 1...16)
            let network = parsed.string("network", default: "auto")
            switch network {
            case "auto": configuration.network = .automatic
            case "namespaces": configuration.network = .namespaces
            case "loopback": configuration.network = .loopback
            default: throw .invalidValue(option: "network", value: network, expected: "namespaces, loopback or auto")
            }
            configuration.faultsEnabled = !parsed.has("no-faults")
            configuration.dataDirectories = parsed.has("data-dirs")
            configuration.authenticated = parsed.has("keys")
            runs = try parsed.integer("runs", default: 1, range: 1...runsMax)
            firstSeed = UInt64(try parsed.integer("seed", default: Int(MonotonicClock.nowNs() % 1_000_000),
                                                  range: 0...Int.max / 2))
        } catch {
            exitWithUsageError("campaign", error.description)
        }
        var failed: [UInt64] = []
        let current = Mutex<Campaign?>(nil)
        let interrupted = SignalWatcher(signals: [SIGINT, SIGTERM]) { _ in
            current.withLock { $0?.abort() }
            exit(130)
        }
        defer { withExtendedLifetime(interrupted) {} }
        for seed in firstSeed..<(firstSeed + UInt64(runs)) {
            let campaign = Campaign(seed: seed, configuration: configuration)
            current.withLock { $0 = campaign }
            if parsed.has("verbose") {
                campaign.trace = { line in
                    print(line)
                    fflush(nil)
                }
            }
            do {
                let report = try campaign.run()
                print(report)
                fflush(nil)
                if !report.passed { failed.append(seed) }
            } catch {
                print("campaign seed \(seed): could not run: \(error)")
                failed.append(seed)
            }
        }
        if runs > 1 {
            print("\(runs) campaign(s): \(runs - failed.count) passed, \(failed.count) failed"
                + (failed.isEmpty ? "" : "; failing seeds: \(failed.map(String.init).joined(separator: " "))"))
        }
        return failed.isEmpty ? 0 : 1
    }
}
