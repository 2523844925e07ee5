import Authentication
import Transport
import Wire

/// Talks to one process (a server or the viewleader) over a connection it keeps open and reuses.
///
/// Given a host without a port it tries the process's default port range in order and remembers the port that
/// answered. Before reusing the connection it checks that the peer has not closed it (servers drop idle
/// connections), so a request is not written into a dead connection. A request is never sent twice behind the
/// caller's back unless the caller says repeating it is harmless (`idempotent`).
public final class EndpointClient {
    public let host: String
    public let candidatePorts: [Int]
    public let timeoutMs: Int
    /// The key each connection authenticates with; nil for a process that takes no keys.
    public let key: Key?
    private var connection: FrameConnection?

    /// `key` defaults to the process's (`ConnectionCredentials`, set by `client --key-file`).
    public init(host: String, candidatePorts: [Int], timeoutMs: Int, key: Key? = ConnectionCredentials.key) {
        precondition(!candidatePorts.isEmpty, "at least one candidate port is needed")
        self.host = host
        self.candidatePorts = candidatePorts
        self.timeoutMs = timeoutMs
        self.key = key
    }

    /// "host:port" once connected, else the host and its candidate ports, for messages.
    public var endpointDescription: String {
        if let connection { return "\(connection.host):\(connection.port)" }
        if candidatePorts.count == 1 { return "\(host):\(candidatePorts[0])" }
        return "\(host) (ports \(candidatePorts.first!)-\(candidatePorts.last!))"
    }

    /// Sends `request` once and says what became of it: never sent, sent without a reply, or answered.
    public func send(_ request: JSONValue) -> SendOutcome {
        if let open = connection, open.peerHasClosed() { close() }
        if connection == nil {
            do {
                connection = try FrameConnection.connectFirst(host: host, ports: candidatePorts, timeoutMs: timeoutMs,
                                                              key: key)
            } catch .authentication(let reason) {
                return .refused(reason)
            } catch {
                return .neverSent("cannot reach \(endpointDescription): \(error)")
            }
        }
        let outcome = connection!.exchange(request, timeoutMs: timeoutMs)
        if case .answered = outcome { return outcome }
        close()
        return outcome
    }

    /// Sends `request` and returns the reply.
    ///
    /// When a reused connection breaks without a reply, an `idempotent` request (a read, or an ask the protocol
    /// lets a client repeat) is sent once more on a fresh connection: the peer may have dropped the connection
    /// just as it was reused. Any other request is not, since it may already have taken effect: the caller is
    /// told `.noReply`.
    public func call(_ request: JSONValue, idempotent: Bool = false) throws(ClientError) -> JSONValue {
        let reused = connection.map { $0.completedCalls > 0 } ?? false
        switch send(request) {
        case .answered(let reply):
            return reply
        case .neverSent(let detail):
            throw .unreachable(detail)
        case .refused(let reason):
            throw .refused(reason)
        case .mayHaveArrived(let detail):
            guard idempotent && reused else { throw .noReply(detail) }
        }
        switch send(request) {
        case .answered(let reply): return reply
        case .neverSent(let detail): throw .unreachable(detail)
        case .refused(let reason): throw .refused(reason)
        case .mayHaveArrived(let detail): throw .noReply(detail)
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }
}

/// Why a client call did not produce an answer.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request never reached a process: nothing listens at the address, or the connection failed before the
    /// request was written. It had no effect.
    case unreachable(String)
    /// The request was written but no reply came (the connection broke, or the deadline passed): it may or may
    /// not have taken effect.
    case noReply(String)
    /// The peer answered `{"status": "error"}`; carries its explanation.
    case errorReply(String)
    /// The peer refused this client's key, or its key's role for the request (an error reply beginning
    /// `authentication required:` or `authentication failed:`, or a failed handshake): no retry can help.
    case refused(String)
    /// The peer's reply lacks a field the client needs.
    case malformedReply(String)

    public var description: String {
        switch self {
        case .unreachable(let detail): return detail
        case .noReply(let detail): return "\(detail); the request may or may not have taken effect"
        case .errorReply(let message): return "the peer replied with an error: \(message)"
        case .refused(let reason): return "refused: \(reason)"
        case .malformedReply(let detail): return "unexpected reply: \(detail)"
        }
    }
}
