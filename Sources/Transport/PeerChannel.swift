import Authentication
import CSystem
import Glibc
import Wire

/// A connection from a `FrameServer`'s loop to another frame server: pipelined calls, answered in order.
///
/// Confined to the loop thread, like everything the loop runs. `call` never blocks and never answers inside
/// itself: it queues the encoded request and its completion, and the loop writes every request queued during
/// one iteration with one `send` (so a burst of writes to one backup travels as one batch) before it sleeps.
/// Any number of calls may be in flight, up to `pendingCallsMax`; the peer answers each connection's requests
/// in order, so answers are matched to calls first in, first out.
///
/// A failure — the connect refused, the peer closing, an unreadable answer, or the oldest call passing its
/// deadline — closes the connection and fails every call in flight with the same error, since none of their
/// answers can be told apart any more; each may or may not have been applied. The next call reconnects.
public final class PeerChannel {
    public typealias Completion = (Result<JSONValue, SocketError>) -> Void

    /// Calls a channel holds unanswered at once; one more fails at once, so a stopped peer cannot make its
    /// callers queue without bound while they wait for the oldest call's deadline.
    public static let pendingCallsMax = 16_384
    /// How often the loop checks the oldest call of every channel against its deadline.
    static let deadlineCheckMs = 20

    public let host: String
    public let port: Int
    /// Time each call has, from being queued, for its answer to arrive.
    public let callTimeoutMs: Int
    unowned let loop: FrameServer

    private var fd: Int32 = -1
    private var connecting = false
    private var resolved: SocketAddress?
    private var decoder: FrameDecoder
    private var readScratch = [UInt8](repeating: 0, count: FrameServer.readChunkBytes)
    /// Encoded requests not yet written to the socket.
    private var output = OutputBuffer()
    /// Calls awaiting answers, oldest first: `pending[pendingHead...]` are live.
    private var pending: [PendingCall] = []
    private var pendingHead = 0
    private var interest: UInt32 = 0
    /// True while the loop has this channel on its list to flush at the end of the iteration.
    var flushScheduled = false
    /// The key each connection authenticates with (the process's, `ConnectionCredentials`); nil sends plain frames.
    private let key: Key?
    /// Where the current connection's handshake stands.
    private var stage = Stage.plain
    /// Requests queued while the handshake is under way, written sealed once it is done.
    private var held: [any FrameBody] = []

    private enum Stage {
        /// No key: frames go as they are.
        case plain
        /// The hello is sent; the challenge comes first.
        case awaitingChallenge(Handshake.Initiator)
        /// The proof is sent and requests follow it sealed; the welcome comes before their answers.
        case awaitingWelcome(FrameSeal)
        case sealed(FrameSeal)
    }

    private struct PendingCall {
        let deadlineMs: Int64
        let completion: Completion
    }

    /// A channel to `host:port` run by `loop`; it connects on its first call. Create it on the loop thread.
    public init(loop: FrameServer, host: String, port: Int, callTimeoutMs: Int) {
        precondition(callTimeoutMs > 0, "a call needs a positive deadline")
        self.loop = loop
        self.host = host
        self.port = port
        self.callTimeoutMs = callTimeoutMs
        self.decoder = FrameDecoder(frameBytesMax: loop.limits.frameBytesMax)
        key = ConnectionCredentials.key
        loop.adopt(self)
    }

    /// Calls in flight: sent or queued, not yet answered or failed.
    public var callsInFlight: Int { pending.count - pendingHead }

    /// Sends a JSON request (this overload lets literals be written as JSON); see `call(_:completion:)`.
    public func call(_ request: JSONValue, completion: @escaping Completion) {
        enqueue(request, completion: completion)
    }

    /// Sends `request`; `completion` runs later on the loop thread with the answer or the reason there is none.
    public func call(_ request: some FrameBody, completion: @escaping Completion) {
        enqueue(request, completion: completion)
    }

    private func enqueue<Body: FrameBody>(_ request: Body, completion: @escaping Completion) {
        guard callsInFlight < Self.pendingCallsMax else {
            loop.soon { completion(.failure(.backlogFull(host: self.host, port: self.port, calls: Self.pendingCallsMax))) }
            return
        }
        if fd < 0 {
            do throws(SocketError) {
                try connect()
            } catch {
                loop.soon { completion(.failure(error)) }
                return
            }
        }
        switch stage {
        case .plain: FrameEncoder.append(request, to: &output.bytes)
        case .sealed(var seal):
            FrameEncoder.append(request, to: &output.bytes) { body in seal.nextCode(for: body) }
            stage = .sealed(seal)
        case .awaitingChallenge, .awaitingWelcome: held.append(request)
        }
        pending.append(PendingCall(deadlineMs: MonotonicClock.nowMs() + Int64(callTimeoutMs), completion: completion))
        loop.scheduleFlush(self)
    }

    /// Closes the connection without failing anything; the loop calls it when it stops.
    func shutdown() {
        guard fd >= 0 else { return }
        loop.forget(fd)
        close(fd)
        fd = -1
    }

