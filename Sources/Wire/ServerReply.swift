/// Every reply a server sends, written straight to frame bytes (`encodeBody`) without building a `JSONValue`: a
/// reply goes out for every request, so this is on the hot path. `json` gives the same reply as a value.
public enum ServerReply: Equatable, Sendable {
    /// `{"status": "ok"}`.
    case ok
    /// `{"status": "ok", "value": V}`: a `get` or `getr` that found the key.
    case value(String)
    /// The same reply as `value`, from a store that keeps its values as JSON (the classic store): written by copying
    /// the value's bytes. A client reads either back as `value`.
    case storedValue(EncodedString)
    /// `{"status": "not_found"}`.
    case notFound
    /// `{"result": [keys]}`: `query_all_keys`; with `"truncated": true` when the server holds more keys than fit
    /// one frame (`fitting`).
    case keys([String], truncated: Bool = false)
    /// `{"status": "retry", "epoch": E, "error": reason}`, with `"maybe_applied": true` for a write that may have
    /// reached a backup.
    case retry(reason: String, epoch: Int64, maybeApplied: Bool)
    /// `{"status": "ok", "deduplicated": true}`: a write whose ID its key remembers.
    case deduplicated
    /// `{"status": "unknown_outcome", "error": reason}`: a retried write whose ID was forgotten early.
    case unknownOutcome(String)
    /// `{"status": "ok", "entries": [...], "more": B}`: a page of a pull.
    case page(PullPage)
    /// `{"status": "error", "error": reason}`: a request that cannot be acted on.
    case error(String)

    /// The `query_all_keys` reply for `keys` (in the order given) that fits a frame of `frameBytesMax` bytes: the
    /// keys that fit, and whether any were left out. A server can hold far more keys than one frame lists.
    public static func keys(fitting keys: [String], frameBytesMax: Int) -> ServerReply {
        var bytes = #"{"result":[],"truncated":true}"#.utf8.count
        for (index, key) in keys.enumerated() {
            bytes += JSONWriter.escapedLength(of: key) + 3
            if bytes > frameBytesMax { return .keys(Array(keys[..<index]), truncated: true) }
        }
        return .keys(keys)
    }

    /// The reply for a request that could not be decoded.
    public init(_ error: RequestError) { self = .error(error.description) }

    /// The epoch a refusal named, which the receiver may not know of yet; nil for any other reply.
    public var mentionedEpoch: Int64? {
        guard case .retry(_, let epoch, _) = self, epoch >= 0 else { return nil }
        return epoch
    }

    public var json: JSONValue {
        switch self {
        case .ok: return ["status": "ok"]
        case .value(let value): return ["status": "ok", "value": .string(value)]
        case .storedValue(let value): return ["status": "ok", "value": .string(value.text)]
        case .notFound: return ["status": "not_found"]
        case .keys(let keys, let truncated):
            var fields: JSONObject = ["result": .array(keys.map { .string($0) })]
            if truncated { fields["truncated"] = true }
            return .object(fields)
        case .retry(let reason, let epoch, let maybeApplied):
            var fields: JSONObject = ["status": "retry", "epoch": .integer(epoch), "error": .string(reason)]
            if maybeApplied { fields["maybe_applied"] = true }
            return .object(fields)
        case .deduplicated: return ["status": "ok", "deduplicated": true]
        case .unknownOutcome(let reason): return ["status": "unknown_outcome", "error": .string(reason)]
        case .page(let page):
            var bytes: [UInt8] = []
            page.encode(into: &bytes)
            // Pages are built as bytes; their value form is for tests, read back through the parser.
            return (try? JSONParser.parse(bytes)) ?? .null
        case .error(let reason): return ["status": "error", "error": .string(reason)]
        }
    }

    /// Appends the bytes of a literal fragment of JSON.
    static func appendRaw(_ literal: StaticString, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}

extension ServerReply: FrameBody {
    public func encodeBody(into buffer: inout [UInt8]) {
        switch self {
        case .ok:
            Self.appendRaw(#"{"status":"ok"}"#, to: &buffer)
        case .value(let value):
            Self.appendRaw(#"{"status":"ok","value":"#, to: &buffer)
            JSONWriter.appendString(value, to: &buffer)
            buffer.append(UInt8(ascii: "}"))
        case .storedValue(let value):
            Self.appendRaw(#"{"status":"ok","value":"#, to: &buffer)
            buffer.append(contentsOf: value.json)
            buffer.append(UInt8(ascii: "}"))
        case .notFound:
            Self.appendRaw(#"{"status":"not_found"}"#, to: &buffer)
        case .page(let page):
            page.encode(into: &buffer)
        case .keys, .retry, .deduplicated, .unknownOutcome, .error:
            JSONWriter.encode(json, into: &buffer)
        }
    }
}

extension ServerReply {
    /// Reads a reply as a client does; a pull page is read by `PullPage`, not here.
    public init(_ reply: JSONValue) throws(MalformedReply) {
        guard case .object(let fields) = reply else { throw MalformedReply("reply is not an object: \(reply)") }
        if let keys = fields["result"] {
            guard let list = keys.arrayValue, case let names = list.compactMap(\.stringValue), names.count == list.count
            else { throw MalformedReply("\"result\" is not a list of keys: \(reply)") }
            self = .keys(names, truncated: fields["truncated"] == true)
            return
        }
        let reason = fields["error"]?.stringValue
        switch fields["status"]?.stringValue {
        case "ok":
            if fields["deduplicated"] == true {
                self = .deduplicated
            } else if let value = fields["value"] {
                guard let text = value.stringValue else { throw MalformedReply("\"value\" is not a string: \(reply)") }
                self = .value(text)
            } else {
                self = .ok
            }
        case "not_found":
            self = .notFound
        case "retry":
            self = .retry(reason: reason ?? "no reason given", epoch: fields["epoch"]?.integerValue ?? -1,
                          maybeApplied: fields["maybe_applied"] == true)
        case "unknown_outcome":
            self = .unknownOutcome(reason ?? "the write's outcome is unknown")
        case "error":
            self = .error(reason ?? "no explanation given")
        case let status?:
            throw MalformedReply("reply has unknown status \"\(status)\": \(reply)")
        case nil:
            throw MalformedReply("reply has no status: \(reply)")
        }
    }
}
