/// A strict RFC 8259 parser for untrusted network input.
///
/// It validates UTF-8 across the whole input first, then parses with a byte index over contiguous storage.
/// Nesting is capped so hostile input (a megabyte of "[") cannot exhaust the stack.
public enum JSONParser {
    /// Deepest nesting of arrays and objects accepted.
    public static let nestingDepthMax = 64

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try parse(bytes[...])
    }

    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(bytes: buffer)
            do throws(JSONError) {
                return .success(try cursor.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// Why bytes are not one valid JSON value; `description` is written for the peer who sent them.
public enum JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input has no bytes, or only whitespace.
    case emptyInput
    /// The input stops in the middle of a value.
    case unexpectedEnd(offset: Int)
    /// A byte that cannot start or continue the value being read.
    case unexpectedByte(offset: Int, expected: String)
    /// The bytes are not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// A number does not follow JSON's grammar.
    case invalidNumber(offset: Int)
    /// A backslash escape is unknown, or a \u escape names a lone surrogate.
    case invalidEscape(offset: Int)
    /// A raw control character (below 0x20) inside a string.
    case controlCharacterInString(offset: Int)
    /// Arrays and objects nest deeper than `JSONParser.nestingDepthMax`.
    case nestingTooDeep(depthMax: Int)
    /// Something other than whitespace follows the value.
    case trailingCharacters(offset: Int)

    public var description: String {
        switch self {
        case .emptyInput: return "invalid JSON: the request is empty"
        case .unexpectedEnd(let offset): return "invalid JSON: unexpected end at byte \(offset)"
        case .unexpectedByte(let offset, let expected): return "invalid JSON at byte \(offset): expected \(expected)"
        case .invalidUTF8(let offset): return "frame is not valid UTF-8 (byte \(offset))"
        case .invalidNumber(let offset): return "invalid JSON at byte \(offset): malformed number"
        case .invalidEscape(let offset): return "invalid JSON at byte \(offset): invalid escape in string"
        case .controlCharacterInString(let offset):
            return "invalid JSON at byte \(offset): control characters in strings must be escaped"
        case .nestingTooDeep(let depthMax): return "invalid JSON: nests deeper than \(depthMax) levels"
        case .trailingCharacters(let offset): return "invalid JSON at byte \(offset): trailing characters after the value"
        }
    }
}

private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        try Self.validateUTF8(bytes)
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

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
        switch bytes[index] {
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
        let start = index
        for byte in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            guard bytes[index] == byte else { throw .unexpectedByte(offset: start, expected: "a value") }
            index += 1
        }
    }

    mutating func enterNesting() throws(JSONError) {
        depth += 1
        guard depth <= JSONParser.nestingDepthMax else { throw .nestingTooDeep(depthMax: JSONParser.nestingDepthMax) }
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterNesting()
        defer { depth -= 1 }
        index += 1
        var object = JSONObject()
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            guard bytes[index] == UInt8(ascii: "\"") else { throw .unexpectedByte(offset: index, expected: "a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            guard bytes[index] == UInt8(ascii: ":") else {
                throw .unexpectedByte(offset: index, expected: "':' after an object key")
            }
            index += 1
            skipWhitespace()
            object[key] = try parseValue()
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw .unexpectedByte(offset: index, expected: "',' or '}'") }
            index += 1
            return .object(object)
        }
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterNesting()
        defer { depth -= 1 }
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw .unexpectedByte(offset: index, expected: "',' or ']'") }
            index += 1
            return .array(items)
        }
    }

    /// Reads a string starting at its opening quote; the input is already known to be valid UTF-8.
    mutating func parseString() throws(JSONError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw .controlCharacterInString(offset: index) }
            index += 1
        }
        guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
        var scalars = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scalars, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try appendEscape(to: &scalars)
            case 0..<0x20:
                throw .controlCharacterInString(offset: index)
            default:
                scalars.append(byte)
                index += 1
            }
        }
        throw .unexpectedEnd(offset: index)
    }

    mutating func appendEscape(to output: inout [UInt8]) throws(JSONError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else { throw .unexpectedEnd(offset: index) }
        let code = bytes[index]
        index += 1
        switch code {
        case UInt8(ascii: "\""): output.append(0x22)
        case UInt8(ascii: "\\"): output.append(0x5C)
        case UInt8(ascii: "/"): output.append(0x2F)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4(escapeStart: escapeStart)
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw .invalidEscape(offset: escapeStart) }
                index += 2
                let low = try readHex4(escapeStart: escapeStart)
                guard (0xDC00...0xDFFF).contains(low) else { throw .invalidEscape(offset: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw .invalidEscape(offset: escapeStart)
            }
            output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            throw .invalidEscape(offset: escapeStart)
        }
    }

    mutating func readHex4(escapeStart: Int) throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw .invalidEscape(offset: escapeStart)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw .invalidNumber(offset: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && isDigit(bytes[index]) { throw .invalidNumber(offset: start) }
        } else {
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        var isInteger = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw .invalidNumber(offset: start) }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw .invalidNumber(offset: start) }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let number = Int64(text) { return .integer(number) }
        guard let number = Double(text) else { throw .invalidNumber(offset: start) }
        return .double(number)
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Rejects anything that is not well-formed UTF-8: stray continuation bytes, overlong forms, encoded
    /// surrogates, code points past U+10FFFF and truncated sequences.
    static func validateUTF8(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONError) {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: throw .invalidUTF8(offset: index)
            }
            guard index + length <= count else { throw .invalidUTF8(offset: index) }
            let second = bytes[index + 1]
            guard second >= lower && second <= upper else { throw .invalidUTF8(offset: index) }
            for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 {
                throw .invalidUTF8(offset: index)
            }
            index += length
        }
    }
}
