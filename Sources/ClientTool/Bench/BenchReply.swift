import Wire

/// What a reply to a bench request said, as far as the measurement cares.
enum BenchReply: Equatable, Sendable {
    /// `{"status":"ok",...}` (with or without a value).
    case ok
    /// `{"status":"not_found"}`: a read of a key with no value.
    case notFound
    /// `{"status":"granted"}` from `lock_get`.
    case granted
    /// `{"status":"unknown"}` from `lock_release`: the requestor neither held nor waited for the lock.
    case unknown
    /// `{"status":"retry",...}`: for replicated requests a refusal; for `lock_get` a place in the lock's queue.
    case retry(reason: String, maybeApplied: Bool)
    /// `{"status":"error","error":...}`: the request was rejected.
    case error(String)
    /// Anything else: not JSON, not an object, an unknown status.
    case unexpected(String)

    /// Longest excerpt of an unexpected reply kept for the report.
    static let excerptBytesMax = 200

    /// Classifies a reply frame's body. The common replies are recognised by their first bytes, so a run does
    /// not build a dictionary per request; everything else goes through the real parser.
    static func classify(_ body: ArraySlice<UInt8>) -> BenchReply {
        if starts(body, with: #"{"status":"ok""#) {
            let next = body.dropFirst(#"{"status":"ok""#.utf8.count).first
            if next == UInt8(ascii: "}") || next == UInt8(ascii: ",") { return .ok }
        }
        if equals(body, #"{"status":"not_found"}"#) { return .notFound }
        if equals(body, #"{"status":"granted"}"#) { return .granted }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            return .unexpected("not JSON (\(error)): \(excerpt(body))")
        }
        guard let fields = value.objectValue else { return .unexpected(excerpt(body)) }
        let reason = fields["error"]?.stringValue
        switch fields["status"]?.stringValue {
        case "ok": return .ok
        case "not_found": return .notFound
        case "granted": return .granted
        case "unknown": return .unknown
        case "retry":
            let queued = fields["position"].map { "queued at position \($0)" }
            return .retry(reason: reason ?? queued ?? "no reason given",
                          maybeApplied: fields["maybe_applied"]?.boolValue == true)
        case "error": return .error(reason ?? "no explanation given")
        default: return .unexpected(excerpt(body))
        }
    }

    private static func starts(_ body: ArraySlice<UInt8>, with prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard body.count >= count else { return false }
        let bytes = UnsafeBufferPointer(start: prefix.utf8Start, count: count)
        return body.prefix(count).elementsEqual(bytes)
    }

    private static func equals(_ body: ArraySlice<UInt8>, _ text: StaticString) -> Bool {
        body.count == text.utf8CodeUnitCount && starts(body, with: text)
    }

    private static func excerpt(_ body: ArraySlice<UInt8>) -> String {
        String(decoding: body.prefix(excerptBytesMax), as: UTF8.self)
    }
}
