import Wire

/// Which peers this server cannot reach, from the fate of its calls to them, and when to tell the viewleader.
///
/// A peer is unreachable from the first call to it that failed (no answer within the call's time, or a failed
/// connection) until one is answered: one episode. Once the failures span `suspectAfterMs` — counted from when
/// the first failed call was sent, so a single call that went unanswered for its whole time is enough — the
/// server reports the peer (`suspect`), and again every `reportIntervalMs` while the episode lasts (a report
/// the viewleader did not hear, or set aside, is made again). Each episode is logged once when it starts being
/// reported and once when it ends, with how long it lasted; the end of a reported episode withdraws the report.
///
/// Pure: time arrives as arguments.
struct PeerReachability: Sendable {
    /// How long a peer's calls must have failed before it is reported: the time one call has for its answer
    /// (`ReplicaNode.peerCallTimeoutMs`). A cut shorter than this, whose calls are answered within their time,
    /// is never reported.
    static let suspectAfterMs = ReplicaNode.peerCallTimeoutMs
    /// Pause between reports of the same episode.
    static let reportIntervalMs = ViewLeaderRequest.Suspicion.repeatIntervalMs

    struct Episode: Equatable, Sendable {
        /// When the first failed call of the episode was sent.
        let sinceMs: Int64
        var lastReportMs: Int64?
    }

    private(set) var episodes: [String: Episode] = [:]
    /// For each peer, the latest send time of a call it answered: a call sent before that and failed later (it
    /// was lost, or its connection reset) says nothing about the peer now.
    private var lastAnsweredSentMs: [String: Int64] = [:]

    /// What was decided about one call's outcome.
    enum Decision: Equatable, Sendable {
        case nothing
        /// Report `peer`; `firstReport` says this episode has not been reported (and logged) before.
        case report(peer: String, unreachableMs: Int64, firstReport: Bool)
        /// `peer` answered again after being unreachable for `unreachableMs` (logged only if it was reported).
        case reachableAgain(peer: String, unreachableMs: Int64, wasReported: Bool)
    }

    /// A call to `peer` sent at `sentMs` got no answer by `nowMs`.
    mutating func callFailed(to peer: String, sentMs: Int64, nowMs: Int64) -> Decision {
        if let answered = lastAnsweredSentMs[peer], answered >= sentMs { return .nothing }
        var episode = episodes[peer] ?? Episode(sinceMs: sentMs)
        defer { episodes[peer] = episode }
        let unreachableMs = nowMs - episode.sinceMs
        guard unreachableMs >= Self.suspectAfterMs else { return .nothing }
        if let last = episode.lastReportMs, nowMs - last < Self.reportIntervalMs { return .nothing }
        let first = episode.lastReportMs == nil
        episode.lastReportMs = nowMs
        return .report(peer: peer, unreachableMs: unreachableMs, firstReport: first)
    }

    /// A call to `peer` was answered (whatever the answer said): the peer is reachable.
    mutating func callAnswered(by peer: String, sentMs: Int64, nowMs: Int64) -> Decision {
        lastAnsweredSentMs[peer] = max(lastAnsweredSentMs[peer] ?? sentMs, sentMs)
        guard let episode = episodes.removeValue(forKey: peer) else { return .nothing }
        return .reachableAgain(peer: peer, unreachableMs: nowMs - episode.sinceMs,
                               wasReported: episode.lastReportMs != nil)
    }

    /// Forgets peers that are no longer members: their episodes mean nothing in a view without them.
    mutating func keepOnly(_ members: some Collection<String>) {
        let kept = Set(members)
        episodes = episodes.filter { kept.contains($0.key) }
        lastAnsweredSentMs = lastAnsweredSentMs.filter { kept.contains($0.key) }
    }
}
