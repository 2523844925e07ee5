/// A strict RFC 8259 parser for untrusted network input.
///
/// It accepts exactly one value with optional surrounding whitespace, and rejects everything else with a
/// `JSONError` naming the byte offset (counted from the first byte passed in). The whole input is checked
/// for well-formed UTF-8 before parsing, so a frame with bad UTF-8 is reported as such wherever the bad
/// bytes are. Nesting is capped, so hostile input (a megabyte of "[") cannot exhaust the stack; duplicate-key
/// checks switch to hashing for large objects, so no input of size n costs more than about n log n.
public enum JSONParser {
    /// Deepest nesting of arrays/objects accepted; deeper input is rejected before it can exhaust the stack.
    public static let nestingDepthMax = 64

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in parseResult(buffer) }
        return try result.get()
    }

    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in parseResult(buffer) }
        return try result.get()
    }

    /// The fastest path: no copy, and offsets count from `bytes.baseAddress`.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSONValue {
        try parseResult(bytes).get()
    }

    /// Any other collection of bytes; it is copied first unless its storage is already contiguous.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in parseResult(buffer) }) {
            return try result.get()
        }
        return try parse(Array(bytes))
    }

    /// Carries the typed error out through the stdlib's untyped `rethrows` closures.
    private static func parseResult(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONError> {
        var cursor = JSONCursor(bytes: bytes)
        do throws(JSONError) {
            return .success(try cursor.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}

/// Why bytes are not one valid JSON value; `description` is written for the peer who sent them.
///
/// Every offset is a zero-based byte index into the input that was passed to `JSONParser.parse`.
public enum JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input has no bytes, or only whitespace.
    case emptyInput
    /// The input stops in the middle of a value; `offset` is the input's length.
    case unexpectedEnd(offset: Int)
    /// A byte that cannot start or continue what is being read; `expected` says, in words, what could.
    case unexpectedByte(offset: Int, expected: String)
    /// The bytes are not well-formed UTF-8; `offset` is where the bad sequence starts.
    case invalidUTF8(offset: Int)
    /// A number breaks JSON's grammar (leading zero, missing digits, '+', ...) or is too large for a Double;
    /// `offset` is where the number starts.
    case invalidNumber(offset: Int)
    /// A backslash escape is unknown or malformed, or a \u escape names an unpaired surrogate; `offset` is the
    /// backslash.
    case invalidEscape(offset: Int)
    /// A raw control character (below 0x20) inside a string, which JSON requires to be escaped.
    case controlCharacterInString(offset: Int)
    /// Arrays and objects nest deeper than `JSONParser.nestingDepthMax`.
    case nestingTooDeep(depthMax: Int)
    /// Something other than whitespace follows the value; `offset` is its first byte.
    case trailingCharacters(offset: Int)

    public var description: String {
        switch self {
        case .emptyInput:
            return "invalid JSON: the input is empty"
        case .unexpectedEnd(let offset):
            return "unexpected end of JSON at byte \(offset)"
        case .unexpectedByte(let offset, let expected):
            return "invalid JSON at byte \(offset): expected \(expected)"
        case .invalidUTF8(let offset):
            return "frame is not valid UTF-8 (byte \(offset))"
        case .invalidNumber(let offset):
            return "invalid JSON at byte \(offset): malformed or out-of-range number"
        case .invalidEscape(let offset):
            return "invalid JSON at byte \(offset): invalid escape sequence in a string"
        case .controlCharacterInString(let offset):
            return "invalid JSON at byte \(offset): control characters in strings must be escaped"
        case .nestingTooDeep(let depthMax):
            return "JSON nests deeper than \(depthMax) levels"
        case .trailingCharacters(let offset):
            return "trailing characters after the JSON value at byte \(offset)"
        }
    }
}

/// The parser's position in one input. Every read is preceded by a bounds check against `bytes.count`.
private struct JSONCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Offset of the next unread byte; never exceeds `bytes.count`.
    var index = 0
    /// Arrays and objects currently open; never exceeds `JSONParser.nestingDepthMax`.
    var depth = 0
    /// Reused to decode strings that contain escapes, so each such string costs one allocation, its own.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        if let offset = UTF8Validation.firstInvalidOffset(in: bytes) { throw .invalidUTF8(offset: offset) }
        skipWhitespace()
        guard index < bytes.count else { throw .emptyInput }
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw .trailingCharacters(offset: index) }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next byte after whitespace; running out of input here always means the value was cut short.
    mutating func peekSignificant() throws(JSONError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
        return bytes[index]
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        switch try peekSignificant() {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw .unexpectedByte(offset: index, expected: "a value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in expected {
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            guard bytes[index] == byte else { throw .unexpectedByte(offset: index, expected: "'\(literal)'") }
            index += 1
        }
    }

    /// Called on an opening bracket; the caller must `depth -= 1` when the container closes.
    mutating func enterContainer() throws(JSONError) {
        guard depth < JSONParser.nestingDepthMax else { throw .nestingTooDeep(depthMax: JSONParser.nestingDepthMax) }
        depth += 1
        index += 1
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var items: [JSONValue] = []
        if try peekSignificant() == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            items.append(try parseValue())
            switch try peekSignificant() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(items)
            default: throw .unexpectedByte(offset: index, expected: "',' or ']'")
            }
        }
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var builder = ObjectBuilder()
        if try peekSignificant() == UInt8(ascii: "}") {
            index += 1
            return .object(builder.object)
        }
        while true {
            guard try peekSignificant() == UInt8(ascii: "\"") else {
                throw .unexpectedByte(offset: index, expected: "a string key")
            }
            let key = try parseString()
            guard try peekSignificant() == UInt8(ascii: ":") else {
                throw .unexpectedByte(offset: index, expected: "':' after an object key")
            }
            index += 1
            builder.set(key, try parseValue())
            switch try peekSignificant() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(builder.object)
            default: throw .unexpectedByte(offset: index, expected: "',' or '}'")
            }
        }
    }

    /// Reads a string from its opening quote. The input is already known to be valid UTF-8, so bytes of 0x80
    /// and above need no attention here.
    mutating func parseString() throws(JSONError) -> String {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return try parseEscapedString(from: start) }
            if byte < 0x20 { throw .controlCharacterInString(offset: index) }
            index += 1
        }
        throw .unexpectedEnd(offset: index)
    }

    /// Continues `parseString` at the first backslash, decoding into `scratch`.
    mutating func parseEscapedString(from start: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try decodeEscape()
            case 0..<0x20:
                throw .controlCharacterInString(offset: index)
            default:
                scratch.append(byte)
                index += 1
            }
        }
        throw .unexpectedEnd(offset: index)
    }

    /// Decodes one escape starting at its backslash and appends its UTF-8 to `scratch`.
    mutating func decodeEscape() throws(JSONError) {
        let backslash = index
        guard index + 1 < bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
        let code = bytes[index + 1]
        index += 2
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(code)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"): appendUTF8(try decodeUnicodeEscape(backslash: backslash))
        default: throw .invalidEscape(offset: backslash)
        }
    }

    /// Decodes the hex digits after `\u`, pairing a high surrogate with the `\uDC00`-`\uDFFF` that must follow.
    mutating func decodeUnicodeEscape(backslash: Int) throws(JSONError) -> UInt32 {
        let unit = try readHex4(backslash: backslash)
        switch unit {
        case 0xDC00...0xDFFF:
            throw .invalidEscape(offset: backslash)
        case 0xD800...0xDBFF:
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw .invalidEscape(offset: backslash) }
            index += 2
            let low = try readHex4(backslash: backslash)
            guard (0xDC00...0xDFFF).contains(low) else { throw .invalidEscape(offset: backslash) }
            return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        default:
            return unit
        }
    }

    mutating func readHex4(backslash: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .invalidEscape(offset: backslash)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Appends a scalar (never a surrogate, at most 0x10FFFF) as UTF-8.
    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            precondition(scalar <= 0x10FFFF, "a surrogate pair decodes to at most U+10FFFF")
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Reads a number per RFC 8259's grammar. Integers are accumulated without allocating; only numbers
    /// with a fraction, an exponent or too many digits for Int64 go through `Double`'s parser.
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        let digitsStart = index
        var magnitude: UInt64 = 0
        var overflowed = false
        while index < bytes.count, let digit = digitValue(bytes[index]) {
            let (shifted, overflowMultiply) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(digit))
            overflowed = overflowed || overflowMultiply || overflowAdd
            magnitude = sum
            index += 1
        }
        let digitCount = index - digitsStart
        guard digitCount > 0 else { throw .invalidNumber(offset: start) }
        if digitCount > 1 && bytes[digitsStart] == UInt8(ascii: "0") { throw .invalidNumber(offset: start) }
        var isIntegerLiteral = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isIntegerLiteral = false
            index += 1
            try skipDigits(numberStart: start)
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isIntegerLiteral = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            try skipDigits(numberStart: start)
        }
        if isIntegerLiteral && !overflowed {
            if !isNegative && magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
            if isNegative && magnitude <= Int64.min.magnitude {
                return .integer(Int64(truncatingIfNeeded: 0 &- magnitude))
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        // RFC 8259 lets a parser limit range; a number that overflows to infinity could not be written back.
        guard let number = Double(text), number.isFinite else { throw .invalidNumber(offset: start) }
        return .double(number)
    }

    /// Skips one or more digits; none at all means the number stopped after '.', 'e' or a sign.
    mutating func skipDigits(numberStart: Int) throws(JSONError) {
        let digitsStart = index
        while index < bytes.count && digitValue(bytes[index]) != nil { index += 1 }
        guard index > digitsStart else { throw .invalidNumber(offset: numberStart) }
    }

    func digitValue(_ byte: UInt8) -> UInt8? {
        let digit = byte &- UInt8(ascii: "0")
        return digit < 10 ? digit : nil
    }
}

