/// How a history's writes ended, in the three figures every fault campaign and simulation prints: writes reported
/// failed that took effect (must be 0), writes whose outcome stayed unknown (as a share), and retries answered
/// from a remembered write ID.
public struct WriteOutcomeFigures: Equatable, Sendable, CustomStringConvertible {
    /// Writes and deletes in the history.
    public let writes: Int
    /// Of those, how many ended with an unknown outcome.
    public let unknown: Int
    /// Writes reported failed whose value some read returned: a failure that was not one. Values are unique per
    /// write in every history this project records, so a read of the value proves the write took effect.
    public let failedButTookEffect: Int
    /// Writes acknowledged by a replica that remembered their ID: an earlier attempt had taken effect, and the
    /// retry was not applied again.
    public let answeredFromWriteID: Int

    public init(history: [RecordedOperation], answeredFromWriteID: Int) {
        var observed: Set<String> = []
        for operation in history {
            if case .read(let value?) = operation.kind, operation.outcome == .ok { observed.insert(value) }
        }
        var writes = 0
        var unknown = 0
        var failedButTookEffect = 0
        for operation in history {
            switch operation.kind {
            case .read: continue
            case .write(let value):
                if operation.outcome == .fail && observed.contains(value) { failedButTookEffect += 1 }
            case .delete: break
            }
            writes += 1
            if operation.outcome == .unknown { unknown += 1 }
        }
        self.writes = writes
        self.unknown = unknown
        self.failedButTookEffect = failedButTookEffect
        self.answeredFromWriteID = answeredFromWriteID
    }

    /// Unknown outcomes as a share of writes, 0...1.
    public var unknownShare: Double { writes == 0 ? 0 : Double(unknown) / Double(writes) }

    /// The figures summed over several runs.
    public static func + (lhs: WriteOutcomeFigures, rhs: WriteOutcomeFigures) -> WriteOutcomeFigures {
        WriteOutcomeFigures(writes: lhs.writes + rhs.writes, unknown: lhs.unknown + rhs.unknown,
                            failedButTookEffect: lhs.failedButTookEffect + rhs.failedButTookEffect,
                            answeredFromWriteID: lhs.answeredFromWriteID + rhs.answeredFromWriteID)
    }

    public static let zero = WriteOutcomeFigures(writes: 0, unknown: 0, failedButTookEffect: 0, answeredFromWriteID: 0)

    private init(writes: Int, unknown: Int, failedButTookEffect: Int, answeredFromWriteID: Int) {
        self.writes = writes
        self.unknown = unknown
        self.failedButTookEffect = failedButTookEffect
        self.answeredFromWriteID = answeredFromWriteID
    }

    public var description: String {
        let percent = (unknownShare * 10_000).rounded() / 100
        return "writes reported failed that took effect: \(failedButTookEffect); unknown outcomes: \(unknown) of "
            + "\(writes) writes (\(percent)%); retries answered from a remembered write ID: \(answeredFromWriteID)"
    }
}
