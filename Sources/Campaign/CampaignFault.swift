/// The kinds of fault a campaign injects, for the summary.
public enum CampaignFaultKind: String, CaseIterable, Sendable, Comparable {
    case killServer = "SIGKILL server, restart it"
    case pauseServerBriefly = "SIGSTOP server within its lease"
    case pauseServerPastLease = "SIGSTOP server past its lease"
    case removeServer = "remove server for good"
    case joinServer = "join a new server"
    case replaceServer = "join a server, remove another while it rebalances"
    case killViewLeader = "SIGKILL viewleader, restart it"
    case killViewLeaderLosingState = "SIGKILL viewleader, restart it without its state file"
    case killViewLeaderWithOlderState = "SIGKILL viewleader, restart it from an older state file"
    case pauseViewLeader = "SIGSTOP viewleader"
    case isolateServerFromViewLeader = "cut server off from the viewleader"
    case isolatePrimary = "cut a primary off from every peer"
    case isolateViewLeader = "cut the viewleader off from every server"
    case cutLink = "cut link between two servers"

    /// Faults that need network namespaces.
    public var needsNetwork: Bool {
        switch self {
        case .isolateServerFromViewLeader, .isolatePrimary, .isolateViewLeader, .cutLink: return true
        default: return false
        }
    }

    /// Faults that cost a server its data: it leaves the view, and comes back (if at all) as a new, empty member.
    public var losesData: Bool {
        switch self {
        case .killServer, .pauseServerPastLease, .removeServer, .replaceServer, .isolateServerFromViewLeader,
             .isolatePrimary:
            return true
        default: return false
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Which state file a restarted viewleader finds: the one it wrote last, none (lost, or another --state-dir), or an
/// older copy (a restored backup).
enum SavedStateChoice: Equatable {
    case latest, none, older
}

/// One fault to inject, with how long it lasts.
enum CampaignFault: Equatable {
    case killServer(machine: Int, restartAfterMs: Int)
    case pauseServer(machine: Int, forMs: Int, pastLease: Bool)
    case removeServer(machine: Int)
    case joinServer
    /// Joins a server and, as soon as the view has it (its ranges still moving), removes `machine` for good.
    case replaceServer(machine: Int)
    case killViewLeader(restartAfterMs: Int, restoring: SavedStateChoice)
    case pauseViewLeader(forMs: Int)
    case isolateServerFromViewLeader(machine: Int, forMs: Int)
    case isolatePrimary(machine: Int, forMs: Int)
    case isolateViewLeader(forMs: Int)
    case cutLink(Int, Int, forMs: Int)

    var kind: CampaignFaultKind {
        switch self {
        case .killServer: return .killServer
        case .pauseServer(_, _, let pastLease): return pastLease ? .pauseServerPastLease : .pauseServerBriefly
        case .removeServer: return .removeServer
        case .joinServer: return .joinServer
        case .replaceServer: return .replaceServer
        case .killViewLeader(_, .latest): return .killViewLeader
        case .killViewLeader(_, .none): return .killViewLeaderLosingState
        case .killViewLeader(_, .older): return .killViewLeaderWithOlderState
        case .pauseViewLeader: return .pauseViewLeader
        case .isolateServerFromViewLeader: return .isolateServerFromViewLeader
        case .isolatePrimary: return .isolatePrimary
        case .isolateViewLeader: return .isolateViewLeader
        case .cutLink: return .cutLink
        }
    }
}

/// The end of a fault, due at a time fixed when it starts.
enum CampaignFaultEnd: Equatable {
    case restartServer(machine: Int)
    case resumeServer(machine: Int)
    case reconnectServer(machine: Int)
    case rejoinPrimary(machine: Int)
    case restartViewLeader(restoring: SavedStateChoice)
    case resumeViewLeader
    case reconnectViewLeader
    case healLink(Int, Int)
}