/// Builds a parsed object's fields, keeping the last value of a repeated key in its first position.
///
/// Small objects find duplicates by scanning; past `JSONObject.linearLookupFieldsMax` fields a hashed index
/// takes over, so an object with a hundred thousand keys does not cost ten billion comparisons.
private struct ObjectBuilder {
    /// Room for a typical request's fields in one allocation, rather than regrowing from one field.
    static let initialFieldsCapacity = 8

    var fields: [(key: String, value: JSONValue)] = []
    /// Position of each key in `fields`; empty until the object outgrows a linear scan.
    var positions: [String: Int] = [:]

    var object: JSONObject { JSONObject(uniqueFields: fields) }

    mutating func set(_ key: String, _ value: JSONValue) {
        if positions.isEmpty {
            if let existing = fields.firstIndex(where: { $0.key == key }) {
                fields[existing].value = value
                return
            }
            if fields.isEmpty { fields.reserveCapacity(ObjectBuilder.initialFieldsCapacity) }
            fields.append((key: key, value: value))
            if fields.count > JSONObject.linearLookupFieldsMax {
                for (position, field) in fields.enumerated() { positions[field.key] = position }
            }
        } else if let existing = positions[key] {
            fields[existing].value = value
        } else {
            positions[key] = fields.count
            fields.append((key: key, value: value))
        }
    }
}

/// Well-formedness of UTF-8 per Unicode's table 3-7: no stray continuation bytes, overlong forms, encoded
/// surrogates, code points past U+10FFFF or truncated sequences.
private enum UTF8Validation {
    /// Eight ASCII bytes at once: the common case for protocol traffic.
    static let asciiWordBytes = 8

    /// The offset where the first ill-formed sequence starts, or nil when all of `bytes` is well formed.
    static func firstInvalidOffset(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var index = 0
        while index < count {
            if index + asciiWordBytes <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 {
                    index += asciiWordBytes
                    continue
                }
            }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            guard let length = sequenceLength(bytes, at: index) else { return index }
            index += length
        }
        return nil
    }

    /// The length of the well-formed multi-byte sequence starting at `index`, or nil if it is ill formed.
    static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var secondLower: UInt8 = 0x80
        var secondUpper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondLower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondUpper = 0x9F
        case 0xF0: length = 4; secondLower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondUpper = 0x8F
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        guard (secondLower...secondUpper).contains(bytes[index + 1]) else { return nil }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return nil }
        return length
    }
}
