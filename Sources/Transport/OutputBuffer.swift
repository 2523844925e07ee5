import Glibc

/// Bytes queued for a non-blocking socket, and how many of them the kernel has taken: the one send loop of the
/// server's connections, its peer channels and the benchmark's sockets.
public struct OutputBuffer {
    /// Everything queued; `bytes[sent...]` is still to go. Append frames here.
    public var bytes: [UInt8] = []
    public private(set) var sent = 0

    public init() {}

    public var hasUnsent: Bool { sent < bytes.count }
    public var unsentCount: Int { bytes.count - sent }

    public enum SendResult: Equatable {
        /// Everything queued was sent (or nothing was queued).
        case drained
        /// The socket's buffer is full; send again when it is writable.
        case wouldBlock
        /// The socket failed with this `errno`; the bytes not sent never will be.
        case failed(errno: Int32)
    }

    /// Sends as much as the socket takes. Once everything is sent the buffer is emptied, keeping its storage for
    /// the next frames when it is no larger than `capacityKeptMax` (a burst does not pin a large buffer forever).
    public mutating func send(to fd: Int32, capacityKeptMax: Int = .max) -> SendResult {
        while hasUnsent {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                sent += count
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return .wouldBlock
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return .failed(errno: count < 0 ? errno : EPIPE)
            }
        }
        reset(capacityKeptMax: capacityKeptMax)
        return .drained
    }

    /// Drops everything queued.
    public mutating func reset(capacityKeptMax: Int = .max) {
        bytes.removeAll(keepingCapacity: bytes.capacity <= capacityKeptMax)
        sent = 0
    }
}
