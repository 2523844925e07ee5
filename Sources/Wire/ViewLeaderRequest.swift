/// Every request the viewleader serves, decoded and checked against its limits in one place; `json` is the
/// form a server or client sends.
public enum ViewLeaderRequest: Equatable, Sendable {
    case heartbeat(Heartbeat)
    case queryServers
    /// Take lock `lockID` for `requestor`, or join its queue.
    case lockGet(lockID: String, requestor: String)
    /// Release lock `lockID`, or leave its queue.
    case lockRelease(lockID: String, requestor: String)
    /// A member cannot reach another (its calls go unanswered): see PROTOCOL.md, "Partial partitions".
    case suspect(Suspicion)

    /// The commands, for the error naming them when another arrives.
    public static let commands = ["heartbeat", "query_servers", "lock_get", "lock_release", "suspect"]
    /// Longest lock name or lock requestor, in UTF-8 bytes.
    public static let nameBytesMax = 1_024
    /// Longest server ID (`requestor` of a heartbeat), in UTF-8 bytes.
    public static let serverIDBytesMax = 256
    /// Longest host a server may ask to be reached at (`addr`): a DNS name's 253 bytes, with room to spare.
    public static let hostBytesMax = 255
    /// Longest member address, `host:port` or `[host]:port`.
    public static let addressBytesMax = hostBytesMax + "[]:65535".utf8.count
    /// Most members a view may have (and a reported view may list).
    public static let membersMax = 1_000
    // With these, the largest view fits in one default frame whichever way it travels: a heartbeat reporting it,
    // or a `query_servers` reply listing it (ViewLimitsTests checks both).


    /// A server's heartbeat.
    public struct Heartbeat: Equatable, Sendable {
        /// The port the server listens on.
        public var port: Int
        /// Its ID (a string; the classic server sends a number, read as its stable text).
        public var requestor: String
        /// The host it asks to be reached at (`addr`); nil: the address the viewleader sees.
        public var host: String?
        /// The epoch it has fully synced to; -1: none.
        public var syncedEpoch: Int64
        /// The highest epoch it knows of; -1: none.
        public var epoch: Int64
        /// The view it serves, sent when a recovering viewleader asked for it.
        public var view: ReportedView?
        /// Which start of the server under this ID (`incarnation`, 0 when absent): a server that keeps its ID in a
        /// data directory counts its starts from 1, and a higher one is a restart of the same ring position.
        public var incarnation: Int64

        public init(port: Int, requestor: String, host: String? = nil, syncedEpoch: Int64 = -1, epoch: Int64 = -1,
                    view: ReportedView? = nil, incarnation: Int64 = 0) {
            self.port = port
            self.requestor = requestor
            self.incarnation = incarnation
            self.host = host
            self.syncedEpoch = syncedEpoch
            self.epoch = epoch
            self.view = view
        }
    }

    /// A member's report that calls to `peer` have gone unanswered for `unreachableMs`, in `epoch`; 0 withdraws
    /// its earlier report (the peer answers again).
    public struct Suspicion: Equatable, Sendable {
        /// How often a member repeats a report while the peer stays unreachable.
        public static let repeatIntervalMs: Int64 = 1_000

        /// The reporting member's ID.
        public var requestor: String
        /// The member it cannot reach.
        public var peer: String
        /// The epoch the reporter serves.
        public var epoch: Int64
        public var unreachableMs: Int64

        public init(requestor: String, peer: String, epoch: Int64, unreachableMs: Int64) {
            self.requestor = requestor
            self.peer = peer
            self.epoch = epoch
            self.unreachableMs = unreachableMs
        }
    }

    /// A view as a server reports it: its epoch and its members' IDs and addresses.
    public struct ReportedView: Equatable, Sendable {
        public var epoch: Int64
        public var members: [Member]

        public struct Member: Equatable, Sendable {
            public var id: String
            public var address: String

            public init(id: String, address: String) {
                self.id = id
                self.address = address
            }
        }

        public init(epoch: Int64, members: [Member]) {
            self.epoch = epoch
            self.members = members
        }
    }

    /// Decodes a request, throwing the error the peer is sent for the first field that is missing, of the wrong
    /// type or out of range.
    /// True for what servers send: heartbeats, and the `query_servers` that fetches their view. A connection that
    /// opens with one may keep a slot of the member reserve (`WireLimits.memberConnectionsReserved`).
    public var isMemberMessage: Bool {
        switch self {
        case .heartbeat, .queryServers, .suspect: true
        case .lockGet, .lockRelease: false
        }
    }

