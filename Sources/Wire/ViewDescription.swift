/// The view as `query_servers` describes it: the epoch, the ring size and each live server.
///
/// Shared by servers (which adopt views) and clients (which route by them), so both read it the same way.
public struct ViewDescription: Equatable, Sendable {
    public struct Server: Equatable, Sendable {
        public let id: String
        public let address: String
        /// Highest epoch this server has fully synced to; -1 when unknown.
        public let syncedEpoch: Int64

        public init(id: String, address: String, syncedEpoch: Int64) {
            self.id = id
            self.address = address
            self.syncedEpoch = syncedEpoch
        }
    }

    public let epoch: Int64
    public let ringSize: Int
    public let servers: [Server]

    public init(epoch: Int64, ringSize: Int, servers: [Server]) {
        self.epoch = epoch
        self.ringSize = ringSize
        self.servers = servers
    }

    /// Reads a `query_servers` reply.
    public init(reply: JSONValue) throws(RequestError) {
        guard let fields = reply.objectValue else { throw .notAnObject }
        guard let epoch = fields["epoch"]?.integerValue else { throw .missingField("epoch") }
        guard let list = fields["servers"]?.arrayValue else { throw .missingField("servers") }
        let ringSize = fields["ring_size"]?.integerValue ?? 10_000
        guard ringSize > 0 && ringSize <= 1 << 24 else { throw .outOfRange(field: "ring_size", range: "1...16777216") }
        var servers: [Server] = []
        for entry in list {
            guard let id = entry.objectValue?["id"]?.stringValue,
                  let address = entry.objectValue?["address"]?.stringValue
            else { throw .wrongType(field: "servers", expected: "a list of objects with id and address") }
            servers.append(Server(id: id, address: address,
                                  syncedEpoch: entry.objectValue?["synced_epoch"]?.integerValue ?? -1))
        }
        self.init(epoch: epoch, ringSize: Int(ringSize), servers: servers)
    }

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
