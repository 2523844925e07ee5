import Wire

/// What a viewleader gathers while it cannot trust its own view: after starting from saved state, until the
/// members it restored confirm it, and after learning that the cluster is ahead of it. Meanwhile it renews no
/// lease: every heartbeat is answered `retry` and recorded.
///
/// Why: a viewleader restarted from an old state file, or from none while servers of an earlier life still run,
/// would otherwise hand out epochs the cluster already used. Servers refuse requests from an epoch older than
/// their own, so clients that route by the viewleader's view were refused forever; and a server that is behind
/// (paused, then resumed) but matches the old state would have its lease renewed and serve a superseded view
/// beside the cluster's real one (the simulator found both).
///
/// - **Confirming** (only after a start that restored members): ends as soon as every restored member has
///   heartbeated, and otherwise half a lease after the start once any server at all was heard (servers heartbeat
///   several times a lease; a viewleader that hears no one is cut off, and waits). If no one reported a later epoch,
///   the restored view is the cluster's and the viewleader carries on.
/// - **Recovering** (a server reported an epoch above the viewleader's): servers are asked to send the view they
///   serve with their next heartbeat. Once every lease granted before has run out (one lease after the later of
///   the start and the last lease this process granted), half a lease after the first report, and once some
///   server has sent its view, the viewleader forms one view: the members of the latest view a server sent, and
///   every server heard, at an epoch above every one reported. It is the cluster's latest view as far as anyone
///   can tell, so a member that was not heard (cut off, or dead) stays in it and expires by its lease as usual,
///   and the servers sync it as after any view change, each pulling its ranges from all the others.
public struct ViewRecovery: Sendable {
    public enum Phase: Equatable, Sendable {
        /// Waiting for the restored members (`expected`) to report the restored epoch, until `untilMs`.
        case confirming(expected: Set<String>, untilMs: Int64)
        /// A server reported an epoch above the viewleader's at `reportedAtMs`; the view forms at `formsAtMs`.
        case recovering(reportedAtMs: Int64, formsAtMs: Int64)
    }

    public private(set) var phase: Phase
    /// The viewleader's own epoch when gathering began.
    public let ownEpoch: Int64
    /// The highest epoch any server reported.
    public private(set) var epochHeard: Int64
    /// Every server heard while gathering, by ID; addresses are unique (a newer ID at an address replaces the
    /// older one, which can no longer be listening there).
    public private(set) var heard: [String: Member] = [:]
    /// The latest view a server sent (`view` in a heartbeat): its epoch and its members' IDs and addresses.
    public private(set) var latestReportedView: (epoch: Int64, members: [(id: String, address: String)])?

    /// Gathering after a start that restored `members` at `epoch`.
    public init(confirming members: Set<String>, epoch: Int64, startedMs: Int64, leaseMs: Int64) {
        phase = .confirming(expected: members, untilMs: startedMs + leaseMs / 2)
        ownEpoch = epoch
        epochHeard = -1
    }

    /// Gathering after a heartbeat reported `reportedEpoch`, above the viewleader's `epoch`, at `nowMs`.
    public init(recoveringFrom epoch: Int64, reportedEpoch: Int64, nowMs: Int64, leasesGrantedUntilMs: Int64,
                leaseMs: Int64) {
        phase = .recovering(reportedAtMs: nowMs,
                            formsAtMs: Self.formingTime(reportedAtMs: nowMs, leasesGrantedUntilMs: leasesGrantedUntilMs,
                                                        leaseMs: leaseMs))
        ownEpoch = epoch
        epochHeard = reportedEpoch
    }

    /// When a recovered view may form: every lease granted before has run out, and every live server has had half a
    /// lease to be heard since the first report.
    static func formingTime(reportedAtMs: Int64, leasesGrantedUntilMs: Int64, leaseMs: Int64) -> Int64 {
        max(leasesGrantedUntilMs + leaseMs, reportedAtMs + leaseMs / 2)
    }

    public var isRecovering: Bool {
        if case .recovering = phase { return true }
        return false
    }

    /// Whether confirming may end at `nowMs`: every restored member was heard, or half a lease has passed and
    /// someone was heard.
    public func confirmationEnds(nowMs: Int64) -> Bool {
        guard case .confirming(let expected, let untilMs) = phase else { return false }
        return expected.isSubset(of: heard.keys) || (nowMs >= untilMs && !heard.isEmpty)
    }

    /// Whether a recovery may form its view at `nowMs`.
    public func recoveryEnds(nowMs: Int64) -> Bool {
        guard case .recovering(_, let formsAtMs) = phase else { return false }
        return nowMs >= formsAtMs && latestReportedView != nil
    }

    /// Records a heartbeat from `id` at `address` reporting `reportedEpoch` (-1 when it reports none) and, when
    /// asked for, the view it serves.
    public mutating func hear(id: String, address: String, incarnation: Int64 = 0, reportedEpoch: Int64,
                              reportedView: (epoch: Int64, members: [(id: String, address: String)])? = nil,
                              nowMs: Int64) {
        epochHeard = max(epochHeard, reportedEpoch)
        if let reportedView, reportedView.epoch > (latestReportedView?.epoch ?? -1) {
            latestReportedView = reportedView
        }
        if let other = heard.values.first(where: { $0.address == address && $0.id != id }) {
            heard[other.id] = nil
        }
        guard heard[id] != nil || heard.count < ViewLeaderRequest.membersMax else { return }
        heard[id] = Member(id: id, address: address, lastHeartbeatMs: nowMs, incarnation: incarnation)
    }

    /// Turns a confirmation that heard a later epoch into a recovery.
    public mutating func startRecovering(nowMs: Int64, leasesGrantedUntilMs: Int64, leaseMs: Int64) {
        phase = .recovering(reportedAtMs: nowMs,
                            formsAtMs: Self.formingTime(reportedAtMs: nowMs, leasesGrantedUntilMs: leasesGrantedUntilMs,
                                                        leaseMs: leaseMs))
    }
}