    public init(_ request: Request) throws(RequestError) {
        switch request.command {
        case "heartbeat":
            let port = Int(try request.integer("port", in: 1...65_535))
            let id = try request.identifier("requestor")
            guard !id.isEmpty, id.utf8.count <= Self.serverIDBytesMax else {
                throw .outOfRange(field: "requestor", range: "1...\(Self.serverIDBytesMax) bytes")
            }
            let host = try request.optionalString("addr")
            if let host, host.isEmpty || host.utf8.count > Self.hostBytesMax {
                throw .outOfRange(field: "addr", range: "1...\(Self.hostBytesMax) bytes")
            }
            // Lenient, as the classic viewleader: a synced epoch that is not an integer counts as none.
            let syncedEpoch = request.fields["synced_epoch"]?.integerValue ?? -1
            let epoch = request.fields["epoch"] == nil ? -1 : try request.integer("epoch", in: -1...Int64.max)
            let incarnation = request.fields["incarnation"] == nil ? 0
                : try request.integer("incarnation", in: 0...Int64.max)
            self = .heartbeat(Heartbeat(port: port, requestor: id, host: host, syncedEpoch: syncedEpoch, epoch: epoch,
                                        view: try Self.reportedView(request), incarnation: incarnation))
        case "query_servers":
            self = .queryServers
        case "suspect":
            var ids: [String] = []
            for name in ["requestor", "peer"] {
                let id = try request.identifier(name)
                guard !id.isEmpty, id.utf8.count <= Self.serverIDBytesMax else {
                    throw .outOfRange(field: name, range: "1...\(Self.serverIDBytesMax) bytes")
                }
                ids.append(id)
            }
            self = .suspect(Suspicion(requestor: ids[0], peer: ids[1],
                                      epoch: try request.integer("epoch", in: 0...Int64.max),
                                      unreachableMs: try request.integer("unreachable_ms", in: 0...Int64.max)))
        case "lock_get", "lock_release":
            let lockID = try request.identifier("lockid")
            let requestor = try request.identifier("requestor")
            for (name, value) in [("lockid", lockID), ("requestor", requestor)]
            where value.utf8.count > Self.nameBytesMax {
                throw .outOfRange(field: name, range: "at most \(Self.nameBytesMax) bytes")
            }
            self = request.command == "lock_get" ? .lockGet(lockID: lockID, requestor: requestor)
                : .lockRelease(lockID: lockID, requestor: requestor)
        default:
            throw .unknownCommand(request.command, known: Self.commands)
        }
    }

    /// `view`: `{"epoch": E, "members": [[id, address], ...]}`, at most `membersMax` members.
    private static func reportedView(_ request: Request) throws(RequestError) -> ReportedView? {
        guard let value = request.fields["view"] else { return nil }
        let expected = "an object with an epoch and at most \(membersMax) members as [id, address]"
        guard let fields = value.objectValue, let epoch = fields["epoch"]?.integerValue, epoch >= 0,
              let list = fields["members"]?.arrayValue, list.count <= membersMax
        else { throw .wrongType(field: "view", expected: expected) }
        var members: [ReportedView.Member] = []
        for item in list {
            guard let pair = item.arrayValue, pair.count == 2, let id = pair[0].stringValue,
                  let address = pair[1].stringValue, !id.isEmpty, id.utf8.count <= serverIDBytesMax,
                  !address.isEmpty, address.utf8.count <= addressBytesMax
            else { throw .wrongType(field: "view", expected: expected) }
            members.append(ReportedView.Member(id: id, address: address))
        }
        return ReportedView(epoch: epoch, members: members)
    }

    /// The request as sent.
    public var json: JSONValue {
        switch self {
        case .heartbeat(let heartbeat):
            var fields: JSONObject = ["cmd": "heartbeat", "port": .integer(Int64(heartbeat.port)),
                                      "requestor": .string(heartbeat.requestor)]
            if let host = heartbeat.host { fields["addr"] = .string(host) }
            if heartbeat.syncedEpoch >= 0 { fields["synced_epoch"] = .integer(heartbeat.syncedEpoch) }
            if heartbeat.epoch >= 0 { fields["epoch"] = .integer(heartbeat.epoch) }
            if heartbeat.incarnation > 0 { fields["incarnation"] = .integer(heartbeat.incarnation) }
            if let view = heartbeat.view {
                fields["view"] = ["epoch": .integer(view.epoch),
                                  "members": .array(view.members.map { [.string($0.id), .string($0.address)] })]
            }
            return .object(fields)
        case .queryServers:
            return ["cmd": "query_servers"]
        case .lockGet(let lockID, let requestor):
            return ["cmd": "lock_get", "lockid": .string(lockID), "requestor": .string(requestor)]
        case .lockRelease(let lockID, let requestor):
            return ["cmd": "lock_release", "lockid": .string(lockID), "requestor": .string(requestor)]
        case .suspect(let report):
            return ["cmd": "suspect", "requestor": .string(report.requestor), "peer": .string(report.peer),
                    "epoch": .integer(report.epoch), "unreachable_ms": .integer(report.unreachableMs)]
        }
    }
}
