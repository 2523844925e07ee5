/// The server's in-memory map from key to value.
///
/// A separate type so the replicated store can later keep versions beside values without touching callers.
public struct KeyValueStore: Sendable {
    private var values: [String: String] = [:]

    public init() {}

    public var count: Int { values.count }

    public subscript(key: String) -> String? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Every key, sorted, so replies are deterministic.
    public var keys: [String] { values.keys.sorted() }
}