    // MARK: Driven by the loop

    /// Handles readiness reported by epoll.
    func handle(event: UInt32) {
        if connecting {
            let code = Socket.pendingError(fd)
            guard code == 0 else { return fail(.connect(host: host, port: port, code)) }
            connecting = false
        }
        if event & EPOLLIN.rawValue != 0 || event & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            readAvailable()
            guard fd >= 0 else { return }
        }
        flush()
    }

    /// Writes what is queued, as far as the socket takes it, and watches for writability when it does not.
    func flush() {
        guard fd >= 0, !connecting else { return }
        if case .failed(let error) = output.send(to: fd, capacityKeptMax: FrameServer.readChunkBytes) {
            return fail(error == EPIPE || error == ECONNRESET ? .closed : .system("send to \(host):\(port)", error))
        }
        watch(EPOLLIN.rawValue | (output.hasUnsent ? EPOLLOUT.rawValue : 0))
    }

    /// Fails everything in flight once the oldest call has waited past its deadline.
    func checkDeadline(nowMs: Int64) {
        guard pendingHead < pending.count, pending[pendingHead].deadlineMs <= nowMs else { return }
        fail(.timedOut("waiting for an answer from \(host):\(port) (\(callTimeoutMs) ms)"))
    }

    // MARK: Internals

    private func connect() throws(SocketError) {
        if resolved == nil { resolved = try Socket.resolve(host: host, port: port) }
        let (socket, connected) = try Socket.startConnecting(to: resolved!)
        fd = socket
        connecting = !connected
        if let key {
            let initiator = Handshake.Initiator(key: key, nonce: FrameServer.randomNonce())
            FrameEncoder.append(HandshakeMessages.encode(initiator.hello), to: &output.bytes)
            stage = .awaitingChallenge(initiator)
        }
        loop.watch(fd, for: self, events: EPOLLOUT.rawValue)
        interest = EPOLLOUT.rawValue
    }

    private func watch(_ events: UInt32) {
        guard events != interest else { return }
        loop.changeInterest(fd, to: events)
        interest = events
    }

    private func readAvailable() {
        while fd >= 0 {
            let count = readScratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                readScratch.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                deliverAnswers()
                if count < readScratch.count { return }
            } else if count == 0 {
                return fail(.closed)
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return
            } else {
                return fail(errno == ECONNRESET ? .closed : .system("read from \(host):\(port)", errno))
            }
        }
    }

    /// Hands each complete answer to the oldest call still waiting, after the handshake's own frames.
    private func deliverAnswers() {
        while fd >= 0 {
            var answer: JSONValue
            do {
                guard var frame = try decoder.nextFrame() else { return }
                if case .sealed(var seal) = stage {
                    frame = try seal.open(frame)
                    stage = .sealed(seal)
                } else if case .awaitingWelcome(var seal) = stage {
                    frame = try seal.open(frame)
                    stage = .awaitingWelcome(seal)
                }
                answer = try JSONParser.parse(frame)
            } catch let error as SealError {
                return fail(.authentication("authentication failed: \(error) (\(host):\(port))"))
            } catch {
                return fail(.system("reading an answer from \(host):\(port): \(error)", EPROTO))
            }
            do throws(HandshakeError) {
                switch stage {
                case .plain, .sealed: break
                case .awaitingChallenge(let initiator):
                    let (proof, session) = try initiator.answer(try HandshakeMessages.challenge(in: answer))
                    FrameEncoder.append(HandshakeMessages.encode(proof), to: &output.bytes)
                    var seal = session.seal
                    for request in held {
                        FrameEncoder.append(request, to: &output.bytes) { body in seal.nextCode(for: body) }
                    }
                    held = []
                    stage = .awaitingWelcome(seal)
                    loop.scheduleFlush(self)
                    continue
                case .awaitingWelcome(let seal):
                    try HandshakeMessages.checkWelcome(answer)
                    stage = .sealed(seal)
                    continue
                }
            } catch {
                return fail(.authentication("\(error) (\(host):\(port))"))
            }
            guard pendingHead < pending.count else {
                return fail(.system("\(host):\(port) answered a call that was never made", EPROTO))
            }
            let call = pending[pendingHead]
            pendingHead += 1
            if pendingHead == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingHead = 0
            } else if pendingHead >= 1_024 && pendingHead * 2 >= pending.count {
                pending.removeSubrange(0..<pendingHead)
                pendingHead = 0
            }
            call.completion(.success(answer))
        }
    }

    /// Closes the connection and fails every call in flight, oldest first.
    private func fail(_ error: SocketError) {
        let failed = pending[pendingHead...]
        pending = []
        pendingHead = 0
        output = OutputBuffer()
        decoder = FrameDecoder(frameBytesMax: decoder.frameBytesMax)
        stage = .plain
        held = []
        connecting = false
        shutdown()
        for call in failed { call.completion(.failure(error)) }
    }
}
