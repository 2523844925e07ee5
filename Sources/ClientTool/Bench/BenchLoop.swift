import Authentication
import CSystem
import Glibc
import Transport
import Wire

/// When a phase of a bench run counts replies and when it stops.
struct BenchWindow: Sendable {
    /// Replies arriving from here on are measured; earlier ones are warm-up.
    let measureFromNs: UInt64
    /// No request is sent after this; the phase ends here at the latest.
    let endNs: UInt64
}

/// One load-generator thread: an epoll loop driving its share of the logical clients.
///
/// This is the bench's shell; it decides nothing the pure parts do not. Each client keeps `pipelineDepth`
/// requests in flight; when a reply arrives the client draws the next request from the thread's workload and
/// queues it on the socket to its destination, and each batch of events ends with one write per socket that
/// has output. Time is read with one clock call per event. The loop ends at the window's end, or, for a finite
/// workload (prefill), once every request has been answered or has failed.
final class BenchLoop {
    /// Longest sleep in epoll, so timeouts, reconnects and the end of the window are noticed promptly.
    static let tickMs: Int32 = 10
    /// Pause before connecting again to a destination that refused a connection.
    static let reconnectBackoffNs: UInt64 = 100_000_000
    /// Least time between two view fetches after refusals, so a changing cluster is not flooded.
    static let viewRefreshIntervalNs: UInt64 = 100_000_000
    /// Bytes read per system call.
    static let readChunkBytes = 64 * 1024
    /// Events taken from epoll per wait.
    static let eventsPerWaitMax = 256

    private struct Client {
        /// Global client number, used in lock requestor names.
        let number: Int
        var inFlight = 0
        /// A request drawn but not sent because its destination is backing off; sent first when it is ready.
        var pending: (kind: BenchRequestKind, key: Int)?
        /// The lock this client asked for last, released by its next request.
        var lockToRelease: Int?
    }

    private let configuration: BenchConfiguration
    private let pipelineDepth: Int
    private let window: BenchWindow
    private let encoder: BenchRequestEncoder
    private let frameBytesMax = WireLimits().frameBytesMax
    private let fetchView: (BenchRouting) -> BenchRouting?
    private var workload: BenchWorkload
    private var workloadExhausted = false
    private var routing: BenchRouting
    /// Socket column of each of `routing`'s destinations; columns outlive view changes, keyed by address.
    private var columnOfDestination: [Int] = []
    private var columnOfAddress: [String: Int] = [:]
    private var addressOfColumn: [SocketAddress?] = []
    private var clients: [Client]
    /// `socketsOfClient[client][column]`.
    private var socketsOfClient: [[BenchSocket]]
    private var sockets: [BenchSocket] = []
    private var flushQueue: [BenchSocket] = []
    private var needsViewRefresh = false
    private var nextViewRefreshNs: UInt64 = 0
    private var readScratch = [UInt8](repeating: 0, count: BenchLoop.readChunkBytes)
    private let epollFD: Int32
    private(set) var tally = BenchTally()

    init(configuration: BenchConfiguration, pipelineDepth: Int, window: BenchWindow, workload: BenchWorkload,
         routing: BenchRouting, clientNumbers: Range<Int>, fetchView: @escaping (BenchRouting) -> BenchRouting?)
    {
        precondition(!clientNumbers.isEmpty, "a loop drives at least one client")
        self.configuration = configuration
        self.pipelineDepth = pipelineDepth
        self.window = window
        self.workload = workload
        self.routing = routing
        self.fetchView = fetchView
        encoder = BenchRequestEncoder(value: BenchWorkload.value(bytes: configuration.valueBytes,
                                                                 seed: configuration.seed))
        clients = clientNumbers.map { Client(number: $0) }
        socketsOfClient = Array(repeating: [], count: clientNumbers.count)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll is required: \(String(cString: strerror(errno)))")
        adopt(routing)
    }

    deinit {
        for socket in sockets where socket.fd >= 0 { Glibc.close(socket.fd) }
        Glibc.close(epollFD)
    }

