import Linearizability

/// The end of a campaign: after every fault is healed, each key that ever had an acknowledged write or delete
/// is read once more, and must hold a value the history allows as its last. A key that fails is lost.
///
/// This is a plainer check than linearizability (the final reads go through the checker too), kept apart so
/// the summary can say how many acknowledged keys survived, as the issue's "keys lost" asks.
public enum FinalReadAudit {
    /// What the last read of a key returned.
    public enum FinalRead: Equatable, Sendable {
        /// The value found, nil for not found.
        case found(String?)
        /// No server answered within the read's retry budget, with the client's last error.
        case unreadable(String)
    }

    public struct Loss: Equatable, Sendable, CustomStringConvertible {
        public let key: String
        public let read: FinalRead
        /// What the key could have held: the values of writes no acknowledged operation followed (nil for a
        /// delete).
        public let allowed: [String?]

        public var description: String {
            let found: String
            switch read {
            case .found(let value): found = "found \(value.map { "'\(RecordedOperation.shortened($0))'" } ?? "nothing")"
            case .unreadable(let detail): found = "unreadable (\(detail))"
            }
            let allowedText = allowed.map { $0.map { "'\(RecordedOperation.shortened($0))'" } ?? "nothing" }
                .joined(separator: " or ")
            return "key \(key): \(found), expected \(allowedText)"
        }
    }

    /// Keys with at least one acknowledged write or delete, sorted.
    public static func acknowledgedKeys(_ history: [RecordedOperation]) -> [String] {
        Set(history.filter { $0.outcome == .ok && !$0.kind.isRead }.map(\.key)).sorted()
    }

    /// The keys whose final read is not a value the history allows as the last.
    public static func losses(history: [RecordedOperation], finalReads: [String: FinalRead]) -> [Loss] {
        let changes = Dictionary(grouping: history.filter { !$0.kind.isRead && $0.outcome != .fail }, by: \.key)
        return acknowledgedKeys(history).compactMap { key in
            let allowed = allowedLastValues(changes[key] ?? [])
            let read = finalReads[key] ?? .unreadable("never read")
            if case .found(let value) = read, allowed.contains(value) { return nil }
            return Loss(key: key, read: read, allowed: allowed)
        }
    }

    /// Values of the writes and deletes that may have been the last to take effect: every one not overwritten
    /// by an acknowledged operation invoked after it completed. Unknown outcomes may take effect at any time, so
    /// nothing is known to follow them.
    static func allowedLastValues(_ changes: [RecordedOperation]) -> [String?] {
        let lastAcknowledgedInvocation = changes.filter { $0.outcome == .ok }.map(\.invokedAt).max() ?? Int64.min
        var values: [String?] = []
        for change in changes where change.outcome == .unknown || change.completedAt >= lastAcknowledgedInvocation {
            let value: String?
            if case .write(let written) = change.kind { value = written } else { value = nil }
            if !values.contains(value) { values.append(value) }
        }
        return values
    }
}
