import Authentication
import CSystem
import Glibc
import Synchronization
import Wire

/// A TCP server that speaks frames, driven by one epoll loop on one thread.
///
/// It owns sockets, timers and the order of replies; it decides nothing about the protocol. Each complete
/// frame's body goes to the handler on the loop thread, which decodes it as it likes and answers through the
/// `Responder`; a frame whose length is invalid is answered with an error reply here and never reaches the
/// handler. Handlers and timer actions run on the loop thread, so the state they touch needs no lock; only
/// `deliver`, `execute` and `stop` may be called from other threads.
public final class FrameServer: @unchecked Sendable {
    /// Answers one frame's body, now or later, exactly once, through the responder.
    public typealias Handler = (ArraySlice<UInt8>, Responder) -> Void
    /// Answers one request parsed as JSON, or throws a `RequestError` (before replying) to have it answered as an
    /// error: for processes and tests that need no faster decoding.
    public typealias RequestHandler = (Request, Responder) throws(RequestError) -> Void

    /// Bytes read from a socket per system call.
    static let readChunkBytes = 64 * 1024
    /// Upper bound on how long the loop sleeps, so timers are never starved by a long wait.
    static let loopWaitMsMax = 1_000

    public let host: String
    /// The port actually bound (the ephemeral port when asked for port 0).
    public let port: Int
    public let limits: WireLimits

    private let listenFD: Int32
    private let epollFD: Int32
    private let wakeFD: Int32
    /// Set by `run`; requests only arrive while it runs.
    private var handler: Handler = { _, _ in preconditionFailure("a request arrived before run") }
    private var connections: [Int32: ServerConnection] = [:]
    /// Open connections by the peer's address, for the per-address limit (those on the member reserve not counted).
    private var connectionsByHost: [String: Int] = [:]
    /// Connections let in on the member reserve (`WireLimits.memberConnectionsReserved`), on probation or kept.
    private var reserveInUse = 0
    /// The keys a connection may authenticate with; nil takes connections without keys, as the classic protocol
    /// does. With keys, a connection's first frames must be the handshake (`HandshakeMessages`) and every frame
    /// after it is sealed (`FrameSeal`). Set before `run`.
    public var acceptedKeys: KeyFile?
    /// Where handshake nonces come from: the system's cryptographic generator unless a test sets another.
    public var makeNonce: () -> [UInt8] = { FrameServer.randomNonce() }
    /// Says whether a connection's first request is a member's, which may keep a slot of the member reserve. Nil
    /// (the default) keeps no reserve. Set before `run`.
    public var isMemberRequest: ((ArraySlice<UInt8>) -> Bool)?
    /// Unsent reply bytes of every connection together, against `WireLimits.outputBytesTotalMax`.
    private let unsentOutput = OutputLedger()
    /// Unsent reply bytes of every connection together; loop thread only.
    var unsentOutputBytes: Int { unsentOutput.bytes }
    /// Connections that stopped reading because the total output reached its limit, resumed once it drains.
    private var heldByTotalOutput: [Int32: ServerConnection] = [:]
    /// Told, on the loop thread, when a limit makes the server refuse or evict a connection or hold back a
    /// reader: at most one line per kind every `noticeIntervalMs`, saying how many more were not told. Set before
    /// `run`.
    public var onLimitReached: ((String) -> Void)?
    private var lastNotices: [String: (atMs: Int64, untold: Int)] = [:]
    static let noticeIntervalMs: Int64 = 10_000
    /// Outbound connections to other servers, by descriptor while one is open.
    private var channelsByFD: [Int32: PeerChannel] = [:]
    /// Every channel created on this loop, for the deadline sweep.
    private var channels: [PeerChannel] = []
    /// Channels with requests queued this iteration, written out before the loop sleeps.
    private var channelsToFlush: [PeerChannel] = []
    /// Loop-thread work deferred to the end of the current iteration (completions that must not run re-entrantly).
    private var deferred: [() -> Void] = []
    private var nextConnectionID: UInt64 = 1
    private var timers: [LoopTimer] = []
    private var loopThread: pthread_t?
    private var readScratch = [UInt8](repeating: 0, count: FrameServer.readChunkBytes)
    /// The connection whose requests are being handed to the handler right now, if any.
    private var dispatchingConnection: ServerConnection?
    /// The monotonic time read once per turn of the loop: connection progress is stamped with it rather than with a
    /// clock read per request (the deadlines it serves are seconds long).
    private var turnStartedMs = MonotonicClock.nowMs()
    /// Work handed over from other threads: replies finished elsewhere and tasks to run on the loop.
    private let inbox = Mutex<Inbox>(Inbox())

