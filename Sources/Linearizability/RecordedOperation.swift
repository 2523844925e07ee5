/// One operation on one key of a register-with-delete store, as a client observed it.
public struct RecordedOperation: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Set the key to a value.
        case write(String)
        /// Remove the key.
        case delete
        /// Read the key; `observed` is the value returned, nil for not found.
        case read(observed: String?)
    }

    public enum Outcome: Equatable, Sendable {
        /// Acknowledged: it took effect between invocation and completion.
        case ok
        /// Definitely did not take effect.
        case fail
        /// May have taken effect at any time after invocation, or never.
        case unknown
    }

    public let process: Int
    public let key: String
    public let kind: Kind
    /// When the client sent it, in any monotonic unit.
    public let invokedAt: Int64
    /// When the client heard the answer; ignored for unknown outcomes.
    public let completedAt: Int64
    public let outcome: Outcome

    public init(process: Int, key: String, kind: Kind, invokedAt: Int64, completedAt: Int64, outcome: Outcome) {
        precondition(completedAt >= invokedAt, "an operation completes after it is invoked")
        self.process = process
        self.key = key
        self.kind = kind
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.outcome = outcome
    }

    public var description: String {
        let what: String
        switch kind {
        case .write(let value): what = "write(\(Self.shortened(value)))"
        case .delete: what = "delete"
        case .read(let observed): what = "read -> \(observed.map(Self.shortened) ?? "not found")"
        }
        return "p\(process) \(key) \(what) [\(invokedAt), \(outcome == .unknown ? "?" : String(completedAt))] \(outcome)"
    }

    /// Longest value written out whole in a description; longer ones (the near-limit values of the simulator and
    /// the campaign) show their start and their length, which keep them apart.
    public static let describedValueCharactersMax = 40

    /// `value` whole when short, else its start and its length in bytes.
    public static func shortened(_ value: String) -> String {
        guard value.count > describedValueCharactersMax else { return value }
        return "\(value.prefix(describedValueCharactersMax))…(\(value.utf8.count) bytes)"
    }
}
