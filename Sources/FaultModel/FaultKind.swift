/// Every kind of fault the project's two fault injectors know: the deterministic simulator (`Simulation`) and the
/// real-process campaign (`Campaign`). Each injects the kinds it can (`Simulation.faultKinds`,
/// `Campaign.faultKinds`) and reports what it injected by these names, so their summaries read alike.
public enum FaultKind: String, CaseIterable, Sendable, Comparable {
    case killServer = "kill a server, restart it empty"
    case pauseServerBriefly = "pause a server within its lease"
    case pauseServerPastLease = "pause a server past its lease"
    case removeServer = "remove a server for good"
    case joinServer = "join a new server"
    case replaceServer = "join a server, remove another while it rebalances"
    case killViewLeader = "kill the viewleader, restart it"
    case killViewLeaderLosingState = "kill the viewleader, restart it without its state file"
    case killViewLeaderWithOlderState = "kill the viewleader, restart it from an older state file"
    case pauseViewLeader = "pause the viewleader"
    case isolateServerFromViewLeader = "cut a server off from the viewleader"
    case isolatePrimary = "cut a primary off from the viewleader and every peer"
    case isolateViewLeader = "cut the viewleader off from every server"
    case cutLink = "cut the link between two servers"
    case cutLinkLong = "cut the link between two servers past a call's time"
    case cutLinkOneWay = "cut one direction between two servers past a call's time"
    case joinServerWithLinkCut = "join a server whose link to a member is cut"
    case killServerKeepingData = "kill a server, restart it on its data directory"
    case killEveryServer = "kill every server at once, restart each on its data directory"
    case killServerDuringSnapshot = "kill a server while it writes a snapshot, restart it on its data directory"

    /// Faults that cut links; the campaign injects them only on network namespaces.
    public var needsNetwork: Bool {
        switch self {
        case .isolateServerFromViewLeader, .isolatePrimary, .isolateViewLeader, .cutLink, .cutLinkLong,
             .cutLinkOneWay, .joinServerWithLinkCut:
            return true
        default: return false
        }
    }

    /// Faults that restart servers on their data directories; the campaign injects them only when its servers keep
    /// one (`campaign --data-dirs`). The simulator restarts on data in its own way (`--data-dirs`), so it reports
    /// those restarts under `killServer`.
    public var needsDataDirectories: Bool {
        self == .killServerKeepingData || self == .killEveryServer || self == .killServerDuringSnapshot
    }

    /// Faults that cost a server its data: it leaves the view, and comes back (if at all) as a new, empty member.
    /// At most two come before the cluster is stable again, so one replica of every key survives.
    public var losesData: Bool {
        switch self {
        case .killServer, .pauseServerPastLease, .removeServer, .replaceServer, .isolateServerFromViewLeader,
             .isolatePrimary, .cutLinkLong, .cutLinkOneWay, .joinServerWithLinkCut:
            // A cut that outlasts a call's time excludes one of the two servers (see "Partial partitions").
            return true
        default: return false
        }
    }

    /// Longest brief cut between two servers (`cutLink`): short enough that what was sent across it arrives within
    /// a call's 1000 ms even through TCP's retransmissions (200 ms, then 400 ms more), so neither server reports
    /// the other and the view never changes. A longer cut is a partial partition (`cutLinkLong` and the others),
    /// which excludes one of the two servers and so costs it its data.
    public static let briefCutMsMax = 500
    /// Shortest partial partition: just past a call's time, up to many leases.
    public static let partialPartitionMsMin = 1_000
    public static func partialPartitionMsMax(leaseMs: Int) -> Int { 8 * leaseMs }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
