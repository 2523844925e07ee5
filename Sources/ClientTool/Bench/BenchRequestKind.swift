/// The kinds of request a bench run sends.
enum BenchRequestKind: UInt8, Sendable {
    case set, get, setr, getr, lockGet, lockRelease

    /// Routed to the key's primary and stamped with the view's epoch.
    var isReplicated: Bool { self == .setr || self == .getr }
}
