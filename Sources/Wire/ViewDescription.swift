/// The view as `query_servers` describes it: the epoch, the ring size and each live server. The viewleader writes
/// it (`json`); servers (which adopt views, indexed as `ServerView`) and clients (which route by it) read it
/// (`init(reply:)`), so every side means the same thing by each field.
public struct ViewDescription: Equatable, Sendable {
    public struct Server: Equatable, Sendable {
        public let id: String
        /// "host:port" where the server listens.
        public let address: String
        /// Highest epoch this server has fully synced to; -1 when unknown.
        public let syncedEpoch: Int64
        /// The server's position on the ring, for people reading the view; nil when the viewleader did not say.
        public let position: Int?
        /// Milliseconds since the viewleader last heard from the server; nil when it did not say.
        public let lastHeartbeatAgeMs: Int64?

        public init(id: String, address: String, syncedEpoch: Int64 = -1, position: Int? = nil,
                    lastHeartbeatAgeMs: Int64? = nil) {
            self.id = id
            self.address = address
            self.syncedEpoch = syncedEpoch
            self.position = position
            self.lastHeartbeatAgeMs = lastHeartbeatAgeMs
        }
    }

    /// An address no server may join from yet: the one there was excluded because a peer could not reach it
    /// (see PROTOCOL.md, "Partial partitions").
    public struct Quarantine: Equatable, Sendable {
        public let address: String
        public let remainingMs: Int64

        public init(address: String, remainingMs: Int64) {
            self.address = address
            self.remainingMs = remainingMs
        }
    }

    /// Most quarantined addresses a reply lists (the soonest to end first), so the largest view still fits a frame.
    public static let quarantinesListedMax = 100

    public let epoch: Int64
    public let ringSize: Int
    public let servers: [Server]
    /// Addresses in quarantine now; empty when the viewleader did not say.
    public let quarantined: [Quarantine]
    /// The member being excluded because a peer cannot reach it, if any.
    public let excluding: String?
    /// Standing reports of members that cannot reach another (`suspect`), not yet decided on.
    public let suspicions: Int

    public init(epoch: Int64, ringSize: Int = RingSize.classic, servers: [Server], quarantined: [Quarantine] = [],
                excluding: String? = nil, suspicions: Int = 0) {
        self.epoch = epoch
        self.ringSize = ringSize
        self.servers = servers
        self.excluding = excluding
        self.suspicions = suspicions
        self.quarantined = Array(quarantined.sorted { $0.remainingMs < $1.remainingMs }
            .prefix(Self.quarantinesListedMax))
    }

    /// Reads a `query_servers` reply.
    public init(reply: JSONValue) throws(RequestError) {
        guard let fields = reply.objectValue else { throw .notAnObject }
        guard let epoch = fields["epoch"]?.integerValue else { throw .missingField("epoch") }
        guard let list = fields["servers"]?.arrayValue else { throw .missingField("servers") }
        let ringSize = fields["ring_size"]?.integerValue ?? Int64(RingSize.classic)
        guard RingSize.allowed.contains(Int(clamping: ringSize)) else {
            let allowed = RingSize.allowed
            throw .outOfRange(field: "ring_size", range: "\(allowed.lowerBound)...\(allowed.upperBound)")
        }
        var servers: [Server] = []
        for entry in list {
            guard let server = entry.objectValue, let id = server["id"]?.stringValue,
                  let address = server["address"]?.stringValue
            else { throw .wrongType(field: "servers", expected: "a list of objects with id and address") }
            servers.append(Server(id: id, address: address, syncedEpoch: server["synced_epoch"]?.integerValue ?? -1,
                                  position: server["position"]?.integerValue.map { Int(clamping: $0) },
                                  lastHeartbeatAgeMs: server["last_heartbeat_age_ms"]?.integerValue))
        }
        let quarantined = (fields["quarantined"]?.arrayValue ?? []).prefix(Self.quarantinesListedMax).compactMap {
            entry -> Quarantine? in
            guard let fields = entry.objectValue, let address = fields["address"]?.stringValue,
                  let remainingMs = fields["remaining_ms"]?.integerValue else { return nil }
            return Quarantine(address: address, remainingMs: remainingMs)
        }
        self.init(epoch: epoch, ringSize: Int(ringSize), servers: servers, quarantined: quarantined,
                  excluding: fields["excluding"]?.stringValue,
                  suspicions: Int(clamping: fields["suspicions"]?.integerValue ?? 0))
    }

    /// The `query_servers` reply: `result` lists the addresses (what classic clients read), `servers` the rest.
    public var json: JSONValue {
        let described: [JSONValue] = servers.map { server in
            var fields: JSONObject = ["id": .string(server.id), "address": .string(server.address)]
            if let position = server.position { fields["position"] = .integer(Int64(position)) }
            fields["synced_epoch"] = .integer(server.syncedEpoch)
            if let age = server.lastHeartbeatAgeMs { fields["last_heartbeat_age_ms"] = .integer(age) }
            return .object(fields)
        }
        var reply: JSONObject = [
            "result": .array(servers.map { .string($0.address) }),
            "epoch": .integer(epoch),
            "ring_size": .integer(Int64(ringSize)),
            "servers": .array(described),
        ]
        if let excluding { reply["excluding"] = .string(excluding) }
        if suspicions > 0 { reply["suspicions"] = .integer(Int64(suspicions)) }
        if !quarantined.isEmpty {
            reply["quarantined"] = .array(quarantined.map {
                ["address": .string($0.address), "remaining_ms": .integer($0.remainingMs)]
            })
        }
        return .object(reply)
    }

    /// Where server `id` listens, or nil when it is not in the view.
    public func address(of id: String) -> String? { servers.first { $0.id == id }?.address }

    /// The lowest synced epoch among the live servers: every one of them holds its ranges as of this epoch.
    public var everyoneSyncedTo: Int64 { servers.map(\.syncedEpoch).min() ?? -1 }
}

/// Splits "host:port" or "[v6]:port" into its parts.
public func splitAddress(_ address: String) -> (host: String, port: Int)? {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
        return nil
    }
    var host = String(address[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return host.isEmpty ? nil : (host, port)
}
