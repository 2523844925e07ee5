/// Why a bench request failed; each kind is counted separately in the report.
///
/// The refusal kinds are the `retry` answers of the replicated store. The bench does not retry them, as the
/// client library does: a benchmark should show every refusal rather than hide it in a longer latency.
enum BenchErrorKind: String, CaseIterable, Comparable, Sendable {
    /// The process answered `{"status":"error"}`: it rejected the request.
    case errorReply = "error_reply"
    /// The reply was not JSON, not an object, or had an unknown status.
    case unexpectedReply = "unexpected_reply"
    /// No reply within `--timeout`; the connection was closed and reopened.
    case timeout
    /// The peer closed the connection, or a read or write failed, with requests in flight.
    case connectionClosed = "connection_closed"
    /// A connection could not be opened; the request was never sent.
    case connectFailed = "connect_failed"
    /// The viewleader could not be asked for the view, or the view had no servers.
    case viewUnavailable = "view_unavailable"
    /// A replicated request named an epoch other than the server's (the bench's view was stale).
    case staleEpoch = "stale_epoch"
    /// A replicated request reached a server that is not the key's primary.
    case notPrimary = "not_primary"
    /// The primary's lease had run out.
    case leaseExpired = "lease_expired"
    /// The key's range was being copied to the primary after a view change.
    case rangeMoving = "range_moving"
    /// The server had not joined a view yet.
    case notJoined = "not_joined"
    /// A write reached a backup without being committed: it may or may not take effect.
    case maybeApplied = "maybe_applied"
    /// Any other `retry` answer to a replicated request.
    case refused

    /// The kind of a replicated store's `retry` answer, from its words and its `maybe_applied` flag.
    static func refusal(reason: String, maybeApplied: Bool) -> BenchErrorKind {
        if maybeApplied { return .maybeApplied }
        if reason.hasPrefix("request is for epoch") { return .staleEpoch }
        if reason.contains("not the key's primary") { return .notPrimary }
        if reason.contains("lease has expired") { return .leaseExpired }
        if reason.contains("being copied") { return .rangeMoving }
        if reason.contains("has not joined a view") { return .notJoined }
        return .refused
    }

    /// True for refusals that mean the bench should fetch the view again before routing more requests.
    var callsForViewRefresh: Bool {
        switch self {
        case .staleEpoch, .notPrimary, .notJoined, .refused: return true
        default: return false
        }
    }

    static func < (left: BenchErrorKind, right: BenchErrorKind) -> Bool { left.rawValue < right.rawValue }
}
