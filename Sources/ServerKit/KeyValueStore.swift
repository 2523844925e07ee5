import Wire

/// The classic store's in-memory map from key to value, each value kept as the JSON a `get` replies with.
public struct KeyValueStore: Sendable {
    private var values: [String: EncodedString] = [:]

    public init() {}

    public var count: Int { values.count }

    /// Bytes of data held: each key's and value's bytes and `entryOverheadBytes` per key (see `MemoryQuota`).
    public private(set) var heldBytes = 0
    /// What a dictionary slot and its string headers cost beyond the bytes themselves, roughly.
    static let entryOverheadBytes = 64

    public subscript(key: String) -> EncodedString? {
        get { values[key] }
        set {
            let old: EncodedString?
            if let newValue { old = values.updateValue(newValue, forKey: key) } else { old = values.removeValue(forKey: key) }
            heldBytes += Self.heldBytes(key, newValue) - Self.heldBytes(key, old)
        }
    }

    private static func heldBytes(_ key: String, _ value: EncodedString?) -> Int {
        guard let value else { return 0 }
        return key.utf8.count + value.json.count + entryOverheadBytes
    }

    /// Every key, sorted, so replies are deterministic.
    public var keys: [String] { values.keys.sorted() }
}
