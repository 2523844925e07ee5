/// Splits a byte stream into frames: a 4-byte big-endian signed length N, then N bytes of body.
///
/// Pure: bytes go in, frame bodies come out, and no socket is in sight, so it can be tested one byte at a time.
/// The declared length is checked before any body byte is buffered, so an over-limit frame costs nothing.
public struct FrameDecoder: Sendable {
    /// Bytes in the length prefix of every frame.
    public static let headerBytes = 4

    /// Largest body accepted, in bytes.
    public let frameBytesMax: Int
    /// Received bytes not yet returned as frames; `buffer[consumed...]` is the unread part.
    private var buffer: [UInt8] = []
    /// Bytes at the front of `buffer` already returned; compacted lazily to keep appends cheap.
    private var consumed = 0

    public init(frameBytesMax: Int) {
        precondition(frameBytesMax > 0, "frameBytesMax must be positive")
        self.frameBytesMax = frameBytesMax
    }

    /// True when some bytes of an incomplete frame are waiting for the rest.
    public var hasPartialFrame: Bool { buffer.count > consumed }

    /// Appends bytes received from the peer.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Returns the next complete frame body, or nil when more bytes are needed.
    ///
    /// Throws when the declared length is negative or over the limit; the stream is unusable after that.
    public mutating func nextFrame() throws(FrameError) -> ArraySlice<UInt8>? {
        let available = buffer.count - consumed
        guard available >= Self.headerBytes else { return nil }
        let length = Int(Self.readLength(buffer, at: consumed))
        guard length >= 0 else { throw .negativeLength(length) }
        guard length <= frameBytesMax else { throw .tooLarge(length: length, frameBytesMax: frameBytesMax) }
        guard available >= Self.headerBytes + length else { return nil }
        let start = consumed + Self.headerBytes
        consumed = start + length
        return buffer[start..<consumed]
    }

    private static func readLength(_ bytes: [UInt8], at index: Int) -> Int32 {
        let raw = UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
            | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
        return Int32(bitPattern: raw)
    }

    /// Drops returned bytes once they dominate the buffer, so a long-lived connection does not grow without bound.
    private mutating func compactIfWorthwhile() {
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        } else if consumed > 64 * 1024 && consumed * 2 > buffer.count {
            buffer.removeSubrange(0..<consumed)
            consumed = 0
        }
    }
}

/// Why a byte stream cannot be split into frames any more.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length prefix, read as a signed 32-bit integer, is negative.
    case negativeLength(Int)
    /// The length prefix exceeds the receiver's frame limit.
    case tooLarge(length: Int, frameBytesMax: Int)

    public var description: String {
        switch self {
        case .negativeLength(let length):
            return "frame length \(length) is negative; a frame starts with a 4-byte big-endian length, then JSON"
        case .tooLarge(let length, let limit):
            return "frame length \(length) bytes exceeds the limit of \(limit) bytes"
        }
    }
}

/// What a frame can carry: anything that writes itself as one JSON object's bytes. A `JSONValue` does; so do the
/// typed replies, which write their bytes directly instead of building a `JSONValue` first.
public protocol FrameBody: Sendable {
    /// Appends the body's JSON bytes to `buffer`.
    func encodeBody(into buffer: inout [UInt8])
}

extension JSONValue: FrameBody {
    public func encodeBody(into buffer: inout [UInt8]) { JSONWriter.encode(self, into: &buffer) }
}

/// Writes frames: the length prefix, then the JSON body.
public enum FrameEncoder {
    /// Appends one framed body to `buffer`.
    public static func append(_ value: some FrameBody, to buffer: inout [UInt8]) {
        appendFramed(value, to: &buffer)
    }

    /// Appends one framed JSON value (this overload lets literals be written as JSON).
    public static func append(_ value: JSONValue, to buffer: inout [UInt8]) {
        appendFramed(value, to: &buffer)
    }

    /// One framed JSON value.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var buffer: [UInt8] = []
        appendFramed(value, to: &buffer)
        return buffer
    }

    /// One framed body.
    public static func encode(_ value: some FrameBody) -> [UInt8] {
        var buffer: [UInt8] = []
        appendFramed(value, to: &buffer)
        return buffer
    }

    /// Appends one framed body followed, inside the frame, by `trailer(body)`: an authenticated connection's code
    /// over the body's bytes.
    public static func append(_ value: some FrameBody, to buffer: inout [UInt8],
                              trailer: (UnsafeRawBufferPointer) -> [UInt8]) {
        let headerIndex = buffer.count
        appendFramed(value, to: &buffer)
        appendTrailer(toFrameAt: headerIndex, in: &buffer, trailer: trailer)
    }

    /// Appends `trailer(body)` inside the frame that starts at `headerIndex` and runs to the buffer's end, for a
    /// frame a caller encoded itself.
    public static func appendTrailer(toFrameAt headerIndex: Int, in buffer: inout [UInt8],
                                     trailer: (UnsafeRawBufferPointer) -> [UInt8]) {
        let bodyStart = headerIndex + FrameDecoder.headerBytes
        let code = buffer.withUnsafeBytes { trailer(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        buffer.append(contentsOf: code)
        writeLength(at: headerIndex, in: &buffer)
    }

    private static func appendFramed<Body: FrameBody>(_ value: Body, to buffer: inout [UInt8]) {
        let headerIndex = buffer.count
        buffer.append(contentsOf: [0, 0, 0, 0])
        value.encodeBody(into: &buffer)
        writeLength(at: headerIndex, in: &buffer)
    }

    /// Writes the length of the frame whose header is at `headerIndex` and which runs to the buffer's end.
    private static func writeLength(at headerIndex: Int, in buffer: inout [UInt8]) {
        let length = UInt32(buffer.count - headerIndex - FrameDecoder.headerBytes)
        buffer[headerIndex] = UInt8(truncatingIfNeeded: length >> 24)
        buffer[headerIndex + 1] = UInt8(truncatingIfNeeded: length >> 16)
        buffer[headerIndex + 2] = UInt8(truncatingIfNeeded: length >> 8)
        buffer[headerIndex + 3] = UInt8(truncatingIfNeeded: length)
    }

}
