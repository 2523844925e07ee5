import Placement
import Wire

/// The replica's side of the wire: the pull it sends, and the replies that refuse a request.
enum ReplicationMessages {
    /// A pull request for `ranges` at `epoch`, after `after`, saying which positions the puller holds (`have`).
    static func pull(epoch: Int64, ranges: [PositionRange], after: String?,
                     have: [Int: VersionedStore.BucketSummary] = [:]) -> ServerRequest {
        .pull(PullRequest(epoch: epoch,
                          ranges: ranges.map { WirePositionRange(low: Int64($0.lowerBound), high: Int64($0.upperBound)) },
                          after: after,
                          have: have.sorted { $0.key < $1.key }.map {
                              HeldPosition(position: Int64($0.key), count: Int64($0.value.count), digest: $0.value.digest)
                          }))
    }

    /// The reply to a request this server will not serve now; `maybeApplied` marks a write that reached a backup.
    static func retry(_ refusal: Refusal, epoch: Int64, maybeApplied: Bool = false) -> ServerReply {
        .retry(reason: refusal.description, epoch: epoch, maybeApplied: maybeApplied)
    }

    /// The answer to a retried write whose ID its key no longer remembers, where IDs were dropped early: it may
    /// have taken effect before, so it was not applied, and its outcome cannot be told.
    static func outcomeForgotten(_ writeID: WriteID) -> ServerReply {
        .unknownOutcome("write \(writeID) may have taken effect in an earlier attempt, but this server no longer "
            + "remembers its ID (it had to forget IDs early under load); it was not applied again: read the key to see")
    }
}
