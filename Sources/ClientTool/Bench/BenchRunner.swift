import ClientKit
import CommandLineKit
import Dispatch
import Synchronization
import Transport
import Wire

/// Runs a bench: finds the destination, prefills keys when the run reads them, drives the load-generator
/// threads through the warm-up and the measured window, and merges what they counted.
struct BenchRunner {
    /// Longest a prefill may take before the run gives up on it and measures anyway.
    static let prefillSecondsMax = 600.0
    /// Time allowed to fetch the view or find a listening port before the run starts.
    static let setupTimeoutMs = 2_000

    let configuration: BenchConfiguration

    /// Why a run could not start.
    enum SetupError: Error, CustomStringConvertible {
        /// Nothing listened where the run should send its requests.
        case unreachable(String)
        /// The viewleader answered, but its view cannot be routed to.
        case unusableView(String)

        var description: String {
            switch self {
            case .unreachable(let detail), .unusableView(let detail): return detail
            }
        }
    }

    /// The routing every request starts with: one address, or each key's primary in the current view.
    func initialRouting() throws(SetupError) -> BenchRouting {
        switch configuration.operation.destination {
        case .server:
            let address = try firstListening(configuration.server, defaultPorts: Array(DefaultPorts.server))
            return BenchRouting(single: address)
        case .viewLeader:
            return BenchRouting(single: try firstListening(configuration.viewLeader,
                                                           defaultPorts: Array(DefaultPorts.viewLeader)))
        case .replicatedStore:
            let view: ViewDescription
            do {
                view = try viewLeaderClient().queryServers()
            } catch {
                throw .unreachable("cannot get the view from the viewleader: \(error)")
            }
            guard let routing = BenchRouting(view: view, keys: configuration.keys) else {
                throw .unusableView("the view of epoch \(view.epoch) has \(view.servers.count) servers; "
                    + "the bench needs 1 to \(BenchRouting.destinationsMax)")
            }
            return routing
        }
    }

    /// Runs the prefill (when there is one) and the measured phase; returns the report.
    func run(routing: BenchRouting) -> BenchReport {
        var total = BenchTally()
        var prefillSeconds: Double?
        if let prefillOperation = configuration.prefillOperation {
            let startNs = MonotonicClock.nowNs()
            var prefill = configuration
            prefill.operation = prefillOperation
            prefill.newConnectionPerRequest = false
            let window = BenchWindow(measureFromNs: .max, endNs: startNs + UInt64(Self.prefillSecondsMax * 1e9))
            let depth = max(configuration.pipelineDepth, BenchConfiguration.prefillPipelineDepth)
            total.merge(runThreads(prefill, pipelineDepth: depth, window: window, routing: routing) { thread in
                let keys = configuration.keys
                let range = keys * thread / configuration.threads..<keys * (thread + 1) / configuration.threads
                return BenchWorkload(operation: prefillOperation, keys: keys, order: .sequential(range), seed: 0)
            })
            prefillSeconds = Double(MonotonicClock.nowNs() - startNs) / 1e9
        }
        let startNs = MonotonicClock.nowNs()
        let measureFromNs = startNs + UInt64(configuration.warmupSeconds * 1e9)
        let window = BenchWindow(measureFromNs: measureFromNs,
                                 endNs: measureFromNs + UInt64(configuration.durationSeconds * 1e9))
        total.merge(runThreads(configuration, pipelineDepth: configuration.pipelineDepth, window: window,
                               routing: routing) { thread in
            BenchWorkload(operation: configuration.operation, keys: configuration.keys, order: .random,
                          seed: BenchWorkload.threadSeed(runSeed: configuration.seed, thread: thread))
        })
        return BenchReport(configuration: configuration, tally: total, measuredSeconds: configuration.durationSeconds,
                           prefillSeconds: prefillSeconds, destinations: routing.destinations.count)
    }

    /// Runs one phase on `configuration.threads` threads, each over its share of the clients; the first share
    /// runs on the calling thread.
    private func runThreads(_ phase: BenchConfiguration, pipelineDepth: Int, window: BenchWindow,
                            routing: BenchRouting, workload: (Int) -> BenchWorkload) -> BenchTally
    {
        let threads = phase.threads
        let tallies = Mutex<[BenchTally]>([])
        let group = DispatchGroup()
        let fetchView = viewFetcher()
        for thread in 0..<threads {
            let clients = phase.connections * thread / threads..<phase.connections * (thread + 1) / threads
            let threadWorkload = workload(thread)
            let body: @Sendable () -> Void = {
                let loop = BenchLoop(configuration: phase, pipelineDepth: pipelineDepth, window: window,
                                     workload: threadWorkload, routing: routing, clientNumbers: clients,
                                     fetchView: fetchView)
                let tally = loop.run()
                tallies.withLock { $0.append(tally) }
            }
            if thread == threads - 1 {
                body()
            } else {
                DispatchQueue(label: "bench thread \(thread)").async(group: group, execute: body)
            }
        }
        group.wait()
        return tallies.withLock { all in
            var merged = BenchTally()
            for tally in all { merged.merge(tally) }
            return merged
        }
    }

    /// Fetches the view again for a loop that saw refusals; nil when the viewleader cannot be asked.
    private func viewFetcher() -> @Sendable (BenchRouting) -> BenchRouting? {
        let viewLeader = configuration.viewLeader
        let keys = configuration.keys
        return { previous in
            let client = ViewLeaderClient(host: viewLeader.host, port: viewLeader.port, timeoutMs: Self.setupTimeoutMs)
            guard let view = try? client.queryServers() else { return nil }
            return BenchRouting(view: view, keys: keys, previous: previous)
        }
    }

    private func viewLeaderClient() -> ViewLeaderClient {
        ViewLeaderClient(host: configuration.viewLeader.host, port: configuration.viewLeader.port,
                         timeoutMs: Self.setupTimeoutMs)
    }

    /// "host:port" of the first of the candidate ports that accepts a connection.
    private func firstListening(_ target: HostPort, defaultPorts: [Int]) throws(SetupError) -> String {
        let ports = target.port.map { [$0] } ?? defaultPorts
        do {
            let connection = try FrameConnection.connectFirst(host: target.host, ports: ports,
                                                              timeoutMs: Self.setupTimeoutMs)
            defer { connection.close() }
            let host = target.host.contains(":") ? "[\(target.host)]" : target.host
            return "\(host):\(connection.port)"
        } catch {
            throw .unreachable("\(error)")
        }
    }
}
