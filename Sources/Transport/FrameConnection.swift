import Authentication
import Glibc
import Wire

/// A client's end of one TCP connection: send a request, wait for its reply, with deadlines.
///
/// Not thread-safe: one caller at a time. Requests may be pipelined with `send` then `receive` in order.
public final class FrameConnection {
    public let host: String
    public let port: Int
    private var fd: Int32
    private var decoder: FrameDecoder
    private var readScratch = [UInt8](repeating: 0, count: 64 * 1024)
    /// Requests this connection has completed; zero means it has never been proven to work.
    public private(set) var completedCalls = 0
    /// Once authenticated: seals each request and opens each reply.
    private var seal: FrameSeal?
    /// The role the other side granted our key; nil on a connection without a key.
    public private(set) var role: Role?

    /// Connects to `host:port` within `timeoutMs`, and authenticates with `key` when there is one (by default the
    /// process's key, `ConnectionCredentials`).
    public init(host: String, port: Int, timeoutMs: Int, frameBytesMax: Int = WireLimits().frameBytesMax,
                key: Key? = ConnectionCredentials.key) throws(SocketError)
    {
        self.host = host
        self.port = port
        self.fd = try Socket.connect(host: host, port: port, timeoutMs: timeoutMs)
        self.decoder = FrameDecoder(frameBytesMax: frameBytesMax)
        if let key { try authenticate(with: key, timeoutMs: timeoutMs) }
    }

    /// The handshake (`HandshakeMessages`): hello, check the challenge, proof, welcome. Closes and throws
    /// `.authentication` when either side refuses.
    private func authenticate(with key: Key, timeoutMs: Int) throws(SocketError) {
        let initiator = Handshake.Initiator(key: key, nonce: FrameServer.randomNonce())
        try sendRaw(FrameEncoder.encode(HandshakeMessages.encode(initiator.hello)), timeoutMs: timeoutMs)
        let reply = try receive(timeoutMs: timeoutMs)
        let (proof, session) = try handshakeStep { () throws(HandshakeError) in
            try initiator.answer(try HandshakeMessages.challenge(in: reply))
        }
        try sendRaw(FrameEncoder.encode(HandshakeMessages.encode(proof)), timeoutMs: timeoutMs)
        seal = session.seal
        let welcome = try receive(timeoutMs: timeoutMs)
        try handshakeStep { () throws(HandshakeError) in try HandshakeMessages.checkWelcome(welcome) }
        role = session.role
        completedCalls = 0
    }

    /// Runs one step of the handshake; a refusal closes the connection and is thrown as `.authentication`.
    private func handshakeStep<T>(_ step: () throws(HandshakeError) -> T) throws(SocketError) -> T {
        do throws(HandshakeError) {
            return try step()
        } catch {
            close()
            throw .authentication("\(error) (\(host):\(port))")
        }
    }

    /// Connects to the first of `ports` on `host` that accepts, trying them in order.
    public static func connectFirst(host: String, ports: [Int], timeoutMs: Int,
                                    key: Key? = ConnectionCredentials.key) throws(SocketError) -> FrameConnection {
        precondition(!ports.isEmpty, "at least one candidate port is needed")
        var lastError = SocketError.closed
        for port in ports {
            do {
                return try FrameConnection(host: host, port: port, timeoutMs: timeoutMs, key: key)
            } catch .connect(let host, let port, let code) {
                lastError = .connect(host: host, port: port, code)
            }
        }
        if ports.count == 1 { throw lastError }
        throw .noneListening(host: host, ports: "\(ports.first!)-\(ports.last!)")
    }

    public var isOpen: Bool { fd >= 0 }

