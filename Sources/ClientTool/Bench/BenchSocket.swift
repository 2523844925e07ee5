import Authentication
import Transport
import Wire

/// One connection of a load-generator thread: from one logical client to one destination.
///
/// Confined to its thread's `BenchLoop`. Replies on a connection come back in request order, so the requests in
/// flight are a FIFO; it holds at most the client's pipeline depth, so it is a fixed ring buffer.
final class BenchSocket {
    enum State: Equatable {
        case closed
        /// A non-blocking connect is under way; requests wait in `output` until it completes.
        case connecting
        case open
    }

    /// Index among the loop's sockets; also the epoll token.
    let id: Int
    /// Index of the owning client within the loop.
    let client: Int
    var state = State.closed
    var fd: Int32 = -1
    var decoder: FrameDecoder
    /// Encoded requests not yet written.
    var output = OutputBuffer()
    /// Events epoll is asked to report for `fd`.
    var interest: UInt32 = 0
    /// No new connection before this monotonic time, after a connect failed.
    var reconnectNotBeforeNs: UInt64 = 0
    /// True while the socket is on the loop's list of sockets to flush.
    var isQueuedForFlush = false
    /// On a cluster with keys: seals each request and opens each reply.
    var seal: FrameSeal?

    private var kinds: [BenchRequestKind]
    private var startsNs: [UInt64]
    private var head = 0
    /// Requests written (or queued to write) and not yet answered.
    private(set) var inFlight = 0

    init(id: Int, client: Int, capacity: Int, frameBytesMax: Int) {
        precondition(capacity > 0, "a socket holds at least one request in flight")
        self.id = id
        self.client = client
        decoder = FrameDecoder(frameBytesMax: frameBytesMax)
        kinds = [BenchRequestKind](repeating: .get, count: capacity)
        startsNs = [UInt64](repeating: 0, count: capacity)
    }

    var hasUnsentOutput: Bool { output.hasUnsent }

    /// Records a request queued at `startNs`.
    func push(_ kind: BenchRequestKind, startNs: UInt64) {
        precondition(inFlight < kinds.count, "more requests in flight than the pipeline depth")
        let slot = (head + inFlight) % kinds.count
        kinds[slot] = kind
        startsNs[slot] = startNs
        inFlight += 1
    }

    /// Removes the oldest request in flight, which the next reply answers.
    func pop() -> (kind: BenchRequestKind, startNs: UInt64) {
        precondition(inFlight > 0, "a reply arrived with no request in flight")
        let oldest = (kinds[head], startsNs[head])
        head = (head + 1) % kinds.count
        inFlight -= 1
        return oldest
    }

    /// Queue time of the oldest request in flight; meaningless when none is.
    var oldestStartNs: UInt64 { startsNs[head] }

    /// Forgets the connection's state after it was closed: buffered bytes and requests in flight.
    func reset(frameBytesMax: Int) {
        state = .closed
        fd = -1
        seal = nil
        decoder = FrameDecoder(frameBytesMax: frameBytesMax)
        output.reset()
        interest = 0
        head = 0
        inFlight = 0
    }
}
