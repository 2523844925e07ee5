import Placement
import Wire

/// Typed access to one server's classic, unreplicated commands.
public final class ServerClient {
    public let endpoint: EndpointClient

    public init(host: String, port: Int?, timeoutMs: Int) {
        endpoint = EndpointClient(host: host, candidatePorts: port.map { [$0] } ?? Array(DefaultPorts.server),
                                  timeoutMs: timeoutMs)
    }

    public func set(_ key: String, _ value: String) throws(ClientError) {
        try expectOK(endpoint.call(ServerRequest.set(key: key, value: value).json))
    }

    /// The value stored under `key`, or nil when the server has none.
    public func get(_ key: String) throws(ClientError) -> String? {
        let reply = try endpoint.call(ServerRequest.get(key: key).json, idempotent: true)
        if reply.objectValue?["status"]?.stringValue == "not_found" { return nil }
        try expectOK(reply)
        guard let value = reply.objectValue?["value"]?.stringValue else {
            throw .malformedReply("get reply has no \"value\": \(reply)")
        }
        return value
    }

    public func print(_ words: [String]) throws(ClientError) {
        try expectOK(endpoint.call(ServerRequest.print(words: words).json))
    }

    public func queryAllKeys() throws(ClientError) -> [String] {
        let reply = try endpoint.call(ServerRequest.queryAllKeys.json, idempotent: true)
        try throwIfError(reply)
        guard let keys = reply.objectValue?["result"]?.arrayValue?.compactMap(\.stringValue) else {
            throw .malformedReply("query_all_keys reply has no \"result\" list: \(reply)")
        }
        return keys
    }
}

/// A live server as `query_servers` reports it.
public struct ServerInfo: Equatable, Sendable {
    public let id: String
    public let address: String

    public init(id: String, address: String) {
        self.id = id
        self.address = address
    }
}

/// The view: the epoch and the servers alive in it.
public struct View: Equatable, Sendable {
    public let epoch: Int64
    public let servers: [ServerInfo]
    /// Ring size announced by the viewleader.
    public var ringSize: Int = HashRing.defaultRingSize

    /// The ring this view places keys on.
    public var ring: HashRing { HashRing(memberIDs: servers.map(\.id), ringSize: ringSize) }

    public init(epoch: Int64, servers: [ServerInfo], ringSize: Int = HashRing.defaultRingSize) {
        self.epoch = epoch
        self.servers = servers
        self.ringSize = ringSize
    }

    /// The view a `query_servers` reply describes.
    public init(_ description: ViewDescription) {
        self.init(epoch: description.epoch,
                  servers: description.servers.map { ServerInfo(id: $0.id, address: $0.address) },
                  ringSize: description.ringSize)
    }

    public func address(of id: String) -> String? { servers.first { $0.id == id }?.address }
}

/// Typed access to the viewleader's commands.
public final class ViewLeaderClient {
    public let endpoint: EndpointClient

    public init(host: String, port: Int?, timeoutMs: Int) {
        endpoint = EndpointClient(host: host, candidatePorts: port.map { [$0] } ?? Array(DefaultPorts.viewLeader),
                                  timeoutMs: timeoutMs)
    }

    public func queryServers() throws(ClientError) -> View {
        let reply = try endpoint.call(ViewLeaderRequest.queryServers.json, idempotent: true)
        try throwIfError(reply)
        do {
            return View(try ViewDescription(reply: reply))
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
        case .refused(let reason): throw .errorReply(reason)
        case .released, .unknown: throw .malformedReply("lock_get reply: \(reply)")
        }
    }

    /// True when the lock was released or the requestor left its queue; false when it had neither.
    public func lockRelease(_ lockID: String, requestor: String) throws(ClientError) -> Bool {
        let reply = try endpoint.call(ViewLeaderRequest.lockRelease(lockID: lockID, requestor: requestor).json)
        switch try Self.lockReply(reply) {
        case .released: return true
        case .unknown: return false
        case .refused(let reason): throw .errorReply(reason)
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
    guard reply.objectValue?["status"]?.stringValue == "error" else { return }
    throw .errorReply(reply.objectValue?["error"]?.stringValue ?? "no explanation given")
}

func expectOK(_ reply: JSONValue) throws(ClientError) {
    try throwIfError(reply)
    guard reply.objectValue?["status"]?.stringValue == "ok" else { throw .malformedReply("\(reply)") }
}