    /// Binds the first free port of `ports` on `host`; throws the last bind error when none is free.
    public init(host: String, ports: [Int], limits: WireLimits) throws(SocketError) {
        precondition(!ports.isEmpty, "at least one candidate port is needed")
        var lastError = SocketError.addressInUse(host: host, port: ports[0])
        var bound: Int32 = -1
        for candidate in ports {
            do {
                bound = try Socket.listen(host: host, port: candidate)
                break
            } catch .addressInUse(let host, let port) {
                lastError = .addressInUse(host: host, port: port)
            }
        }
        guard bound >= 0 else { throw lastError }
        self.host = host
        self.listenFD = bound
        self.port = Socket.localPort(bound)
        self.limits = limits
        self.epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        self.wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll and eventfd are required")
        register(listenFD, events: EPOLLIN.rawValue)
        register(wakeFD, events: EPOLLIN.rawValue)
        let sweepMs = max(10, min(1_000, min(limits.requestTimeoutMs, limits.idleTimeoutMs) / 4))
        timers.append(LoopTimer(intervalMs: sweepMs, dueMs: MonotonicClock.nowMs() + Int64(sweepMs)) { [unowned self] in
            self.closeTimedOutConnections()
        })
    }

    deinit {
        close(listenFD)
        close(epollFD)
        close(wakeFD)
    }

    /// Runs `action` on the loop thread every `intervalMs`; call before `run` or from the loop thread.
    public func every(ms intervalMs: Int, _ action: @escaping () -> Void) {
        precondition(intervalMs > 0, "timer interval must be positive")
        timers.append(LoopTimer(intervalMs: intervalMs, dueMs: MonotonicClock.nowMs() + Int64(intervalMs),
                                action: action))
    }

    /// Runs `action` once on the loop thread after `delayMs`; call before `run` or from the loop thread.
    public func after(ms delayMs: Int, _ action: @escaping () -> Void) {
        let dueMs = MonotonicClock.nowMs() + Int64(max(0, delayMs))
        timers.append(LoopTimer(intervalMs: nil, dueMs: dueMs, action: action))
    }

