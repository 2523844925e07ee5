/// A frame read as a flat JSON object straight from its bytes, with no `JSONValue` built: the shape every hot
/// request has (`{"cmd":"get","key":"k"}`, a `setr` with its write ID, a `replicate`).
///
/// It accepts only what it can read without allocating or guessing: an object whose fields are among the hot
/// requests' `Name`s, each at most once, whose values are ASCII strings without escapes, integers that fit in
/// Int64 (no fraction or exponent), `true`, `false`, `null`, or a pair of such integers (`"version":[7,42]`),
/// separated by JSON whitespace. Anything else (another field, escapes, non-ASCII bytes, nested values, other
/// numbers, bad syntax) makes `read` return nil, and the caller reads the frame with `JSONParser`, which accepts
/// every valid document and explains every invalid one. Every frame this accepts means exactly what `JSONParser`
/// would read from it.
///
/// Each name has its own slot, so looking a field up is one index and the object is small enough that reading
/// one costs no copy worth measuring (a slot array per field name made a `get` copy half a kilobyte twice).
struct FlatObject {
    /// The fields the hot requests have; a frame with any other goes to the full parser.
    enum Name: Int, CaseIterable {
        case cmd, key, val, epoch, version, deleted, clientID, seq, resent

        /// The name as it appears on the wire.
        var text: StaticString {
            switch self {
            case .cmd: "cmd"
            case .key: "key"
            case .val: "val"
            case .epoch: "epoch"
            case .version: "version"
            case .deleted: "deleted"
            case .clientID: "client_id"
            case .seq: "seq"
            case .resent: "resent"
            }
        }
    }

    enum Value: Equatable {
        /// Offsets of the string's bytes, quotes excluded.
        case string(start: Int, end: Int)
        case integer(Int64)
        /// `[first, second]`, two integers.
        case pair(Int64, Int64)
        case bool(Bool)
        case null
        /// The object has no such field.
        case absent
    }

    let bytes: UnsafeBufferPointer<UInt8>
    private var slots = InlineArray<9, Value>(repeating: .absent)

    /// Reads `bytes` as a flat object and hands it to `body`, or returns nil when the full parser must read it.
    static func read<Result>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (borrowing FlatObject) -> Result?)
        -> Result? {
        var object = FlatObject(bytes: bytes)
        guard object.parse() else { return nil }
        return body(object)
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The value of field `name`, or nil when the object has no such field.
    func value(_ name: Name) -> Value? {
        let value = slots[name.rawValue]
        return value == .absent ? nil : value
    }

    /// Reads the object into its slots; false when the full parser must read the frame.
    private mutating func parse() -> Bool {
        var position = 0
        guard skipSpace(&position), position < bytes.count, bytes[position] == UInt8(ascii: "{") else { return false }
        position += 1
        guard skipSpace(&position), position < bytes.count else { return false }
        if bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                guard let (nameStart, nameEnd) = readString(&position),
                      let name = name(start: nameStart, end: nameEnd), slots[name.rawValue] == .absent,
                      skipSpace(&position), position < bytes.count, bytes[position] == UInt8(ascii: ":")
                else { return false }
                position += 1
                guard skipSpace(&position), let value = readValue(&position) else { return false }
                slots[name.rawValue] = value
                guard skipSpace(&position), position < bytes.count else { return false }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    guard skipSpace(&position) else { return false }
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { return false }
                position += 1
                break
            }
        }
        return skipSpace(&position) && position == bytes.count
    }

    /// The text of field `name`, or nil when it is absent or not a string.
    func text(_ name: Name) -> String? { value(name).flatMap(text) }

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

    /// The hot field named by the bytes from `start` to `end`, or nil for any other name.
    private func name(start: Int, end: Int) -> Name? {
        guard start < end else { return nil }
        let candidate: Name
        switch bytes[start] {
        case UInt8(ascii: "c"): candidate = end - start == 3 ? .cmd : .clientID
        case UInt8(ascii: "k"): candidate = .key
        case UInt8(ascii: "v"): candidate = end - start == 3 ? .val : .version
        case UInt8(ascii: "e"): candidate = .epoch
        case UInt8(ascii: "d"): candidate = .deleted
        case UInt8(ascii: "s"): candidate = .seq
        case UInt8(ascii: "r"): candidate = .resent
        default: return nil
        }
        let text = candidate.text
        guard text.utf8CodeUnitCount == end - start, same(at: start, text.utf8Start, end - start) else { return nil }
        return candidate
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
