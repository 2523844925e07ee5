/// The code every frame of an authenticated connection carries after the handshake: HMAC-SHA-256 under the
/// connection's session key, over the frame's direction, its sequence number in that direction, and its bytes,
/// truncated to `codeBytes` (as RFC 4868 truncates HMAC-SHA-256 for IPsec).
///
/// So a frame cannot be forged or altered (the code needs the session key), replayed or dropped unnoticed (the
/// sequence must be the next one), reflected back to its sender (the direction is covered) or moved to another
/// connection (each connection's session key comes from its own two nonces). Pure: no socket; the transport
/// seals what it sends and opens what it receives, and closes the connection at the first frame that fails.
public struct FrameSeal: Sendable {
    /// Which end of the connection this is: the one that connected, or the one that accepted.
    public enum Side: Sendable {
        case initiator
        case responder

        var sendingDirection: UInt8 { self == .initiator ? 0x01 : 0x02 }
        var receivingDirection: UInt8 { self == .initiator ? 0x02 : 0x01 }
    }

    /// Bytes of the code appended to each frame.
    public static let codeBytes = 16

    private let hmac: HMAC
    private let side: Side
    /// The sequence number of the next frame sent, and of the next one expected; each starts at 0.
    public private(set) var sentFrames: UInt64 = 0
    public private(set) var receivedFrames: UInt64 = 0

    public init(sessionKey: [UInt8], side: Side) {
        hmac = HMAC(key: sessionKey)
        self.side = side
    }

    /// `payload` with its code appended, as the next frame sent.
    public mutating func seal(_ payload: [UInt8]) -> [UInt8] {
        payload + payload.withUnsafeBytes { nextCode(for: $0) }
    }

    /// The code of `payload` as the next frame sent, for a caller that appends it in place.
    public mutating func nextCode(for payload: UnsafeRawBufferPointer) -> [UInt8] {
        defer { sentFrames += 1 }
        return code(direction: side.sendingDirection, sequence: sentFrames, payload: payload)
    }

    /// The payload of `frame`, the next frame received, once its code checks out.
    public mutating func open(_ frame: [UInt8]) throws(SealError) -> [UInt8] {
        Array(try open(frame[...]))
    }

    /// The payload of `frame` (a slice of it, without copying), once its code checks out.
    public mutating func open(_ frame: ArraySlice<UInt8>) throws(SealError) -> ArraySlice<UInt8> {
        guard frame.count >= Self.codeBytes else { throw .tooShort(bytes: frame.count) }
        let payload = frame[..<(frame.endIndex - Self.codeBytes)]
        let expected = payload.withUnsafeBytes {
            code(direction: side.receivingDirection, sequence: receivedFrames, payload: $0)
        }
        guard HMAC.equal(expected, frame[(frame.endIndex - Self.codeBytes)...]) else { throw .badCode }
        receivedFrames += 1
        return payload
    }

    private func code(direction: UInt8, sequence: UInt64, payload: UnsafeRawBufferPointer) -> [UInt8] {
        var inner = hmac.start()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 9) { header in
            header[0] = direction
            for index in 0..<8 { header[1 + index] = UInt8(truncatingIfNeeded: sequence >> UInt64(56 - 8 * index)) }
            inner.update(buffer: UnsafeRawBufferPointer(header))
        }
        inner.update(buffer: payload)
        var code = hmac.finish(inner)
        code.removeLast(code.count - Self.codeBytes)
        return code
    }
}

/// Why a received frame was refused. The connection is closed after it.
public enum SealError: Error, Equatable, CustomStringConvertible {
    /// Shorter than a code: not a frame of this connection.
    case tooShort(bytes: Int)
    /// The code does not match: forged, altered, replayed, reordered or from another connection.
    case badCode

    public var description: String {
        switch self {
        case .tooShort(let bytes): "a frame of \(bytes) bytes is too short to carry its authentication code"
        case .badCode: "a frame's authentication code does not match (forged, altered, replayed or from another "
            + "connection)"
        }
    }
}
