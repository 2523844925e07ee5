import Wire

/// Members that report each other unreachable while both still heartbeat (a partial partition), and the
/// viewleader's decision on them: which one leaves the view, and how long it waits before it may join again.
///
/// The rule (argued in PROTOCOL.md, "Partial partitions"):
/// - Reports are gathered for `gatherMs` after the earliest one still standing, so the other side's reports and
///   other members' reports about the same server arrive before anything is decided.
/// - Of the two members of that earliest report, the one with more distinct counterparts in the standing reports
///   goes (a server cut off from several peers, or one that reports everyone, is the odd one out); on a tie, the
///   one that has synced less far (a joiner that cannot copy its ranges); then the one reported.
/// - One member is excluded at a time, and only while the expiry pacing allows another expiry (at most two
///   between fully synced views), so exclusions never take more replicas than failures may.
/// - Excluding a member means no longer renewing its lease: it leaves the view by ordinary expiry once its lease
///   has run out, so no one serves in a view without it while it may still serve in the old one.
/// - Its address is then quarantined: a server there may join again (under a new ID) only after `quarantineMs`,
///   which doubles with every exclusion of that address within `strikeMemoryMs` of its last quarantine's end. A
///   link that stays down costs ever rarer view changes, never a flapping view.
///
/// Pure: time arrives as arguments. Bounded: one standing report per ordered pair of members, at most
/// `reportsMax`; at most `quarantinedMax` addresses remembered.
public struct SuspicionBoard: Sendable {
    public static let reportsMax = 10_000
    public static let quarantinedMax = 1_000

    public let leaseMs: Int64

    public struct Report: Equatable, Sendable {
        public let reporter: String
        public let peer: String
        /// When it was first made, and last made again.
        public let firstMs: Int64
        public var lastMs: Int64
        public var unreachableMs: Int64
    }

    /// The member being excluded: its lease is not renewed until it has left the view.
    public struct Exclusion: Equatable, Sendable {
        public let id: String
        public let address: String
        public let sinceMs: Int64
    }

    /// An address whose server was excluded: none joins from it before `untilMs`.
    public struct Quarantine: Equatable, Sendable {
        public var untilMs: Int64
        /// Exclusions of the address in a row (see `strikeMemoryMs`).
        public var strikes: Int
    }

    public private(set) var reports: [Report] = []
    public private(set) var excluding: Exclusion?
    public private(set) var quarantined: [String: Quarantine] = [:]

    public init(leaseMs: Int64) {
        self.leaseMs = leaseMs
    }

    /// How long reports are gathered before a decision: one check interval of the viewleader (a tenth of a lease,
    /// at most 250 ms). Both sides of a cut find their calls unanswered within milliseconds of each other, and
    /// each report costs the cut's keys this much more time unserved.
    public var gatherMs: Int64 { ViewLeaderCore.tickIntervalMs(leaseMs: leaseMs) }
    /// A report not made again within this long no longer stands: servers repeat theirs every
    /// `Suspicion.repeatIntervalMs` while calls keep failing (and withdraw it when the peer answers).
    public var reportStandsMs: Int64 { 2 * ViewLeaderRequest.Suspicion.repeatIntervalMs + gatherMs }
    /// The quarantine after the `strikes`-th exclusion of an address in a row: two leases, doubling, at most 32.
    public func quarantineMs(strikes: Int) -> Int64 { leaseMs * (Int64(1) << min(5, max(1, strikes))) }
    /// A server that rejoined and was not excluded again for this long after its quarantine ended starts the
    /// doubling over: its link was back.
    public var strikeMemoryMs: Int64 { 8 * leaseMs }

