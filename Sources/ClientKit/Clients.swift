import Authentication
import Placement
import Transport
import Wire

/// Typed access to one server's classic, unreplicated commands.
public final class ServerClient {
    public let endpoint: EndpointClient

    public init(host: String, port: Int?, timeoutMs: Int, key: Key? = ConnectionCredentials.key) {
        endpoint = EndpointClient(host: host, candidatePorts: port.map { [$0] } ?? Array(DefaultPorts.server),
                                  timeoutMs: timeoutMs, key: key)
    }

    public func set(_ key: String, _ value: String) throws(ClientError) {
        let reply = try call(.set(key: key, value: value))
        guard reply == .ok else { throw .malformedReply("set: \(reply.json)") }
    }

    /// The value stored under `key`, or nil when the server has none.
    public func get(_ key: String) throws(ClientError) -> String? {
        switch try call(.get(key: key), idempotent: true) {
        case .value(let value): return value
        case .notFound: return nil
        case let reply: throw .malformedReply("get: \(reply.json)")
        }
    }

    public func print(_ words: [String]) throws(ClientError) {
        let reply = try call(.print(words: words))
        guard reply == .ok else { throw .malformedReply("print: \(reply.json)") }
    }

    public func queryAllKeys() throws(ClientError) -> [String] {
        guard case .keys(let keys, _) = try call(.queryAllKeys, idempotent: true) else {
            throw .malformedReply("query_all_keys reply has no \"result\" list")
        }
        return keys
    }

    /// Sends `request` and reads the reply; an error reply is thrown as `errorReply`.
    private func call(_ request: ServerRequest, idempotent: Bool = false) throws(ClientError) -> ServerReply {
        let json = try endpoint.call(request.json, idempotent: idempotent)
        let reply: ServerReply
        do throws(MalformedReply) {
            reply = try ServerReply(json)
        } catch {
            throw .malformedReply(error.description)
        }
        if case .error(let reason) = reply { throw ClientError(errorReply: reason) }
        return reply
    }
}

/// Typed access to the viewleader's commands.
public final class ViewLeaderClient {
    public let endpoint: EndpointClient

    public init(host: String, port: Int?, timeoutMs: Int, key: Key? = ConnectionCredentials.key) {
        endpoint = EndpointClient(host: host, candidatePorts: port.map { [$0] } ?? Array(DefaultPorts.viewLeader),
                                  timeoutMs: timeoutMs, key: key)
    }

    public func queryServers() throws(ClientError) -> ViewDescription {
        let reply = try endpoint.call(ViewLeaderRequest.queryServers.json, idempotent: true)
        try throwIfError(reply)
        do {
            return try ViewDescription(reply: reply)
        } catch {
            throw .malformedReply("query_servers: \(error)")
        }
    }

    public enum LockGetResult: Equatable, Sendable {
        case granted
        /// Queued; position 1 is next in line (nil from a viewleader that does not say).
        case waiting(position: Int?)
    }

    public func lockGet(_ lockID: String, requestor: String) throws(ClientError) -> LockGetResult {
        // Asking again is how a waiter keeps its place, so a repeated ask is harmless.
        let reply = try endpoint.call(ViewLeaderRequest.lockGet(lockID: lockID, requestor: requestor).json,
                                      idempotent: true)
        switch try Self.lockReply(reply) {
        case .granted: return .granted
        case .queued(let position): return .waiting(position: position)
        case .refused(let reason): throw ClientError(errorReply: reason)
        case .released, .unknown: throw .malformedReply("lock_get reply: \(reply)")
        }
    }

    /// True when the lock was released or the requestor left its queue; false when it had neither.
    public func lockRelease(_ lockID: String, requestor: String) throws(ClientError) -> Bool {
        let reply = try endpoint.call(ViewLeaderRequest.lockRelease(lockID: lockID, requestor: requestor).json)
        switch try Self.lockReply(reply) {
        case .released: return true
        case .unknown: return false
        case .refused(let reason): throw ClientError(errorReply: reason)
        case .granted, .queued: throw .malformedReply("lock_release reply: \(reply)")
        }
    }

    private static func lockReply(_ reply: JSONValue) throws(ClientError) -> LockReply {
        do throws(MalformedReply) {
            return try LockReply(reply)
        } catch {
            throw .malformedReply(error.description)
        }
    }
}

func throwIfError(_ reply: JSONValue) throws(ClientError) {
    if let message = Reply.errorMessage(in: reply) { throw ClientError(errorReply: message) }
}

extension ClientError {
    /// An error reply read as an outcome: a refusal of the key or its role (`AuthorityRefusal.isRefusal`), or any
    /// other error the peer explained.
    public init(errorReply message: String) {
        self = AuthorityRefusal.isRefusal(message) ? .refused(message) : .errorReply(message)
    }
}
