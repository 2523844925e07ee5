import Wire

/// Talks to one process (a server or the viewleader) over a connection it keeps open and reuses.
///
/// Given a host without a port it tries the process's default port range in order and remembers the port that
/// answered. A request that fails on a reused connection before any reply arrived is sent once more on a fresh
/// one: the peer may simply have closed an idle connection, and every classic command is safe to repeat.
public final class EndpointClient {
    public let host: String
    public let candidatePorts: [Int]
    public let timeoutMs: Int
    private var connection: FrameConnection?

    public init(host: String, candidatePorts: [Int], timeoutMs: Int) {
        precondition(!candidatePorts.isEmpty, "at least one candidate port is needed")
        self.host = host
        self.candidatePorts = candidatePorts
        self.timeoutMs = timeoutMs
    }

    /// "host:port" once connected, else the host and its candidate ports, for messages.
    public var endpointDescription: String {
        if let connection { return "\(connection.host):\(connection.port)" }
        if candidatePorts.count == 1 { return "\(host):\(candidatePorts[0])" }
        return "\(host) (ports \(candidatePorts.first!)-\(candidatePorts.last!))"
    }

    /// Sends `request` and returns the reply.
    public func call(_ request: JSONValue) throws(ClientError) -> JSONValue {
        let reused = connection?.isOpen == true && connection!.completedCalls > 0
        do {
            return try attempt(request)
        } catch SocketError.closed where reused {
            return try attemptOnce(request)
        } catch {
            throw translate(error)
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }

    private func attemptOnce(_ request: JSONValue) throws(ClientError) -> JSONValue {
        do {
            return try attempt(request)
        } catch {
            throw translate(error)
        }
    }

    private func attempt(_ request: JSONValue) throws(SocketError) -> JSONValue {
        if connection == nil || !connection!.isOpen {
            connection = try FrameConnection.connectFirst(host: host, ports: candidatePorts, timeoutMs: timeoutMs)
        }
        do {
            return try connection!.call(request, timeoutMs: timeoutMs)
        } catch {
            connection?.close()
            connection = nil
            throw error
        }
    }

    private func translate(_ error: SocketError) -> ClientError {
        switch error {
        case .timedOut(let what): return .timedOut("\(what) (no reply within \(timeoutMs) ms)")
        default: return .unreachable("\(endpointDescription): \(error)")
        }
    }
}

/// Why a client call did not produce an answer.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing answered at the address: the process is not running, or the address is wrong.
    case unreachable(String)
    /// The request was sent but no reply came in time; it may or may not have taken effect.
    case timedOut(String)
    /// The peer answered `{"status": "error"}`; carries its explanation.
    case errorReply(String)
    /// The peer's reply lacks a field the client needs.
    case malformedReply(String)

    public var description: String {
        switch self {
        case .unreachable(let detail): return "cannot reach \(detail)"
        case .timedOut(let detail): return "\(detail); the outcome is unknown"
        case .errorReply(let message): return "the peer replied with an error: \(message)"
        case .malformedReply(let detail): return "unexpected reply: \(detail)"
        }
    }
}
