/// How each record sits in a log or snapshot file: a 12-byte header, then the payload.
///
///     offset 0   payload length, UInt32 big-endian
///     offset 4   CRC-32C of the payload, UInt32 big-endian
///     offset 8   CRC-32C of bytes 0..<8, UInt32 big-endian
///     offset 12  the payload
///
/// The header carries its own checksum so that a damaged length is never believed: without it, one flipped bit in
/// the length of a record in the middle of a file would make everything after it look like a single record torn
/// at the end, which recovery would cut off without a word.
public enum LogFrame {
    public static let headerBytes = 12

    /// Appends `payload`, framed, to `bytes`.
    public static func append(_ payload: [UInt8], to bytes: inout [UInt8]) {
        precondition(payload.count <= Int(UInt32.max), "a record payload fits a 32-bit length")
        var header = [UInt8]()
        header.reserveCapacity(headerBytes)
        appendBigEndian(UInt32(payload.count), to: &header)
        appendBigEndian(CRC32C.checksum(payload), to: &header)
        appendBigEndian(CRC32C.checksum(header), to: &header)
        bytes.append(contentsOf: header)
        bytes.append(contentsOf: payload)
    }

    /// `payload`, framed.
    public static func framed(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerBytes + payload.count)
        append(payload, to: &bytes)
        return bytes
    }

    static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    static func readBigEndian(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(buffer[offset + $1]) }
    }
}

/// What is wrong with the record at some offset of a file.
public enum RecordDamage: Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than a header remain.
    case headerCutShort(presentBytes: Int)
    /// The header is whole, but the file ends before its payload does.
    case payloadCutShort(lengthBytes: Int, presentBytes: Int)
    /// Everything from here to the end is zero bytes: space the file system extended but the write never filled.
    case zeroFilled(bytes: Int)
    /// The header's own checksum does not match.
    case headerChecksum
    /// The header is valid but names a payload longer than any record may be.
    case lengthOverLimit(lengthBytes: Int, limitBytes: Int)
    /// The payload's checksum does not match.
    case payloadChecksum

    public var description: String {
        switch self {
        case .headerCutShort(let present): "a record header cut short (\(present) of \(LogFrame.headerBytes) bytes)"
        case .payloadCutShort(let length, let present): "a record cut short (\(present) of \(length) bytes)"
        case .zeroFilled(let bytes): "\(bytes) zero bytes where a record should start"
        case .headerChecksum: "a record header whose checksum does not match"
        case .lengthOverLimit(let length, let limit): "a record of \(length) bytes, over the \(limit)-byte limit"
        case .payloadChecksum: "a record whose checksum does not match"
        }
    }
}

/// How a file of framed records ended.
public enum LogEnd: Equatable, Sendable {
    /// Every byte belonged to a whole, valid record.
    case clean
    /// The file ends in a record that was never completely written, as a crash in the middle of an append leaves
    /// it: the file is valid up to `offset`, and what follows may be cut off.
    case torn(offset: Int, damage: RecordDamage)
    /// A record with more after it is damaged. Nothing after it can be trusted to follow on from it, so reading
    /// stops here and the operator decides; it is never skipped.
    case corrupt(offset: Int, damage: RecordDamage)
}

/// Reads the framed records of a file's bytes, deciding for the first bad one whether it is a torn end or damage.
///
/// A bad record is the torn end of the file only when nothing could have been written after it: its header or
/// payload runs past the end of the file, or its header or payload checksum fails with only zeros (or nothing)
/// after it (the sectors of a write that was never finished, over a preallocated end). Anything else — a checksum
/// failure with data after it, a length over the limit under a valid header checksum — is corruption.
public enum LogScan {
    /// Calls `visit` with each valid record's payload and its offset in `buffer`, in order, and says how the
    /// records ended. `payloadBytesMax` bounds a record's length, so a damaged header cannot make a reader allocate.
    public static func scan(_ buffer: UnsafeRawBufferPointer, payloadBytesMax: Int,
                            _ visit: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows -> LogEnd {
        var offset = 0
        while offset < buffer.count {
            let remaining = buffer.count - offset
            if isZero(buffer, from: offset) { return .torn(offset: offset, damage: .zeroFilled(bytes: remaining)) }
            guard remaining >= LogFrame.headerBytes else {
                return .torn(offset: offset, damage: .headerCutShort(presentBytes: remaining))
            }
            let header = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 8])
            guard CRC32C.update(0, with: header) == LogFrame.readBigEndian(buffer, at: offset + 8) else {
                let isLast = isZero(buffer, from: offset + LogFrame.headerBytes)
                return isLast ? .torn(offset: offset, damage: .headerChecksum)
                    : .corrupt(offset: offset, damage: .headerChecksum)
            }
            let length = Int(LogFrame.readBigEndian(buffer, at: offset))
            guard length <= payloadBytesMax else {
                return .corrupt(offset: offset, damage: .lengthOverLimit(lengthBytes: length,
                                                                           limitBytes: payloadBytesMax))
            }
            let payloadStart = offset + LogFrame.headerBytes
            guard length <= buffer.count - payloadStart else {
                return .torn(offset: offset, damage: .payloadCutShort(lengthBytes: length,
                                                                       presentBytes: buffer.count - payloadStart))
            }
            let payload = UnsafeRawBufferPointer(rebasing: buffer[payloadStart..<payloadStart + length])
            guard CRC32C.update(0, with: payload) == LogFrame.readBigEndian(buffer, at: offset + 4) else {
                let isLast = isZero(buffer, from: payloadStart + length)
                return isLast ? .torn(offset: offset, damage: .payloadChecksum)
                    : .corrupt(offset: offset, damage: .payloadChecksum)
            }
            try visit(payload, offset)
            offset = payloadStart + length
        }
        return .clean
    }

    /// The payloads of `bytes` and how they ended; for tests and small files.
    public static func payloads(of bytes: [UInt8], payloadBytesMax: Int = .max) -> (payloads: [[UInt8]], end: LogEnd) {
        var payloads: [[UInt8]] = []
        let end = bytes.withUnsafeBytes { buffer in
            scan(buffer, payloadBytesMax: payloadBytesMax) { payload, _ in payloads.append(Array(payload)) }
        }
        return (payloads, end)
    }

    private static func isZero(_ buffer: UnsafeRawBufferPointer, from offset: Int) -> Bool {
        // Stops at the first nonzero byte, which a real record has within its header (a header of zeros fails
        // its checksum), so this costs a few comparisons per record.
        for index in offset..<buffer.count where buffer[index] != 0 { return false }
        return true
    }
}
