/// A JSON value as the protocol uses it: flat objects of strings, numbers, booleans and arrays.
///
/// Numbers keep the distinction the protocol cares about: a literal written as an integer that fits in Int64
/// stays exact as `.integer`, so epochs, versions and ports never pass through floating point.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in Int64.
    case integer(Int64)
    /// Any other number; always finite when it comes from the parser.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The text of a `.string`, or nil for any other kind.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The value as an integer; an integral double within Int64's range counts too, since some peers write
    /// every number as a double.
    public var integerValue: Int64? {
        switch self {
        case .integer(let number): return number
        case .double(let number): return Self.exactInteger(number)
        default: return nil
        }
    }

    /// `number` as an Int64 when it is integral and in range. Written with plain conversions rather than
    /// `Int64(exactly:)`, whose rounding calls into libm, which a Foundation-free binary may not link.
    static func exactInteger(_ number: Double) -> Int64? {
        // -2^63 is exactly representable; 2^63 is the first double past Int64.max. NaN fails both tests.
        guard number >= -9_223_372_036_854_775_808.0 && number < 9_223_372_036_854_775_808.0 else { return nil }
        let integer = Int64(number)
        return Double(integer) == number ? integer : nil
    }

    /// The flag of a `.bool`, or nil for any other kind.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// The items of an `.array`, or nil for any other kind.
    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The fields of an `.object`, or nil for any other kind.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }
}

/// Literals let requests and replies be written as they read on the wire: `["status": "ok", "epoch": 3]`.
///
/// There is deliberately no `ExpressibleByNilLiteral`: it would make `object["k"] = nil` ambiguous between
/// removing the field and storing JSON null.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    /// A repeated key keeps its last value, as the parser does.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON encoding, exactly the bytes `JSONWriter` would send.
    public var description: String {
        String(decoding: JSONWriter.encode(self), as: UTF8.self)
    }
}

/// A JSON object that keeps its fields in insertion order, so encoded replies read naturally and the same
/// reply always encodes to the same bytes. Equality ignores order, as JSON's does.
///
/// Lookups scan the fields: protocol objects hold a handful of fields, where a scan beats hashing. Only
/// comparisons of large objects, and the parser's duplicate-key check, switch to a hashed index.
public struct JSONObject: Sendable, ExpressibleByDictionaryLiteral, Sequence {
    /// Fields in insertion order; no two share a key.
    public private(set) var fields: [(key: String, value: JSONValue)] = []

    /// Objects with more fields than this are compared through a hashed index rather than by scanning.
    static let linearLookupFieldsMax = 16

    public init() {}

    /// A repeated key keeps its last value, in the position where it first appeared.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        fields.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    /// Wraps fields the caller has already made unique, such as the parser's.
    init(uniqueFields: [(key: String, value: JSONValue)]) {
        fields = uniqueFields
    }

    /// Number of fields.
    public var count: Int { fields.count }

    /// Keys in insertion order.
    public var keys: [String] { fields.map(\.key) }

    /// Reading finds the field; writing replaces it in place, appends a new one, or removes it when nil.
    public subscript(key: String) -> JSONValue? {
        get {
            for field in fields where field.key == key { return field.value }
            return nil
        }
        set {
            let index = fields.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): fields[index].value = value
            case (let index?, nil): fields.remove(at: index)
            case (nil, let value?): fields.append((key: key, value: value))
            case (nil, nil): break
            }
        }
    }

    public var underestimatedCount: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        fields.makeIterator()
    }
}

extension JSONObject: Equatable {
    /// Same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard lhs.count > linearLookupFieldsMax else {
            return lhs.fields.allSatisfy { rhs[$0.key] == $0.value }
        }
        // Keys are unique, so equal counts plus every left field found on the right means the same key set.
        var rightIndex: [String: Int] = [:]
        rightIndex.reserveCapacity(rhs.count)
        for (position, field) in rhs.fields.enumerated() { rightIndex[field.key] = position }
        return lhs.fields.allSatisfy { field in
            guard let position = rightIndex[field.key] else { return false }
            return rhs.fields[position].value == field.value
        }
    }
}