    /// Runs the phase to its end and returns what it counted.
    func run() -> BenchTally {
        let startNs = MonotonicClock.nowNs()
        for client in clients.indices { refill(client, nowNs: startNs) }
        flushQueued()
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWaitMax)
        var nextTickNs = startNs + UInt64(Self.tickMs) * 1_000_000
        while true {
            let nowNs = MonotonicClock.nowNs()
            if nowNs >= window.endNs || isFinished { break }
            let untilEndMs = Int32(clamping: (window.endNs - nowNs) / 1_000_000 + 1)
            let ready = epoll_wait(epollFD, &events, Int32(events.count), min(Self.tickMs, untilEndMs))
            if ready < 0 && errno != EINTR { fatalError("epoll_wait failed: \(String(cString: strerror(errno)))") }
            for index in 0..<max(0, Int(ready)) {
                let event = events[index]
                handle(event.events, on: sockets[Int(event.data.u64)])
            }
            let afterNs = MonotonicClock.nowNs()
            if afterNs >= nextTickNs {
                tick(nowNs: afterNs)
                nextTickNs = afterNs + UInt64(Self.tickMs) * 1_000_000
            }
            flushQueued()
        }
        for socket in sockets where socket.state != .closed { close(socket) }
        return tally
    }

    /// A finite workload is done when every request was drawn and none is in flight or waiting to be sent.
    private var isFinished: Bool {
        workloadExhausted && clients.allSatisfy { $0.inFlight == 0 && $0.pending == nil && $0.lockToRelease == nil }
    }

    // MARK: Sending

    /// Sends the client's next requests until its pipeline is full, the window closes or the workload runs out.
    private func refill(_ client: Int, nowNs: UInt64) {
        while clients[client].inFlight < pipelineDepth && nowNs < window.endNs {
            let request: (kind: BenchRequestKind, key: Int)
            if let pending = clients[client].pending {
                request = pending
                clients[client].pending = nil
            } else if let lock = clients[client].lockToRelease {
                request = (.lockRelease, lock)
                clients[client].lockToRelease = nil
            } else if let next = workload.next() {
                request = next
                if next.kind == .lockGet { clients[client].lockToRelease = next.key }
            } else {
                workloadExhausted = true
                return
            }
            guard send(request, from: client, nowNs: nowNs) else { return }
        }
    }

    /// Queues one request on the socket to its destination, connecting first if needed. False when the client
    /// must wait: its destination is backing off after a failed connect.
    private func send(_ request: (kind: BenchRequestKind, key: Int), from client: Int, nowNs: UInt64) -> Bool {
        let column = columnOfDestination[request.kind.isReplicated ? routing.destination(ofKey: request.key) : 0]
        let socket = self.socket(client: client, column: column)
        if socket.state == .closed {
            if nowNs < socket.reconnectNotBeforeNs {
                clients[client].pending = request
                return false
            }
            guard open(socket, column: column, nowNs: nowNs) else { return true }
        }
        let frameStart = socket.output.bytes.count
        encoder.append(request.kind, key: request.key, epoch: routing.epoch, client: clients[client].number,
                       to: &socket.output.bytes)
        if socket.seal != nil {
            FrameEncoder.appendTrailer(toFrameAt: frameStart, in: &socket.output.bytes) { body in
                socket.seal!.nextCode(for: body)
            }
        }
        socket.push(request.kind, startNs: nowNs)
        clients[client].inFlight += 1
        if socket.state == .open { queueFlush(socket) }
        return true
    }

    private func socket(client: Int, column: Int) -> BenchSocket {
        while socketsOfClient[client].count <= column {
            let socket = BenchSocket(id: sockets.count, client: client, capacity: pipelineDepth,
                                     frameBytesMax: frameBytesMax)
            sockets.append(socket)
            socketsOfClient[client].append(socket)
        }
        return socketsOfClient[client][column]
    }

    /// Starts connecting; on an immediate failure counts one `connect_failed` (the request is dropped) and
    /// backs off. Returns whether the socket is now connecting or open.
    private func open(_ socket: BenchSocket, column: Int, nowNs: UInt64) -> Bool {
        do throws(SocketError) {
            guard let address = addressOfColumn[column] else {
                let address = columnOfAddress.first { $0.value == column }?.key ?? "?"
                throw .unresolvable(host: address, reason: "not a HOST:PORT address")
            }
            let fd: Int32
            let connected: Bool
            if let key = ConnectionCredentials.key {
                // With a key, the handshake is done before the loop takes the socket: a few round trips per
                // connection, outside the measured requests, which then travel sealed.
                let name = columnOfAddress.first { $0.value == column }?.key ?? "?"
                guard let (host, port) = splitAddress(name) else {
                    throw .unresolvable(host: name, reason: "not a HOST:PORT address")
                }
                (fd, socket.seal) = try FrameConnection(host: host, port: port, timeoutMs: configuration.timeoutMs,
                                                        key: key).detach()
                connected = true
            } else {
                (fd, connected) = try Socket.startConnecting(to: address)
            }
            socket.fd = fd
            socket.state = connected ? .open : .connecting
            socket.interest = connected ? EPOLLIN.rawValue : EPOLLOUT.rawValue
            var event = epoll_event(events: socket.interest, data: epoll_data_t(u64: UInt64(socket.id)))
            let result = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
            precondition(result == 0, "epoll_ctl ADD failed: \(String(cString: strerror(errno)))")
            return true
        } catch {
            tally.countError(.connectFailed, error.description)
            socket.reconnectNotBeforeNs = nowNs + Self.reconnectBackoffNs
            return false
        }
    }

    private func queueFlush(_ socket: BenchSocket) {
        guard !socket.isQueuedForFlush else { return }
        socket.isQueuedForFlush = true
        flushQueue.append(socket)
    }

    /// Writes every queued socket's output; a socket that fails is closed and its client refilled, which may
    /// queue more sockets, so the queue is walked by index.
    private func flushQueued() {
        var index = 0
        while index < flushQueue.count {
            let socket = flushQueue[index]
            socket.isQueuedForFlush = false
            flush(socket)
            index += 1
        }
        flushQueue.removeAll(keepingCapacity: true)
    }

    private func flush(_ socket: BenchSocket) {
        guard socket.state == .open else { return }
        if case .failed(let error) = socket.output.send(to: socket.fd) {
            fail(socket, .connectionClosed, "sending: \(String(cString: strerror(error)))")
            return
        }
        setInterest(socket, EPOLLIN.rawValue | (socket.hasUnsentOutput ? EPOLLOUT.rawValue : 0))
    }

    private func setInterest(_ socket: BenchSocket, _ interest: UInt32) {
        guard interest != socket.interest else { return }
        var event = epoll_event(events: interest, data: epoll_data_t(u64: UInt64(socket.id)))
        epoll_ctl(epollFD, EPOLL_CTL_MOD, socket.fd, &event)
        socket.interest = interest
    }

    // MARK: Receiving

    private func handle(_ events: UInt32, on socket: BenchSocket) {
        switch socket.state {
        case .closed:
            return
        case .connecting:
            let code = Socket.pendingError(socket.fd)
            guard code == 0 else {
                fail(socket, .connectFailed, "cannot connect: \(String(cString: strerror(code)))",
                     backoff: true)
                return
            }
            socket.state = .open
            queueFlush(socket)
        case .open:
            if events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { readReplies(socket) }
            if socket.state == .open && events & EPOLLOUT.rawValue != 0 { queueFlush(socket) }
        }
    }

    private func readReplies(_ socket: BenchSocket) {
        let count = readScratch.withUnsafeMutableBytes { read(socket.fd, $0.baseAddress, $0.count) }
        if count == 0 {
            fail(socket, .connectionClosed, "the peer closed the connection")
            return
        }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            fail(socket, .connectionClosed, "reading: \(String(cString: strerror(errno)))")
            return
        }
        readScratch.withUnsafeBytes { socket.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        let nowNs = MonotonicClock.nowNs()
        let client = socket.client
        while socket.inFlight > 0 {
            let frame: ArraySlice<UInt8>?
            do {
                frame = try socket.decoder.nextFrame()
            } catch {
                fail(socket, .unexpectedReply, error.description)
                return
            }
            guard var frame else { break }
            if socket.seal != nil {
                do throws(SealError) {
                    frame = try socket.seal!.open(frame)
                } catch {
                    fail(socket, .unexpectedReply, "authentication failed: \(error)")
                    return
                }
            }
            let request = socket.pop()
            clients[client].inFlight -= 1
            record(BenchVerdict(reply: BenchReply.classify(frame), to: request.kind),
                  latencyNs: nowNs - request.startNs, nowNs: nowNs)
        }
        if socket.inFlight == 0 && socket.decoder.hasPartialFrame {
            fail(socket, .unexpectedReply, "a reply arrived for no request")
            return
        }
        if configuration.newConnectionPerRequest && socket.inFlight == 0 { close(socket) }
        refill(client, nowNs: nowNs)
    }

    private func record(_ verdict: BenchVerdict, latencyNs: UInt64, nowNs: UInt64) {
        switch verdict {
        case .completed(let outcome):
            if nowNs >= window.measureFromNs && nowNs < window.endNs {
                tally.countCompleted(outcome, latencyNs: latencyNs)
            }
        case .failed(let kind, let message):
            tally.countError(kind, message)
            if kind.callsForViewRefresh { needsViewRefresh = true }
        }
    }

    // MARK: Failures and timers

    /// Closes `socket`, counting each request in flight on it as an error of `kind`, and refills its client.
    private func fail(_ socket: BenchSocket, _ kind: BenchErrorKind, _ message: String, backoff: Bool = false) {
        let lost = socket.inFlight
        tally.countError(kind, message, times: UInt64(max(lost, kind == .connectFailed ? 1 : 0)))
        clients[socket.client].inFlight -= lost
        close(socket)
        let nowNs = MonotonicClock.nowNs()
        if backoff { socket.reconnectNotBeforeNs = nowNs + Self.reconnectBackoffNs }
        refill(socket.client, nowNs: nowNs)
    }

    private func close(_ socket: BenchSocket) {
        guard socket.fd >= 0 else { return }
        epoll_ctl(epollFD, EPOLL_CTL_DEL, socket.fd, nil)
        Glibc.close(socket.fd)
        socket.reset(frameBytesMax: frameBytesMax)
    }

    /// Times out requests, sends what waited for a backoff, and fetches the view after refusals.
    private func tick(nowNs: UInt64) {
        let timeoutNs = UInt64(configuration.timeoutMs) * 1_000_000
        // A failure below refills clients with a fresher clock, so a request may be younger than `nowNs`.
        for socket in sockets where socket.inFlight > 0 && nowNs > socket.oldestStartNs + timeoutNs {
            fail(socket, .timeout, "no reply within \(configuration.timeoutMs) ms")
        }
        if needsViewRefresh && nowNs >= nextViewRefreshNs {
            needsViewRefresh = false
            nextViewRefreshNs = nowNs + Self.viewRefreshIntervalNs
            tally.viewRefreshes += 1
            if let fresh = fetchView(routing) {
                adopt(fresh)
            } else {
                tally.countError(.viewUnavailable, "cannot fetch the view from the viewleader")
            }
        }
        for client in clients.indices where clients[client].pending != nil { refill(client, nowNs: nowNs) }
    }

    /// Switches to `fresh` routing, giving each new destination address a socket column.
    private func adopt(_ fresh: BenchRouting) {
        routing = fresh
        columnOfDestination = fresh.destinations.map { address in
            if let column = columnOfAddress[address] { return column }
            let column = addressOfColumn.count
            columnOfAddress[address] = column
            addressOfColumn.append(splitAddress(address).flatMap { try? Socket.resolve(host: $0.host, port: $0.port) })
            return column
        }
    }
}
