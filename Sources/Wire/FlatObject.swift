/// A frame read as a flat JSON object straight from its bytes, with no `JSONValue` built: the shape every hot
/// request has (`{"cmd":"get","key":"k"}`, a `setr` with its write ID, a `replicate`).
///
/// It accepts only what it can read without allocating or guessing: an object of at most `fieldsMax` fields
/// with distinct ASCII names, whose values are ASCII strings without escapes, integers that fit in Int64 (no
/// fraction or exponent), `true`, `false`, `null`, or a pair of such integers (`"version":[7,42]`), separated by
/// JSON whitespace. Anything else (escapes,
/// non-ASCII bytes, nested values, other numbers, bad syntax) makes `init` return nil, and the caller reads the
/// frame with `JSONParser`, which accepts every valid document and explains every invalid one. Every frame this
/// accepts means exactly what `JSONParser` would read from it.
struct FlatObject {
    /// Most fields read this way; a request with more goes to the full parser.
    static let fieldsMax = 12

    enum Value: Equatable {
        /// Offsets of the string's bytes, quotes excluded.
        case string(start: Int, end: Int)
        case integer(Int64)
        /// `[first, second]`, two integers.
        case pair(Int64, Int64)
        case bool(Bool)
        case null
    }

    struct Field {
        var nameStart = 0
        var nameEnd = 0
        var value = Value.null
    }

    let bytes: UnsafeBufferPointer<UInt8>
    private var fields = InlineArray<12, Field>(repeating: Field())
    private(set) var count = 0

    /// Reads `bytes` as a flat object, or returns nil when the full parser must read it.
    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        var position = 0
        guard skipSpace(&position), position < bytes.count, bytes[position] == UInt8(ascii: "{") else { return nil }
        position += 1
        guard skipSpace(&position), position < bytes.count else { return nil }
        if bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                guard count < Self.fieldsMax, let (nameStart, nameEnd) = readString(&position) else { return nil }
                guard !hasField(start: nameStart, end: nameEnd) else { return nil }
                guard skipSpace(&position), position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    return nil
                }
                position += 1
                guard skipSpace(&position), let value = readValue(&position) else { return nil }
                fields[count] = Field(nameStart: nameStart, nameEnd: nameEnd, value: value)
                count += 1
                guard skipSpace(&position), position < bytes.count else { return nil }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    guard skipSpace(&position) else { return nil }
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { return nil }
                position += 1
                break
            }
        }
        guard skipSpace(&position), position == bytes.count else { return nil }
    }

    /// The value of field `name`, or nil when the object has no such field.
    func value(_ name: StaticString) -> Value? {
        let length = name.utf8CodeUnitCount
        for index in 0..<count {
            let field = fields[index]
            if field.nameEnd - field.nameStart == length && same(at: field.nameStart, name.utf8Start, length) {
                return field.value
            }
        }
        return nil
    }

    /// The text of a string value.
    func text(_ value: Value) -> String? {
        guard case .string(let start, let end) = value else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// Whether a string value's bytes equal `literal`, without making a `String`.
    func string(_ value: Value, equals literal: StaticString) -> Bool {
        guard case .string(let start, let end) = value, end - start == literal.utf8CodeUnitCount else { return false }
        return same(at: start, literal.utf8Start, end - start)
    }

    /// Whether `length` bytes from `offset` equal those at `other`; the caller has checked both lie in bounds.
    @inline(__always)
    private func same(at offset: Int, _ other: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let mine = bytes.baseAddress! + offset
        for index in 0..<length where mine[index] != other[index] { return false }
        return true
    }

    // MARK: Reading

    private func hasField(start: Int, end: Int) -> Bool {
        for index in 0..<count {
            let field = fields[index]
            if field.nameEnd - field.nameStart == end - start && same(at: field.nameStart, bytes.baseAddress! + start, end - start) {
                return true
            }
        }
        return false
    }

    /// Steps over one byte; always true, so it reads well inside `guard`.
    private func advance(_ position: inout Int) -> Bool {
        position += 1
        return true
    }

    /// Skips JSON whitespace; always true, so it reads well inside `guard`.
    private func skipSpace(_ position: inout Int) -> Bool {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return true
            }
        }
        return true
    }

    /// A string of printable ASCII without escapes; its bytes' offsets, quotes excluded.
    private func readString(_ position: inout Int) -> (start: Int, end: Int)? {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
        let start = position + 1
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return (start, index)
            }
            // Escapes, control characters and non-ASCII bytes (which the full parser checks as UTF-8) go there.
            guard byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    private func readValue(_ position: inout Int) -> Value? {
        guard position < bytes.count else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return readString(&position).map { Value.string(start: $0.start, end: $0.end) }
        case UInt8(ascii: "t"):
            return readLiteral("true", &position) ? .bool(true) : nil
        case UInt8(ascii: "f"):
            return readLiteral("false", &position) ? .bool(false) : nil
        case UInt8(ascii: "n"):
            return readLiteral("null", &position) ? .null : nil
        case UInt8(ascii: "["):
            position += 1
            guard skipSpace(&position), let first = readInteger(&position), skipSpace(&position),
                  position < bytes.count, bytes[position] == UInt8(ascii: ","),
                  advance(&position), skipSpace(&position), let second = readInteger(&position),
                  skipSpace(&position), position < bytes.count, bytes[position] == UInt8(ascii: "]")
            else { return nil }
            position += 1
            return .pair(first, second)
        default:
            return readInteger(&position).map { .integer($0) }
        }
    }

    private func readLiteral(_ literal: StaticString, _ position: inout Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count, same(at: position, literal.utf8Start, count) else { return false }
        position += count
        return true
    }

    /// An integer as JSON writes one (optional minus, no leading zero), that fits in Int64 and is not followed by
    /// a fraction or exponent.
    private func readInteger(_ position: inout Int) -> Int64? {
        var index = position
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        var magnitude: UInt64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflowA && !overflowB else { return nil }
            magnitude = sum
            index += 1
        }
        let digits = index - digitsStart
        guard digits > 0, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        position = index
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
