import Wire

/// The classic store's in-memory map from key to value, each value kept as the JSON a `get` replies with.
public struct KeyValueStore: Sendable {
    private var values: [String: EncodedString] = [:]

    public init() {}

    public var count: Int { values.count }

    public subscript(key: String) -> EncodedString? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Every key, sorted, so replies are deterministic.
    public var keys: [String] { values.keys.sorted() }
}