    /// Hands the open, non-blocking socket and the connection's seal (nil without a key) to a caller that runs
    /// its own loop, such as the bench's; this connection is closed, without closing the socket. Call it only
    /// between calls, when no reply is buffered.
    public func detach() -> (fd: Int32, seal: FrameSeal?) {
        precondition(!decoder.hasPartialFrame, "bytes of a reply are still buffered")
        defer { fd = -1 }
        return (fd, seal)
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Closes the sending side only: the peer sees end of input but may still reply.
    public func shutdownSending() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Sends `request` and waits up to `timeoutMs` for the reply.
    public func call(_ request: JSONValue, timeoutMs: Int) throws(SocketError) -> JSONValue {
        try send(request, timeoutMs: timeoutMs)
        return try receive(timeoutMs: timeoutMs)
    }

    /// Sends `request` and waits up to `timeoutMs` for the reply, saying whether a request that got no reply may
    /// have reached the server (see `SendOutcome`). The connection is closed after any failure.
    public func exchange(_ request: JSONValue, timeoutMs: Int) -> SendOutcome {
        do {
            try send(request, timeoutMs: timeoutMs)
        } catch {
            close()
            return .neverSent("cannot send to \(host):\(port): \(error)")
        }
        do {
            return .answered(try receive(timeoutMs: timeoutMs))
        } catch .timedOut {
            close()
            return .mayHaveArrived("no reply from \(host):\(port) within \(timeoutMs) ms")
        } catch {
            close()
            return .mayHaveArrived("\(host):\(port): \(error)")
        }
    }

    /// True when the peer has closed its end (or the connection failed) while it sat unused: reading it would
    /// give end of input or an error. A connection kept open between requests is checked this way before reuse,
    /// so a request is never written into a connection the server already dropped as idle.
    public func peerHasClosed() -> Bool {
        guard fd >= 0 else { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, 0)
        // Readable with nothing asked means end of input, or bytes no request called for; POLLHUP and POLLERR
        // are reported whatever was asked. In every case the connection cannot carry the next reply safely.
        return ready != 0
    }

    /// Writes one framed request, sealed on an authenticated connection.
    public func send(_ request: JSONValue, timeoutMs: Int) throws(SocketError) {
        guard seal != nil else { return try sendRaw(FrameEncoder.encode(request), timeoutMs: timeoutMs) }
        var bytes: [UInt8] = []
        FrameEncoder.append(request, to: &bytes) { body in seal!.nextCode(for: body) }
        try sendRaw(bytes, timeoutMs: timeoutMs)
    }

    /// Writes bytes as they are; tests use it to send malformed frames.
    public func sendRaw(_ bytes: [UInt8], timeoutMs: Int) throws(SocketError) {
        guard fd >= 0 else { throw .closed }
        let deadline = MonotonicClock.nowMs() + Int64(timeoutMs)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                sent += count
                continue
            }
            let code = errno
            if count < 0 && code == EINTR { continue }
            guard count < 0 && (code == EAGAIN || code == EWOULDBLOCK) else {
                close()
                throw code == EPIPE || code == ECONNRESET ? .closed : .system("send", code)
            }
            try waitFor(Int16(POLLOUT), until: deadline, what: "sending to \(host):\(port)")
        }
    }

    /// Reads the next reply, waiting up to `timeoutMs`.
    public func receive(timeoutMs: Int) throws(SocketError) -> JSONValue {
        let frame = try receiveFrame(timeoutMs: timeoutMs)
        do {
            return try JSONParser.parse(frame)
        } catch {
            close()
            throw .system("reading a reply from \(host):\(port): \(error.description)", EPROTO)
        }
    }

    /// Reads the next frame body as raw bytes.
    public func receiveFrame(timeoutMs: Int) throws(SocketError) -> [UInt8] {
        let deadline = MonotonicClock.nowMs() + Int64(timeoutMs)
        while true {
            let next: ArraySlice<UInt8>?
            do {
                next = try decoder.nextFrame()
            } catch {
                close()
                throw .system("reading from \(host):\(port): \(error.description)", EPROTO)
            }
            if let frame = next {
                completedCalls += 1
                guard seal != nil else { return Array(frame) }
                do throws(SealError) {
                    return Array(try seal!.open(frame))
                } catch {
                    close()
                    throw .authentication("authentication failed: \(error) (\(host):\(port))")
                }
            }
            guard fd >= 0 else { throw .closed }
            let count = readScratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                readScratch.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            } else if count == 0 {
                close()
                throw .closed
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try waitFor(Int16(POLLIN), until: deadline, what: "waiting for a reply from \(host):\(port)")
            } else {
                let code = errno
                close()
                throw code == ECONNRESET ? .closed : .system("read", code)
            }
        }
    }

    private func waitFor(_ events: Int16, until deadline: Int64, what: String) throws(SocketError) {
        let remaining = Int(max(0, deadline - MonotonicClock.nowMs()))
        guard try Socket.waitUntil(fd: fd, events: events, timeoutMs: remaining) else { throw .timedOut(what) }
    }
}