    /// Runs `task` on the loop thread soon; safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.tasks.append(task) }
        wake()
    }

    /// Asks the loop to close every connection and return from `run`; safe from any thread.
    public func stop() {
        inbox.withLock { $0.stopRequested = true }
        wake()
    }

    /// Serves requests parsed as JSON with `handler` until `stop` is called; a frame that is not a request is
    /// answered with an error reply naming what is wrong.
    public func run(requests handler: @escaping RequestHandler) {
        run(frames: { frame, responder in
            do throws(RequestError) {
                try handler(Request(frame: frame), responder)
            } catch {
                responder.reply(Reply.error(error.description))
            }
        })
    }

    /// Serves frames with `handler` until `stop` is called. Blocks the calling thread, which becomes the loop
    /// thread: the handler, timer actions and `execute` tasks all run on it.
    public func run(frames handler: @escaping Handler) {
        self.handler = handler
        loopThread = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let waitMs = Int32(clamping: millisecondsUntilNextTimer())
            let ready = epoll_wait(epollFD, &events, Int32(events.count), waitMs)
            if ready < 0 && errno != EINTR { fatalError("epoll_wait failed: \(String(cString: strerror(errno)))") }
            turnStartedMs = MonotonicClock.nowMs()
            for index in 0..<max(0, Int(ready)) {
                let event = events[index]
                let fd = Int32(truncatingIfNeeded: event.data.fd)
                if fd == listenFD {
                    acceptConnections()
                } else if fd == wakeFD {
                    var counter: UInt64 = 0
                    _ = read(wakeFD, &counter, 8)
                } else if let connection = connections[fd] {
                    handle(event: event.events, on: connection)
                } else if let channel = channelsByFD[fd] {
                    channel.handle(event: event.events)
                }
            }
            if drainInbox() { break }
            runDueTimers()
            runDeferredAndFlushChannels()
        }
        for fd in Array(connections.keys) { closeConnection(fd) }
        for channel in channels { channel.shutdown() }
        loopThread = nil
    }

    // MARK: Replies

    func deliver<Body: FrameBody>(_ reply: Body, connectionID: UInt64, sequence: UInt64) {
        if let loopThread, pthread_equal(loopThread, pthread_self()) != 0 {
            deliverOnLoop(reply, connectionID: connectionID, sequence: sequence)
        } else {
            inbox.withLock { $0.replies.append(PendingReply(value: reply, connectionID: connectionID, sequence: sequence)) }
            wake()
        }
    }

    private func deliverOnLoop<Body: FrameBody>(_ reply: Body, connectionID: UInt64, sequence: UInt64) {
        // The common case: answered at once, while its connection is dispatching; no lookup, and the dispatch loop
        // writes the output when it is done.
        if let dispatching = dispatchingConnection, dispatching.id == connectionID {
            dispatching.accept(reply, sequence: sequence)
            return
        }
        let connectionKey = Int32(truncatingIfNeeded: connectionID & 0xFFFF_FFFF)
        guard let connection = connections[connectionKey], connection.id == connectionID else { return }
        connection.accept(reply, sequence: sequence)
        connection.lastProgressMs = turnStartedMs
        if !connection.isDispatching { serve(connection) }
    }

    // MARK: Connections

    private func acceptConnections() {
        while true {
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            do {
                try Socket.setNonBlocking(fd)
            } catch {
                close(fd)
                continue
            }
            let peerHost = Socket.peerHost(fd)
            if connectionsByHost[peerHost, default: 0] >= limits.connectionsPerHostMax,
               let stalled = mostStalledConnection(from: peerHost) {
                notice("evicted", "gave the slot of a stalled connection from \(stalled.peerHost) to a new one "
                    + "(at the limit of \(limits.connectionsPerHostMax) connections from one address)")
                closeConnection(stalled.fd)
            }
            if connections.count - reserveInUse >= limits.connectionsMax, let stalled = mostStalledConnection() {
                notice("evicted", "gave the slot of a stalled connection from \(stalled.peerHost) to a new one "
                    + "(at the limit of \(limits.connectionsMax) connections)")
                closeConnection(stalled.fd)
            }
            let refusal = connectionRefusal(from: peerHost)
            if refusal != nil, reserveInUse >= limits.memberConnectionsReserved,
               let stalled = mostStalledConnection(onReserve: true) {
                closeConnection(stalled.fd)
            }
            if let refusal, isMemberRequest == nil || reserveInUse >= limits.memberConnectionsReserved {
                notice("refused", "refused a connection from \(peerHost): \(refusal)")
                var bytes = FrameEncoder.encode(Reply.error(refusal.description))
                _ = send(fd, &bytes, bytes.count, Int32(MSG_NOSIGNAL))
                close(fd)
                continue
            }
            Socket.setNoDelay(fd)
            // The low 32 bits carry the descriptor so a reply finds its connection; the high bits tell a
            // reused descriptor from the connection that held it before.
            let id = nextConnectionID << 32 | UInt64(UInt32(bitPattern: fd))
            nextConnectionID += 1
            // A connection the client limits refuse is let in on the member reserve: its first request decides.
            let connection = ServerConnection(fd: fd, id: id, peerHost: peerHost, frameBytesMax: limits.frameBytesMax,
                                              unsentOutput: unsentOutput, probation: refusal,
                                              nowMs: MonotonicClock.nowMs())
            connections[fd] = connection
            if connection.isOnReserve {
                reserveInUse += 1
            } else {
                connectionsByHost[peerHost, default: 0] += 1
            }
            register(fd, events: EPOLLIN.rawValue)
            connection.interest = EPOLLIN.rawValue
        }
    }

    /// At the connection limit, the connection that may give its slot to a new one: nothing in flight, nothing
    /// unsent, and no progress (no complete request) for `WireLimits.stalledSlotMs`, the longest-stalled first.
    /// Without this, a few thousand sockets each sending a byte now and then (slowloris) held every slot and
    /// locked every client out; now they can only take each other's.
    /// Connections on the member reserve give their slots only to each other.
    private func mostStalledConnection(from host: String? = nil, onReserve: Bool = false) -> ServerConnection? {
        let stalledBeforeMs = MonotonicClock.nowMs() - Int64(limits.stalledSlotMs)
        var oldest: ServerConnection?
        for connection in connections.values
        where connection.inFlight == 0 && !connection.hasUnsentOutput && connection.lastProgressMs <= stalledBeforeMs
            && (host == nil || connection.peerHost == host) && connection.isOnReserve == onReserve
            && connection.lastProgressMs < (oldest?.lastProgressMs ?? .max)
        {
            oldest = connection
        }
        return oldest
    }

    private func handle(event: UInt32, on connection: ServerConnection) {
        if event & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 && event & EPOLLIN.rawValue == 0 {
            closeConnection(connection.fd)
            return
        }
        if event & EPOLLIN.rawValue != 0 {
            readAvailable(connection)
            guard connections[connection.fd] === connection else { return }
        }
        serve(connection)
    }

    /// Dispatches the connection's buffered requests and sends their replies, until the requests run out or the
    /// kernel stops taking replies (then its next EPOLLOUT comes back here). Requests held back by the output
    /// limit are already read, so no EPOLLIN would wake them: sending must be what resumes them.
    private func serve(_ connection: ServerConnection) {
        while true {
            processBufferedFrames(connection)
            let heldBackByOutput = connection.output.unsentCount >= limits.outputBytesMax
                || heldByTotalOutput[connection.fd] === connection
            flush(connection)
            guard heldBackByOutput, connections[connection.fd] === connection,
                  connection.output.unsentCount < limits.outputBytesMax, mayTakeRequests(connection)
            else { return }
            heldByTotalOutput[connection.fd] = nil
        }
    }

    /// Whether the total of unsent replies lets `connection` take another request: under the total limit, or all
    /// of its own replies gone (a peer that reads its replies is never stopped by peers that do not).
    private func mayTakeRequests(_ connection: ServerConnection) -> Bool {
        unsentOutput.bytes < limits.outputBytesTotalMax || !connection.hasUnsentOutput
    }

    private func readAvailable(_ connection: ServerConnection) {
        let count = readScratch.withUnsafeMutableBytes { read(connection.fd, $0.baseAddress, $0.count) }
        if count > 0 {
            readScratch.withUnsafeBytes { connection.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        } else if count == 0 {
            connection.peerClosedInput = true
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            closeConnection(connection.fd)
        }
    }

    /// Turns buffered bytes into requests while the connection's pipeline has room and its unsent replies are
    /// under the output limit. Checked before every frame, so one read of many small requests for a large value
    /// (a thousand `get`s of a megabyte in 28 KB) queues at most the limit and one more reply, not a gigabyte; the
    /// rest wait in the socket until the peer reads.
    private func processBufferedFrames(_ connection: ServerConnection) {
        connection.isDispatching = true
        let outer = dispatchingConnection
        dispatchingConnection = connection
        defer {
            connection.isDispatching = false
            dispatchingConnection = outer
        }
        defer {
            if connection.output.unsentCount >= limits.outputBytesMax && connection.decoder.hasPartialFrame {
                notice("throttled", "stopped reading requests from \(connection.peerHost) until it reads its replies "
                    + "(\(connection.output.unsentCount) bytes unsent, over the limit of \(limits.outputBytesMax))")
            }
        }
        while !connection.closeAfterFlush && connection.inFlight < limits.pipelineDepthMax
            && connection.output.unsentCount < limits.outputBytesMax
        {
            guard mayTakeRequests(connection) else {
                holdForTotalOutput(connection)
                return
            }
            let frame: ArraySlice<UInt8>?
            do {
                frame = try connection.decoder.nextFrame()
            } catch {
                let sequence = connection.nextSequence()
                connection.accept(Reply.error(error.description), sequence: sequence)
                connection.closeAfterFlush = true
                return
            }
            guard var frame else { return }
            if let keys = acceptedKeys {
                guard let opened = authenticate(frame, on: connection, keys: keys) else { continue }
                frame = opened
            }
            if let refusal = connection.probation {
                // With keys, only a member key's connection may keep a reserved slot, whatever it sends.
                guard isMemberRequest?(frame) == true && (connection.role == nil || connection.role == .member) else {
                    notice("refused", "refused a connection from \(connection.peerHost) that is not a member's: "
                        + "\(refusal)")
                    connection.accept(Reply.error(refusal.description), sequence: connection.nextSequence())
                    connection.closeAfterFlush = true
                    return
                }
                connection.probation = nil
            }
            connection.lastProgressMs = turnStartedMs
            let sequence = connection.nextSequence()
            let responder = Responder(peerHost: connection.peerHost, role: connection.role, server: self,
                                      connectionID: connection.id, sequence: sequence)
            handler(frame, responder)
        }
    }

    /// Takes one frame of a connection to a server with keys: a step of the handshake (answered here; nil), or
    /// after it a sealed request, returned opened. Anything else is answered with an error, and the connection
    /// closes after it.
    private func authenticate(_ frame: ArraySlice<UInt8>, on connection: ServerConnection,
                              keys: KeyFile) -> ArraySlice<UInt8>? {
        if connection.seal != nil {
            do throws(SealError) {
                return try connection.seal!.open(frame)
            } catch {
                refuseAuthentication(connection, "authentication failed: \(error)")
                return nil
            }
        }
        do throws(HandshakeError) {
            if let responder = connection.handshake {
                let session = try responder.verify(try HandshakeMessages.proof(in: frame))
                connection.handshake = nil
                connection.seal = session.seal
                connection.role = session.role
                connection.lastProgressMs = turnStartedMs
                connection.accept(HandshakeMessages.welcome(session), sequence: connection.nextSequence())
            } else if let hello = try HandshakeMessages.hello(in: frame) {
                var responder = Handshake.Responder(keys: keys, nonce: makeNonce())
                let challenge = try responder.challenge(hello)
                connection.handshake = responder
                connection.accept(HandshakeMessages.encode(challenge), sequence: connection.nextSequence())
            } else {
                refuseAuthentication(connection, AuthorityRefusal.keyRequired)
            }
        } catch {
            refuseAuthentication(connection, "\(error)")
        }
        return nil
    }

    /// Answers `connection` with `reason` (sealed, once it has a seal), closes it after, and logs it rate-limited.
    private func refuseAuthentication(_ connection: ServerConnection, _ reason: String) {
        notice("authentication", "refused a connection from \(connection.peerHost): \(reason)")
        connection.accept(Reply.error(reason), sequence: connection.nextSequence())
        connection.closeAfterFlush = true
    }

    /// A handshake nonce from the kernel's cryptographic generator.
    public static func randomNonce() -> [UInt8] { SecureRandom.bytes(Handshake.nonceBytes) }

    /// Writes queued replies, then closes or adjusts epoll interest as the connection's state requires.
    private func flush(_ connection: ServerConnection) {
        guard connections[connection.fd] === connection else { return }
        let unsentBefore = connection.output.unsentCount
        let sent = connection.send()
        resumeHeldConnectionsIfOutputDrained()
        if case .failed = sent {
            closeConnection(connection.fd)
            return
        }
        if connection.output.unsentCount < unsentBefore || !connection.hasUnsentOutput {
            connection.lastSendProgressMs = turnStartedMs
        }
        let finished = (connection.closeAfterFlush || connection.peerClosedInput) && connection.inFlight == 0
        if finished && !connection.hasUnsentOutput {
            closeConnection(connection.fd)
            return
        }
        var interest: UInt32 = 0
        let roomToRead = connection.inFlight < limits.pipelineDepthMax
            && connection.output.unsentCount < limits.outputBytesMax && mayTakeRequests(connection)
        if roomToRead && !connection.closeAfterFlush && !connection.peerClosedInput { interest |= EPOLLIN.rawValue }
        if connection.hasUnsentOutput { interest |= EPOLLOUT.rawValue }
        if interest != connection.interest {
            var event = epoll_event(events: interest, data: epoll_data_t(fd: connection.fd))
            epoll_ctl(epollFD, EPOLL_CTL_MOD, connection.fd, &event)
            connection.interest = interest
        }
    }

    /// Stops reading `connection`'s requests until the total unsent output drains below its limit.
    private func holdForTotalOutput(_ connection: ServerConnection) {
        if heldByTotalOutput.updateValue(connection, forKey: connection.fd) == nil {
            notice("throttled-total", "stopped reading requests from every connection until replies drain "
                + "(\(unsentOutput.bytes) bytes unsent in all, over the limit of \(limits.outputBytesTotalMax))")
        }
    }

    /// Serves the connections held by the total output limit once it has room again (at the end of this turn, so
    /// never from inside another connection's dispatch).
    private func resumeHeldConnectionsIfOutputDrained() {
        guard !heldByTotalOutput.isEmpty, unsentOutput.bytes < limits.outputBytesTotalMax else { return }
        let held = heldByTotalOutput
        heldByTotalOutput = [:]
        soon { [unowned self] in
            for (fd, connection) in held where connections[fd] === connection { serve(connection) }
        }
    }

    /// Tells `onLimitReached`, at most once per kind every `noticeIntervalMs`.
    private func notice(_ kind: String, _ text: String) {
        guard let onLimitReached else { return }
        let nowMs = MonotonicClock.nowMs()
        if let last = lastNotices[kind], nowMs - last.atMs < Self.noticeIntervalMs {
            lastNotices[kind]!.untold += 1
            return
        }
        let untold = lastNotices[kind]?.untold ?? 0
        lastNotices[kind] = (nowMs, 0)
        onLimitReached(untold == 0 ? text : text + " (and \(untold) more like it since the last such line)")
    }

    /// Why a new connection cannot be served; the refused peer reads `description` in an error reply.
    enum ConnectionRefusal: CustomStringConvertible {
        case atProcessLimit(Int)
        case atAddressLimit(host: String, limit: Int)

        var description: String {
            switch self {
            case .atProcessLimit(let limit):
                "server is at its limit of \(limit) connections; try again later"
            case .atAddressLimit(let host, let limit):
                "server is at its limit of \(limit) connections from \(host); close some and try again"
            }
        }
    }

    /// Why a new connection from `host` cannot be served, or nil when it can.
    private func connectionRefusal(from host: String) -> ConnectionRefusal? {
        if connections.count - reserveInUse >= limits.connectionsMax { return .atProcessLimit(limits.connectionsMax) }
        if connectionsByHost[host, default: 0] >= limits.connectionsPerHostMax {
            return .atAddressLimit(host: host, limit: limits.connectionsPerHostMax)
        }
        return nil
    }

    private func closeConnection(_ fd: Int32) {
        guard let closed = connections.removeValue(forKey: fd) else { return }
        if closed.isOnReserve {
            reserveInUse -= 1
        } else {
            connectionsByHost[closed.peerHost, default: 1] -= 1
            if connectionsByHost[closed.peerHost] == 0 { connectionsByHost[closed.peerHost] = nil }
        }
        closed.discardOutput()
        heldByTotalOutput[fd] = nil
        resumeHeldConnectionsIfOutputDrained()
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        close(fd)
    }

    /// Closes connections whose peer is too slow to finish a request, or idle for too long.
    private func closeTimedOutConnections() {
        let nowMs = MonotonicClock.nowMs()
        // A peer that reads none of its replies for a request timeout holds memory for nothing: closed, and said.
        for connection in Array(connections.values)
        where connection.hasUnsentOutput && nowMs - connection.lastSendProgressMs > Int64(limits.requestTimeoutMs) {
            notice("closed", "closed a connection from \(connection.peerHost) that read none of its replies "
                + "(\(connection.output.unsentCount) bytes) for \(limits.requestTimeoutMs / 1000) s")
            closeConnection(connection.fd)
        }
        for connection in Array(connections.values) where connection.inFlight == 0 {
            let waitingForRequest = connection.completedRequests == 0 || connection.decoder.hasPartialFrame
            let limitMs = waitingForRequest ? limits.requestTimeoutMs : limits.idleTimeoutMs
            if nowMs - connection.lastProgressMs > Int64(limitMs) { closeConnection(connection.fd) }
        }
    }

    // MARK: Peer channels (loop thread only)

    /// Takes on a new channel, and starts checking deadlines with the first one.
    func adopt(_ channel: PeerChannel) {
        if channels.isEmpty {
            every(ms: PeerChannel.deadlineCheckMs) { [unowned self] in
                let nowMs = MonotonicClock.nowMs()
                for channel in channels { channel.checkDeadline(nowMs: nowMs) }
            }
        }
        channels.append(channel)
    }

    func watch(_ fd: Int32, for channel: PeerChannel, events: UInt32) {
        channelsByFD[fd] = channel
        register(fd, events: events)
    }

    func changeInterest(_ fd: Int32, to events: UInt32) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func forget(_ fd: Int32) {
        channelsByFD[fd] = nil
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    func scheduleFlush(_ channel: PeerChannel) {
        guard !channel.flushScheduled else { return }
        channel.flushScheduled = true
        channelsToFlush.append(channel)
    }

    /// Runs `work` on the loop thread at the end of this iteration, after every ready event was handled (work it
    /// adds runs in the same iteration too); call from the loop thread.
    public func soon(_ work: @escaping () -> Void) {
        deferred.append(work)
    }

    /// Runs deferred work, then writes every channel's queued requests, one `send` per channel.
    private func runDeferredAndFlushChannels() {
        while !deferred.isEmpty || !channelsToFlush.isEmpty {
            while !deferred.isEmpty {
                let work = deferred
                deferred = []
                for item in work { item() }
            }
            let flushing = channelsToFlush
            channelsToFlush = []
            for channel in flushing {
                channel.flushScheduled = false
                channel.flush()
            }
        }
    }

    // MARK: Loop plumbing

    private func register(_ fd: Int32, events: UInt32) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        let result = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
        precondition(result == 0, "epoll_ctl ADD failed: \(String(cString: strerror(errno)))")
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Applies work from other threads; returns true when the loop should stop.
    private func drainInbox() -> Bool {
        let taken = inbox.withLock { inbox -> Inbox in
            let taken = inbox
            inbox = Inbox()
            inbox.stopRequested = taken.stopRequested
            return taken
        }
        for reply in taken.replies {
            deliverOnLoop(reply.value, connectionID: reply.connectionID, sequence: reply.sequence)
        }
        for task in taken.tasks { task() }
        return taken.stopRequested
    }

    private func millisecondsUntilNextTimer() -> Int {
        let nowMs = MonotonicClock.nowMs()
        let nextDueMs = timers.map(\.dueMs).min() ?? nowMs + Int64(Self.loopWaitMsMax)
        return Int(max(0, min(Int64(Self.loopWaitMsMax), nextDueMs - nowMs)))
    }

    /// Runs the actions of every timer due, earliest first, after rescheduling the repeating ones and dropping the one-shot ones, so
    /// an action may add timers.
    private func runDueTimers() {
        let nowMs = MonotonicClock.nowMs()
        guard timers.contains(where: { $0.dueMs <= nowMs }) else { return }
        var due: [LoopTimer] = []
        var kept: [LoopTimer] = []
        for var timer in timers {
            guard timer.dueMs <= nowMs else {
                kept.append(timer)
                continue
            }
            due.append(timer)
            if let intervalMs = timer.intervalMs {
                timer.dueMs = nowMs + Int64(intervalMs)
                kept.append(timer)
            }
        }
        timers = kept
        // Earliest first, even when a slow turn of the loop finds several due at once.
        for timer in due.sorted(by: { $0.dueMs < $1.dueMs }) { timer.action() }
    }
}

/// Per-connection state of a `FrameServer`, confined to the loop thread.
final class ServerConnection {
    let fd: Int32
    let id: UInt64
    let peerHost: String
    var decoder: FrameDecoder
    /// Storage an emptied output buffer keeps for the next replies.
    static let outputCapacityKeptMax = 64 * 1024

    /// Encoded replies not yet written to the socket.
    var output = OutputBuffer()
    /// Sequence number the next request will get.
    private var nextRequestSequence: UInt64 = 0
    /// Sequence number of the next reply to write; later replies wait in `parked` until it is ready.
    private var nextReplySequence: UInt64 = 0
    private var parked: [UInt64: any FrameBody] = [:]
    var lastProgressMs: Int64
    /// When the kernel last took reply bytes from this connection (or it had none to send).
    var lastSendProgressMs: Int64
    var completedRequests = 0
    var interest: UInt32 = 0
    /// True after a fatal framing error: the error reply is the last thing this connection sends.
    var closeAfterFlush = false
    /// True after the peer shut its sending side; pending replies are still written.
    var peerClosedInput = false
    /// True while requests are being handed to the handler, so inline replies do not re-enter dispatch.
    var isDispatching = false
    /// Let in on the member reserve (`WireLimits.memberConnectionsReserved`), for good once set.
    let isOnReserve: Bool
    /// For a connection on the member reserve whose first request has not arrived: the refusal it gets if that
    /// request is not a member's.
    var probation: FrameServer.ConnectionRefusal?
    /// On a server with keys: the handshake after its hello, until the proof arrives.
    var handshake: Handshake.Responder?
    /// On a server with keys, once the handshake is done: what opens each request and seals each reply, and the
    /// role of the key it used.
    var seal: FrameSeal?
    var role: Role?
    /// The server's count of unsent bytes, kept in step with `output`.
    private let unsentOutput: OutputLedger

    init(fd: Int32, id: UInt64, peerHost: String, frameBytesMax: Int, unsentOutput: OutputLedger,
         probation: FrameServer.ConnectionRefusal?, nowMs: Int64) {
        self.fd = fd
        self.id = id
        self.peerHost = peerHost
        self.decoder = FrameDecoder(frameBytesMax: frameBytesMax)
        self.unsentOutput = unsentOutput
        self.isOnReserve = probation != nil
        self.probation = probation
        self.lastProgressMs = nowMs
        self.lastSendProgressMs = nowMs
    }

    var inFlight: Int { Int(nextRequestSequence - nextReplySequence) }
    var hasUnsentOutput: Bool { output.hasUnsent }

    func nextSequence() -> UInt64 {
        defer { nextRequestSequence += 1 }
        return nextRequestSequence
    }

    /// Queues `reply` for request `sequence`, writing out every reply that is now next in line.
    func accept<Body: FrameBody>(_ reply: Body, sequence: UInt64) {
        precondition(sequence >= nextReplySequence && sequence < nextRequestSequence, "reply for unknown request")
        if sequence != nextReplySequence {
            precondition(parked[sequence] == nil, "request answered twice")
            parked[sequence] = reply
            return
        }
        // The read-your-replies deadline counts from when there is something to read.
        if !output.hasUnsent { lastSendProgressMs = MonotonicClock.nowMs() }
        let unsentBefore = output.unsentCount
        append(reply)
        nextReplySequence += 1
        completedRequests += 1
        while !parked.isEmpty, let next = parked.removeValue(forKey: nextReplySequence) {
            append(next)
            nextReplySequence += 1
            completedRequests += 1
        }
        unsentOutput.bytes += output.unsentCount - unsentBefore
    }

    /// Frames `reply` onto the output, sealed once the connection has a seal.
    private func append(_ reply: some FrameBody) {
        guard seal != nil else { return FrameEncoder.append(reply, to: &output.bytes) }
        FrameEncoder.append(reply, to: &output.bytes) { body in seal!.nextCode(for: body) }
    }

    /// Writes what the kernel takes of the unsent replies.
    func send() -> OutputBuffer.SendResult {
        let unsentBefore = output.unsentCount
        let result = output.send(to: fd, capacityKeptMax: Self.outputCapacityKeptMax)
        unsentOutput.bytes -= unsentBefore - output.unsentCount
        return result
    }

    /// Gives up the unsent replies of a closed connection.
    func discardOutput() {
        unsentOutput.bytes -= output.unsentCount
        output = OutputBuffer()
    }
}

/// Unsent reply bytes across every connection of a server; loop thread only.
final class OutputLedger {
    var bytes = 0
}

struct LoopTimer {
    /// Nil for a timer that fires once.
    let intervalMs: Int?
    var dueMs: Int64
    let action: () -> Void
}

struct PendingReply {
    let value: any FrameBody
    let connectionID: UInt64
    let sequence: UInt64
}

struct Inbox {
    var replies: [PendingReply] = []
    var tasks: [@Sendable () -> Void] = []
    var stopRequested = false
}
