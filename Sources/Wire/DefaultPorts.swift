/// The ports each role takes when none is given: the first free one of its range, as in the classic design. A
/// client tries them in order, so a cluster started with defaults is found without any address.
public enum DefaultPorts {
    public static let server = 38_000...38_009
    public static let viewLeader = 39_000...39_009

    /// "38000-38009", for help texts.
    public static func describe(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound)-\(range.upperBound)" }
}
