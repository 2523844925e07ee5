/// Appends the compact binary fields log records are made of.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// An unsigned LEB128 varint: seven bits a byte, low bits first; at most 10 bytes.
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func count(_ value: Int) {
        precondition(value >= 0, "counts are non-negative")
        varint(UInt64(value))
    }

    mutating func fixed64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// A length, then the UTF-8 bytes.
    mutating func string(_ text: String) {
        count(text.utf8.count)
        bytes.append(contentsOf: text.utf8)
    }
}

/// Reads what `ByteWriter` wrote, checking every length against what is left, so a damaged record is refused with
/// `LogEntryError` and never read past its end.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(LogEntryError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(LogEntryError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let next = try byte()
            guard shift < 63 || next <= 1 else { throw .malformed("a number over 64 bits") }
            value |= UInt64(next & 0x7F) << UInt64(shift)
            if next < 0x80 { return value }
        }
        throw .malformed("a number over 64 bits")
    }

    /// A count or length: a varint no larger than `limit`.
    mutating func count(max limit: Int) throws(LogEntryError) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw .malformed("a count of \(value), over its limit of \(limit)") }
        return Int(value)
    }

    /// A varint that fits a non-negative Int64.
    mutating func nonNegative() throws(LogEntryError) -> Int64 {
        Int64(try count(max: Int(Int64.max)))
    }

    mutating func fixed64() throws(LogEntryError) -> UInt64 {
        guard bytes.count - offset >= 8 else { throw .truncated }
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(try byte()) }
        return value
    }

    /// A string of at most `maxBytes` bytes of valid UTF-8.
    mutating func string(maxBytes: Int) throws(LogEntryError) -> String {
        let length = try count(max: maxBytes)
        guard bytes.count - offset >= length else { throw .truncated }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw .malformed("a string that is not UTF-8")
        }
        return text
    }
}
