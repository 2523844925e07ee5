import Durability
import Placement
import ServerKit
import ViewLeaderKit
import Wire

/// Everything that shapes one simulated run besides its seed: the cluster, the workload, the network and the
/// faults. Every limit is named here, with its unit last.
public struct SimulationConfiguration: Sendable {
    // MARK: Cluster

    /// Servers started at time zero, one per simulated machine.
    public var initialServers = 5
    /// Machines a run may ever use; joins start servers on new machines up to this many.
    public var machinesMax = 7
    /// Servers the nemesis never removes below, so every key keeps three replicas.
    public var serversMin = 3
    public var leaseMs: Int64 = 1_500
    public var heartbeatIntervalMs: Int64 = 200
    public var lockWaiterTimeoutMs: Int64 = 10_000
    /// Smaller than the real 10,000, so servers and keys land on the same positions more often; the protocol
    /// must not care, and each view change costs less to simulate.
    public var ringSize = 1_000

    // MARK: Workload

    public var clients = 3
    /// Keys the clients share; few, so operations collide.
    public var keys = 4
    /// Percent of writes whose value is near the value limit (the last `largeValueSpreadBytes` below it).
    public var largeValuePercent = 10
    public var largeValueSpreadBytes = 256
    /// Percent of operations that read; of the rest, `deletePercent` of all operations delete, the others write.
    public var readPercent = 40
    public var deletePercent = 10
    /// Pause between a client's operations.
    public var clientThinkMs: ClosedRange<Int64> = 0...20
    /// Time a client waits for one reply, as `ReplicatedClient`'s default.
    public var clientTimeoutMs: Int64 = 2_000
    /// Time a client keeps retrying one operation, as `ReplicatedClient`'s default.
    public var clientRetryBudgetMs: Int64 = 15_000

    // MARK: Phases

    /// Virtual time during which clients run and the nemesis injects faults.
    public var chaosMs: Int64 = 12_000
    /// After the chaos every fault is healed; the cluster has this long to settle before the final reads.
    public var settleMs: Int64 = 8_000
    /// A run that has not finished after this many events fails: something loops.
    public var eventsMax = 4_000_000

    // MARK: Network

    /// The frame limit of every process: the smallest a server accepts, so near-limit values are cheap to
    /// simulate and a pull page holds only a couple of them. A message over it is refused as a real process
    /// refuses it, so a message built too large shows up as a stalled sync or a failed write.
    public var frameBytesMax = RecordLimits.frameBytesMin

    /// One-way delay of most messages.
    public var delayMs: ClosedRange<Int64> = 1...5
    /// One-way delay of slow messages, which arrive out of order with the rest.
    public var slowDelayMs: ClosedRange<Int64> = 10...120
    public var slowProbability = 0.05
    /// Chance that a connection breaks under a request: the caller sees a failure, and the request may or may
    /// not have been processed.
    public var resetProbability = 0.01
    /// Chance that a peer or viewleader message is delivered twice. Client requests are never duplicated by the
    /// network: over TCP a request arrives at most once, and the client's own retries are simulated as such.
    public var duplicateProbability = 0.02

    // MARK: Faults

    public var faultsEnabled = true
    /// Time between the nemesis's turns.
    public var nemesisIntervalMs: ClosedRange<Int64> = 200...1_200
    /// Servers that may lose their data in one stable period (killed, paused past the lease, cut from the
    /// viewleader, removed): with three replicas per key, two can go and one still holds every write.
    public var dataLosingFaultsMax = 2
    /// Faults injected at fixed virtual times, besides the nemesis's (tests that need one fault at a known time).
    var scriptedFaults: [ScriptedFault] = []

    // MARK: Disk

    /// Servers keep a data directory on a simulated disk that survives their crashes (`SimulatedFiles`: a crash
    /// loses what was not synced and may leave part of the last write), and recover from it when they start again
    /// on their machine. Off, servers keep everything in memory, as without `--data-dir`.
    public var dataDirectories = false
    public var fsync = WriteAheadLog.SyncMode.always
    /// Time the disk takes to carry out one log batch (write, and sync if asked).
    public var diskBatchMs: ClosedRange<Int64> = 1...4
    /// Log bytes after which a server writes a snapshot (`--snapshot-log-bytes`): small, so that runs write many
    /// and servers crash while writing them.
    public var snapshotLogBytes = 16_384
    /// Time the disk takes to write one snapshot.
    public var snapshotMs: ClosedRange<Int64> = 5...60

    // MARK: Timeouts of the real processes

    /// The viewleader's `view_change` notices.
    public var announceTimeoutMs = Int64(ViewLeaderService.announceTimeoutMs)

    /// The `simulate` options that rebuild this configuration, for the replay line of a failing run.
    public var replayOptions = ""

    public init() {}

    /// A shorter run for the bounded seeds CI checks.
    public static var bounded: SimulationConfiguration {
        var configuration = SimulationConfiguration()
        configuration.chaosMs = 8_000
        configuration.settleMs = 6_000
        configuration.replayOptions = "--bounded "
        return configuration
    }

    func validate() {
        precondition(initialServers >= 1 && initialServers <= machinesMax, "initial servers must fit the machines")
        precondition(serversMin >= 1, "at least one server must remain")
        precondition(leaseMs > 2 * heartbeatIntervalMs, "a lease must outlast two heartbeats")
        precondition(clients >= 1 && keys >= 1, "a workload needs clients and keys")
        precondition(readPercent + deletePercent <= 100, "reads and deletes cannot exceed all operations")
        precondition(delayMs.lowerBound >= 1, "a message takes at least a millisecond")
        precondition(dataLosingFaultsMax < HashRing.replicationFactor, "one replica of every key must survive")
    }
}
