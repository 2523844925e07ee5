import Wire

/// The classic store's in-memory map from key to value, each value kept as the JSON a `get` replies with. Keys
/// are their exact bytes (`ExactString`): canonically equivalent but different keys are different keys.
public struct KeyValueStore: Sendable {
    private var values: [ExactString: EncodedString] = [:]

    public init() {}

    public var count: Int { values.count }

    /// Bytes of data held: each key's and value's bytes and `entryOverheadBytes` per key (see `MemoryQuota`).
    public private(set) var heldBytes = 0
    /// What a dictionary slot and its string headers cost beyond the bytes themselves, roughly.
    static let entryOverheadBytes = 64

    public subscript(key: String) -> EncodedString? {
        get { values[ExactString(key)] }
        set {
            let exact = ExactString(key)
            let old: EncodedString?
            if let newValue {
                old = values.updateValue(newValue, forKey: exact)
            } else {
                old = values.removeValue(forKey: exact)
            }
            heldBytes += Self.heldBytes(key, newValue) - Self.heldBytes(key, old)
        }
    }

    private static func heldBytes(_ key: String, _ value: EncodedString?) -> Int {
        guard let value else { return 0 }
        return key.utf8.count + value.json.count + entryOverheadBytes
    }

    /// Hands every key and value to `body`, in no particular order.
    public func forEachEntry<E: Error>(_ body: (String, EncodedString) throws(E) -> Void) throws(E) {
        for (key, value) in values { try body(key.text, value) }
    }

    /// Every key, in byte order, so replies are deterministic.
    public var keys: [String] { values.keys.sorted().map(\.text) }
}
