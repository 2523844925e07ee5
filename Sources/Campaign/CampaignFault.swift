import FaultModel

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
    /// A partial partition: two members cannot reach each other (or one cannot reach the other) for many leases
    /// while both reach the viewleader and the clients; or a server joins with its link to a member cut.
    case cutLinkLong(Int, Int, forMs: Int)
    case cutLinkOneWay(from: Int, to: Int, forMs: Int)
    case joinServerWithLinkCut(cutFrom: Int, forMs: Int)
    case killServerKeepingData(machine: Int, restartAfterMs: Int)
    case killEveryServer(restartAfterMs: Int)
    /// Waits (a bounded time) until the server is writing a snapshot, then kills it.
    case killServerDuringSnapshot(machine: Int, restartAfterMs: Int)

    var kind: FaultKind {
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
        case .cutLinkLong: return .cutLinkLong
        case .cutLinkOneWay: return .cutLinkOneWay
        case .joinServerWithLinkCut: return .joinServerWithLinkCut
        case .killServerKeepingData: return .killServerKeepingData
        case .killEveryServer: return .killEveryServer
        case .killServerDuringSnapshot: return .killServerDuringSnapshot
        }
    }
}

/// The end of a fault, due at a time fixed when it starts.
enum CampaignFaultEnd: Equatable {
    case restartServer(machine: Int)
    case restartServerOnData(machine: Int)
    case resumeServer(machine: Int)
    case reconnectServer(machine: Int)
    case rejoinPrimary(machine: Int)
    case restartViewLeader(restoring: SavedStateChoice)
    case resumeViewLeader
    case reconnectViewLeader
    case healLink(Int, Int)
    case healLongLink(Int, Int)
    case healOneWay(from: Int, to: Int)
}
