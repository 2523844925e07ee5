/// The bounds every connection lives within, gathered so their relations can be checked in one place.
///
/// Each limit is named with its unit last. The defaults suit a store on one machine or a small cluster;
/// the executables expose the ones an operator may need to change.
public struct WireLimits: Sendable, Equatable {
    /// Largest frame body accepted, in bytes. A larger declared length closes the connection, since the stream
    /// cannot be resynchronised after skipping an unknown number of bytes.
    public var frameBytesMax: Int = 1 << 20
    /// Time a peer has to deliver a whole request, counted from connecting or from its last completed request.
    /// Guards against peers that connect and send nothing, or half a frame.
    public var requestTimeoutMs: Int = 10_000
    /// Time a connection may sit idle between complete requests, with nothing in flight, before it is closed.
    public var idleTimeoutMs: Int = 300_000
    /// Requests a single connection may have in flight (pipelined) before the server stops reading from it.
    public var pipelineDepthMax: Int = 1_024
    /// Unsent reply bytes a connection may queue before the server stops reading from it until they drain.
    public var outputBytesMax: Int = 4 << 20
    /// Unsent reply bytes all connections together may queue: past it no connection's next request is read until
    /// some replies drain, so thousands of peers that read nothing hold this much at most, not thousands of times
    /// `outputBytesMax` (a peer that reads nothing for `requestTimeoutMs` is closed anyway).
    public var outputBytesTotalMax: Int = 256 << 20
    /// Connections served at once. At the limit, a new connection takes the slot of one that has completed no
    /// request for `stalledSlotMs` (the longest-stalled); when there is none, it is answered with an error and
    /// closed.
    public var connectionsMax: Int = 4_096
    /// Connections from one address at once, so one host cannot take every slot; at the limit a new one takes
    /// the slot of that host's longest-stalled connection, or is refused. Above the benchmark's 1000.
    public var connectionsPerHostMax: Int = 2_048
    /// Slots kept for other members of the cluster (servers' peer connections, heartbeats) beyond the client
    /// limits: a connection that would be refused at `connectionsMax` or `connectionsPerHostMax` is let in on
    /// probation while fewer than this many are, and kept only if its first request is a member's (the handler
    /// says which, `FrameServer.isMemberRequest`); anything else gets the refusal it would have had.
    public var memberConnectionsReserved: Int = 256
    /// How long a connection may make no progress (no complete request, nothing in flight) before a new
    /// connection may take its slot at the limit.
    public var stalledSlotMs: Int = 1_000

    public init() {}

    /// Checks the relations between limits; a violation is a programming or configuration error.
    public func validate() throws(WireLimitsError) {
        guard frameBytesMax >= 64 && frameBytesMax <= Int(Int32.max) else {
            throw .invalid("frame limit must be between 64 bytes and 2 GiB, got \(frameBytesMax)")
        }
        guard requestTimeoutMs > 0, idleTimeoutMs > 0 else {
            throw .invalid("timeouts must be positive")
        }
        guard pipelineDepthMax > 0, outputBytesMax >= frameBytesMax, outputBytesTotalMax >= outputBytesMax,
              connectionsMax > 0, connectionsPerHostMax > 0, memberConnectionsReserved >= 0
        else {
            throw .invalid("pipeline depth and connection counts must be positive, a connection's output must hold a "
                + "frame and the total output a connection's")
        }
    }
}

public enum WireLimitsError: Error, Equatable, CustomStringConvertible {
    /// A limit is out of range or inconsistent with another.
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let text): return text
        }
    }
}