    /// Records `reporter`'s report that it cannot reach `peer` (`unreachableMs` 0: it can again, and withdraws its
    /// report); false when it is set aside (the reporter or the peer is being excluded).
    public mutating func record(reporter: String, peer: String, unreachableMs: Int64, nowMs: Int64) -> Bool {
        guard reporter != peer, excluding?.id != reporter, excluding?.id != peer else { return false }
        guard unreachableMs > 0 else {
            reports.removeAll { $0.reporter == reporter && $0.peer == peer }
            return true
        }
        if let index = reports.firstIndex(where: { $0.reporter == reporter && $0.peer == peer }) {
            reports[index].unreachableMs = unreachableMs
            reports[index].lastMs = nowMs
            return true
        }
        if reports.count >= Self.reportsMax { reports.removeFirst() }
        reports.append(Report(reporter: reporter, peer: peer, firstMs: nowMs, lastMs: nowMs,
                              unreachableMs: unreachableMs))
        return true
    }

    /// What `decide` chose.
    public struct Decision: Equatable, Sendable {
        public let excluded: String
        /// The report decided on, and how many distinct counterparts each of its two members had.
        public let report: Report
        public let counterparts: [String: Int]
        public let quarantineMs: Int64
    }

    /// Decides on the earliest standing report once it has gathered for `gatherMs`, if no exclusion is under way
    /// and `mayExclude`. `members` gives each live member's address and synced epoch; reports naming anyone else
    /// are dropped first.
    public mutating func decide(members: [String: (address: String, syncedEpoch: Int64)], mayExclude: Bool,
                                nowMs: Int64) -> Decision? {
        if let excluding, members[excluding.id] == nil { self.excluding = nil }
        let standsMs = reportStandsMs
        reports.removeAll { members[$0.reporter] == nil || members[$0.peer] == nil || nowMs - $0.lastMs > standsMs }
        guard excluding == nil, mayExclude, let earliest = reports.min(by: { $0.firstMs < $1.firstMs }),
              nowMs - earliest.firstMs >= gatherMs
        else { return nil }
        var pairs: Set<[String]> = []
        for report in reports { pairs.insert([report.reporter, report.peer].sorted()) }
        var counterparts: [String: Int] = [:]
        for pair in pairs { for id in pair { counterparts[id, default: 0] += 1 } }
        let (x, y) = (earliest.reporter, earliest.peer)
        let excluded: String
        if counterparts[x, default: 0] != counterparts[y, default: 0] {
            excluded = counterparts[x, default: 0] > counterparts[y, default: 0] ? x : y
        } else if members[x]!.syncedEpoch != members[y]!.syncedEpoch {
            excluded = members[x]!.syncedEpoch < members[y]!.syncedEpoch ? x : y
        } else {
            excluded = y
        }
        let address = members[excluded]!.address
        excluding = Exclusion(id: excluded, address: address, sinceMs: nowMs)
        reports.removeAll { $0.reporter == excluded || $0.peer == excluded }
        var quarantine = quarantined[address] ?? Quarantine(untilMs: nowMs, strikes: 0)
        if nowMs - quarantine.untilMs > strikeMemoryMs { quarantine.strikes = 0 }
        quarantine.strikes += 1
        let quarantineMs = self.quarantineMs(strikes: quarantine.strikes)
        // Counted from when its lease has surely run out and it has left the view.
        quarantine.untilMs = nowMs + leaseMs + quarantineMs
        if quarantined[address] == nil && quarantined.count >= Self.quarantinedMax,
           let oldest = quarantined.min(by: { $0.value.untilMs < $1.value.untilMs }) {
            quarantined[oldest.key] = nil
        }
        quarantined[address] = quarantine
        return Decision(excluded: excluded, report: earliest, counterparts: counterparts, quarantineMs: quarantineMs)
    }

    /// Whether `id` is being excluded (its heartbeats renew nothing).
    public func isExcluding(_ id: String) -> Bool { excluding?.id == id }

    /// Until when no new member may join from `address`, or nil when it may now.
    public func quarantinedUntil(_ address: String, nowMs: Int64) -> Int64? {
        guard let until = quarantined[address]?.untilMs, until > nowMs else { return nil }
        return until
    }
}
