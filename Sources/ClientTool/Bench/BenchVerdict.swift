/// A normal end of one bench request, counted among the outcomes with its latency.
enum BenchOutcome: Equatable, Sendable {
    case ok
    /// A read of a key with no value.
    case notFound
    /// `lock_get` granted the lock.
    case granted
    /// `lock_get` put the requestor in the lock's queue (a normal answer under contention).
    case queued
    /// `lock_release` found nothing to release.
    case unknown
}

/// How one reply counts: a completed operation, or an error of some kind.
enum BenchVerdict: Equatable, Sendable {
    case completed(BenchOutcome)
    case failed(BenchErrorKind, String)

    /// Judges `reply` as the answer to a request of `kind`.
    ///
    /// Pure, so the rules are unit-tested: a `retry` is a queue place for `lock_get` but a refusal, hence an
    /// error, for a replicated request; a status the request cannot produce is an unexpected reply.
    init(reply: BenchReply, to kind: BenchRequestKind) {
        switch (reply, kind) {
        case (.ok, _):
            self = .completed(.ok)
        case (.notFound, .get), (.notFound, .getr):
            self = .completed(.notFound)
        case (.granted, .lockGet):
            self = .completed(.granted)
        case (.unknown, .lockRelease):
            self = .completed(.unknown)
        case (.retry, .lockGet):
            self = .completed(.queued)
        case (.retry(let reason, let maybeApplied), .setr), (.retry(let reason, let maybeApplied), .getr):
            self = .failed(.refusal(reason: reason, maybeApplied: maybeApplied), reason)
        case (.error(let message), _):
            self = .failed(.errorReply, message)
        case (.unexpected(let excerpt), _):
            self = .failed(.unexpectedReply, excerpt)
        case (.notFound, _), (.granted, _), (.unknown, _), (.retry, _):
            self = .failed(.unexpectedReply, "\(reply) is not an answer to \(kind)")
        }
    }
}
