/// The viewleader's answer to a heartbeat: written by the viewleader with `json`, read by a server with
/// `init(_:)`, so both sides agree on every field in one place.
public enum HeartbeatReply: Equatable, Sendable {
    /// `{"status": "ok", "epoch": E, "lease_ms": L, "all_synced_epoch": S}`: the lease is renewed. `leaseMs` is
    /// nil from a classic viewleader, which sends none; `allSyncedEpoch` is -1 when not every member has synced.
    case accepted(epoch: Int64, leaseMs: Int64?, allSyncedEpoch: Int64)
    /// `{"status": "deny", "error": reason}`: this ID's lease ran out; register again under a fresh ID.
    case denied(reason: String)
    /// `{"status": "retry", "error": reason, "epoch": E?, "report_view": B?}`: not admitted now (the address is
    /// held by a live server, the view is full, or the viewleader is recovering); heartbeat on. `reportView` true
    /// asks the server to send the view it serves with its next heartbeat (nil: the field is absent).
    case retry(reason: String, epoch: Int64?, reportView: Bool?)
    /// `{"status": "error", "error": reason}`: the viewleader could not act on the heartbeat at all (it was
    /// malformed, or the viewleader is at its connection limit and refused the connection); heartbeat on.
    case refused(reason: String)

    /// Reads a reply; throws a description of what is wrong with one that is not a heartbeat reply.
    public init(_ reply: JSONValue) throws(MalformedReply) {
        guard case .object(let fields) = reply, let status = fields["status"]?.stringValue else {
            throw MalformedReply("heartbeat reply has no status: \(reply)")
        }
        switch status {
        case "ok":
            guard let epoch = fields["epoch"]?.integerValue else {
                throw MalformedReply("heartbeat reply has no epoch")
            }
            self = .accepted(epoch: epoch, leaseMs: fields["lease_ms"]?.integerValue,
                             allSyncedEpoch: fields["all_synced_epoch"]?.integerValue ?? -1)
        case "deny":
            self = .denied(reason: fields["error"]?.stringValue ?? "lease expired")
        case "retry":
            self = .retry(reason: fields["error"]?.stringValue ?? "address held by another server",
                          epoch: fields["epoch"]?.integerValue, reportView: fields["report_view"]?.boolValue)
        case "error":
            self = .refused(reason: fields["error"]?.stringValue ?? "no explanation given")
        default:
            throw MalformedReply("heartbeat reply has unknown status \"\(status)\"")
        }
    }

    public var json: JSONValue {
        switch self {
        case .accepted(let epoch, let leaseMs, let allSyncedEpoch):
            var fields: JSONObject = ["status": "ok", "epoch": .integer(epoch),
                                      "all_synced_epoch": .integer(allSyncedEpoch)]
            if let leaseMs { fields["lease_ms"] = .integer(leaseMs) }
            return .object(fields)
        case .denied(let reason):
            return ["status": "deny", "error": .string(reason)]
        case .retry(let reason, let epoch, let reportView):
            var fields: JSONObject = ["status": "retry", "error": .string(reason)]
            if let epoch { fields["epoch"] = .integer(epoch) }
            if let reportView { fields["report_view"] = .bool(reportView) }
            return .object(fields)
        case .refused(let reason):
            return Reply.error(reason)
        }
    }
}

/// A reply that does not have the shape its request calls for.
public struct MalformedReply: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
