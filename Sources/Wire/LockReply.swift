/// The viewleader's answer to `lock_get` and `lock_release`: written by the viewleader with `json`, read by
/// clients with `init(_:)`.
public enum LockReply: Equatable, Sendable {
    /// `{"status": "granted"}`: the requestor holds the lock.
    case granted
    /// `{"status": "retry", "position": N}`: queued; position 1 is next. Ask again to keep the place (nil: a
    /// viewleader that does not say where).
    case queued(position: Int?)
    /// `{"status": "ok"}`: released, or the requestor left the queue.
    case released
    /// `{"status": "unknown"}`: the requestor neither held nor waited for the lock.
    case unknown
    /// `{"status": "error", "error": reason}`: refused (too many locks or waiters).
    case refused(String)

    public init(_ reply: JSONValue) throws(MalformedReply) {
        guard case .object(let fields) = reply, let status = fields["status"]?.stringValue else {
            throw MalformedReply("lock reply has no status: \(reply)")
        }
        switch status {
        case "granted": self = .granted
        case "retry": self = .queued(position: fields["position"]?.integerValue.map { Int($0) })
        case "ok": self = .released
        case "unknown": self = .unknown
        case "error": self = .refused(fields["error"]?.stringValue ?? "no explanation given")
        default: throw MalformedReply("lock reply has unknown status \"\(status)\"")
        }
    }

    public var json: JSONValue {
        switch self {
        case .granted: return ["status": "granted"]
        case .queued(let position):
            var fields: JSONObject = ["status": "retry"]
            if let position { fields["position"] = .integer(Int64(position)) }
            return .object(fields)
        case .released: return ["status": "ok"]
        case .unknown: return ["status": "unknown"]
        case .refused(let reason): return ["status": "error", "error": .string(reason)]
        }
    }
}
