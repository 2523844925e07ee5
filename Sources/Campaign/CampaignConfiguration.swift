import Foundation

/// Everything that shapes one real-process campaign besides its seed. Every limit is named here, unit last.
public struct CampaignConfiguration: Sendable {
    /// Where the `viewleader` and `server` executables are (a `.build/debug` or `.build/release` folder).
    public var binaries: URL
    /// Logs and the viewleader's state go in a fresh folder under this one, kept when a campaign fails.
    public var workDirectory = FileManager.default.temporaryDirectory

    // MARK: Cluster

    public var initialServers = 5
    /// Servers the nemesis never removes below, and never joins beyond.
    public var serversMin = 4
    public var serversMax = 7
    /// Short, so faults past the lease come quickly; long enough to ride out a loaded 2-core machine.
    public var leaseMs = 1_500
    public var heartbeatIntervalMs = 200
    public var network = NetworkMode.automatic

    // MARK: Workload

    public var clients = 3
    /// Keys the clients share at one time, so their operations collide.
    public var contendedKeys = 4
    /// The shared keys are replaced by fresh ones this often, so each key's history stays small enough for
    /// the checker however long the campaign runs (Jepsen's "independent keys").
    public var keyGenerationMs = 20_000
    /// Percent of operations that read a shared key; `deletePercent` delete one; `spreadWritePercent` write a
    /// key of their own, never written again, so every view change has data to move; the rest write a shared key.
    public var readPercent = 45
    public var deletePercent = 10
    public var spreadWritePercent = 15
    /// Percent of writes whose value is near the value limit (within `largeValueSpreadBytes` below it), so every
    /// copy the cluster makes of such a write (replication, pages of a sync after a join) is near the frame limit.
    public var largeValuePercent = 10
    public var largeValueSpreadBytes = 256
    /// The servers' `--max-frame-bytes`: smaller than the default so that near-limit values (about 55 KB here)
    /// stay cheap to write, copy and check over a long campaign; the limits scale with it.
    public var frameBytesMax = 64 * 1_024
    /// Pause between a client's operations.
    public var clientThinkMs = 5
    /// A client's wait for one reply, and how long it retries one operation (lost view changes, moved keys,
    /// writes that may have taken effect): the client library's defaults, so the figures are what a user sees.
    public var clientTimeoutMs = 2_000
    public var clientRetryBudgetMs = 15_000

    // MARK: Phases

    /// Time during which clients run and the nemesis injects faults.
    public var chaosMs = 60_000
    /// Goes on past `chaosMs` (by at most as long again) until every fault kind has been injected once.
    public var untilEveryFaultKind = false
    /// After the chaos every fault is healed; the cluster must settle within this time.
    public var settleTimeoutMs = 30_000
    /// The final read of each key retries this long.
    public var finalReadBudgetMs = 20_000

    // MARK: Faults

    public var faultsEnabled = true
    /// Time between the nemesis's turns.
    public var nemesisIntervalMs: ClosedRange<Int> = 300...1_000
    /// Servers that may lose their data (killed, paused past the lease, cut off, removed) before the cluster
    /// is stable again: with three replicas per key, two can go and one still holds every write.
    public var dataLosingFaultsMax = 2
    /// Servers keep their data in directories under the campaign's (`--fsync always`), so the nemesis may restart
    /// them on it (`FaultKind.needsDataDirectories`); "restart it empty" then starts on a new, empty directory.
    public var dataDirectories = false
    /// Every process started with `--cluster-key-file` (a fresh member key and a read-write key the clients use),
    /// so every frame of the campaign is authenticated; without, they listen with `--insecure`.
    public var authenticated = false
    /// Snapshots come this often, so restarts read them back and kills land near them.
    public var snapshotLogBytes = 65_536

    public init(binaries: URL) {
        self.binaries = binaries
    }

    /// The campaign CI runs inside `swift test`: long enough for every fault kind to come up at least once.
    public static func bounded(binaries: URL) -> CampaignConfiguration {
        var configuration = CampaignConfiguration(binaries: binaries)
        configuration.chaosMs = 30_000
        configuration.untilEveryFaultKind = true
        // CI's campaign runs with keys: every fault kind with every frame authenticated (issue 16).
        configuration.authenticated = true
        return configuration
    }
}

/// Where the campaign's processes run.
public enum NetworkMode: String, Sendable {
    /// Each process on a network namespace of its own, with links the nemesis cuts (needs root and `ip`).
    case namespaces
    /// Everything on 127.0.0.1; no partitions.
    case loopback
    /// Namespaces when this machine allows them, loopback otherwise.
    case automatic
}
