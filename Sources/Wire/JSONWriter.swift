/// Encodes `JSONValue`s compactly, appending bytes straight into the output: replies are written on every
/// request, so nothing here builds intermediate strings except for non-integral doubles.
///
/// Output is deterministic: no spaces, object fields in their stored order, '/' and non-ASCII left as they
/// are. Recursion follows the value's own nesting, which the parser caps at `JSONParser.nestingDepthMax`.
public enum JSONWriter {
    /// Initial capacity of a fresh output buffer, enough for a typical reply without regrowing.
    static let initialCapacityBytes = 128

    /// Integral doubles below this magnitude are exact integers, so they are written without a fraction.
    static let exactIntegerDoubleMagnitudeMax: Double = 9_007_199_254_740_992  // 2^53

    public static func encode(_ value: JSONValue) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(initialCapacityBytes)
        encode(value, into: &buffer)
        return buffer
    }

    /// Appends the encoding of `value` to `buffer`, leaving what was already there untouched.
    public static func encode(_ value: JSONValue, into buffer: inout [UInt8]) {
        switch value {
        case .null: appendLiteral("null", to: &buffer)
        case .bool(let flag): appendLiteral(flag ? "true" : "false", to: &buffer)
        case .integer(let number): appendInteger(number, to: &buffer)
        case .double(let number): appendDouble(number, to: &buffer)
        case .string(let text): appendString(text, to: &buffer)
        case .array(let items): appendArray(items, to: &buffer)
        case .object(let object): appendObject(object, to: &buffer)
        }
    }

    static func appendArray(_ items: [JSONValue], to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "["))
        var isFirst = true
        for item in items {
            if !isFirst { buffer.append(UInt8(ascii: ",")) }
            isFirst = false
            encode(item, into: &buffer)
        }
        buffer.append(UInt8(ascii: "]"))
    }

    static func appendObject(_ object: JSONObject, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "{"))
        var isFirst = true
        for (key, value) in object {
            if !isFirst { buffer.append(UInt8(ascii: ",")) }
            isFirst = false
            appendString(key, to: &buffer)
            buffer.append(UInt8(ascii: ":"))
            encode(value, into: &buffer)
        }
        buffer.append(UInt8(ascii: "}"))
    }

    static func appendLiteral(_ literal: StaticString, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Writes decimal digits least significant first, then reverses them in place: no String, no allocation.
    static func appendInteger(_ number: Int64, to buffer: inout [UInt8]) {
        if number < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let digitsStart = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        buffer[digitsStart...].reverse()
    }

    /// JSON has no NaN or infinity, and a peer's parser would reject them; null is the one value every JSON
    /// reader accepts in their place, so a bad number degrades one field rather than the whole reply.
    static func appendDouble(_ number: Double, to buffer: inout [UInt8]) {
        guard number.isFinite else {
            appendLiteral("null", to: &buffer)
            return
        }
        if number.magnitude < exactIntegerDoubleMagnitudeMax, Double(Int64(number)) == number {
            // The conversion truncates; comparing back tests integrality without libm's rounding functions.
            appendInteger(Int64(number), to: &buffer)
        } else {
            // Swift's description is the shortest text that reads back as the same Double, and is valid JSON
            // ("0.1", "1e+16", "5e-324").
            buffer.append(contentsOf: number.description.utf8)
        }
    }

    /// Writes a quoted string, copying runs that need no escaping in one go.
    public static func appendString(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        let wroteInPlace = text.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &buffer) } != nil
        if !wroteInPlace { Array(text.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &buffer) } }
        buffer.append(UInt8(ascii: "\""))
    }

    /// How many bytes `appendString` writes for `text`, quotes excluded: its UTF-8 length plus one byte for each
    /// quote, backslash and short-escaped control character, and five for each other control character.
    public static func escapedLength(of text: String) -> Int {
        var text = text
        return text.withUTF8 { utf8 in
            var length = utf8.count
            var offset = 0
            if let base = UnsafeRawPointer(utf8.baseAddress) {
                while offset + 8 <= utf8.count && !needsEscape(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) {
                    offset += 8
                }
            }
            while offset < utf8.count {
                switch utf8[offset] {
                case 0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x08, 0x0C: length += 1
                case 0..<0x20: length += 5
                default: break
                }
                offset += 1
            }
            return length
        }
    }

    /// The bytes of a string's contents, escaped. Every reply writes a value this way, so clean stretches are found
    /// eight bytes at a time (`needsEscape`), and copied in one go.
    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        var runStart = 0
        var offset = 0
        if let base = UnsafeRawPointer(utf8.baseAddress) {
            while offset + 8 <= utf8.count && !needsEscape(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) {
                offset += 8
            }
        }
        while offset < utf8.count {
            let byte = utf8[offset]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<offset]))
                appendEscape(byte, to: &buffer)
                runStart = offset + 1
            }
            offset += 1
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }

    /// Whether any of eight bytes is a control character, a quote or a backslash (SWAR: a byte is "zero" after the
    /// subtraction trick exactly when it matched; bytes of 0x80 and above never match).
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let quoteZero = (quote &- ones) & ~quote & highs
        let backslashZero = (backslash &- ones) & ~backslash & highs
        return control | quoteZero | backslashZero != 0
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The escape for a quote, a backslash or a control character: the short form where JSON has one.
    static func appendEscape(_ byte: UInt8, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x22: buffer.append(UInt8(ascii: "\""))
        case 0x5C: buffer.append(UInt8(ascii: "\\"))
        case 0x0A: buffer.append(UInt8(ascii: "n"))
        case 0x0D: buffer.append(UInt8(ascii: "r"))
        case 0x09: buffer.append(UInt8(ascii: "t"))
        case 0x08: buffer.append(UInt8(ascii: "b"))
        case 0x0C: buffer.append(UInt8(ascii: "f"))
        default:
            precondition(byte < 0x20, "only quotes, backslashes and control characters are escaped")
            buffer.append(UInt8(ascii: "u"))
            buffer.append(UInt8(ascii: "0"))
            buffer.append(UInt8(ascii: "0"))
            buffer.append(hexDigits[Int(byte >> 4)])
            buffer.append(hexDigits[Int(byte & 0xF)])
        }
    }
}
