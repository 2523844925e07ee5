/// Notices a server that keeps joining the view: a process whose heartbeats are too slow for the lease, or that
/// is paused, killed or cut off again and again, joins, expires, and joins once more under a new ID, each time
/// costing two view changes and a copy of its ranges (issue 17: 97 joins in ten minutes, unexplained).
///
/// Pure: joins come in with their time; the answer is whether to report the address now. Bounded: at most
/// `addressesMax` addresses, each with at most `joinsMin` join times.
struct FlapWatch: Sendable {
    /// Joins of one address within `windowMs` that make it flapping.
    static let joinsMin = 3
    static let windowMs: Int64 = 60_000
    /// Addresses remembered; past it the one that joined longest ago is forgotten.
    static let addressesMax = 1_000

    /// The latest join times of each address, oldest first, and when it was last reported.
    private var joins: [String: [Int64]] = [:]
    private var reportedMs: [String: Int64] = [:]

    /// Records a join of a server at `address`; returns how many times it joined within the window when that
    /// makes it flapping and it was not reported within the window.
    mutating func joined(address: String, nowMs: Int64) -> Int? {
        var times = (joins[address] ?? []).filter { nowMs - $0 < Self.windowMs }
        times.append(nowMs)
        joins[address] = Array(times.suffix(Self.joinsMin))
        if joins.count > Self.addressesMax, let oldest = joins.min(by: { $0.value.last! < $1.value.last! })?.key {
            joins[oldest] = nil
            reportedMs[oldest] = nil
        }
        guard times.count >= Self.joinsMin else { return nil }
        if let last = reportedMs[address], nowMs - last < Self.windowMs { return nil }
        reportedMs[address] = nowMs
        return times.count
    }

    /// The operator's line for an address that joined `count` times within the window.
    static func report(address: String, count: Int, leaseMs: Int64) -> String {
        "server at \(address) joined \(count) times in \(windowMs / 1_000) s (flapping): its lease ran out each "
            + "time before it joined again. Check that its --heartbeat-interval is at most a third of the "
            + "\(leaseMs) ms lease, and whether the process is being paused, overloaded, restarted or cut off "
            + "from this viewleader"
    }
}
