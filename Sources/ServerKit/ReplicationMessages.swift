import Placement
import Wire

/// Encoding of the server-to-server messages and of replies that refuse a request.
enum ReplicationMessages {
    /// Largest pull reply page, in bytes of entries; keeps every page well inside the frame limit.
    static let pullPageBytesMax = 256 * 1024
    /// Bytes counted for each pulled entry beyond its key and value: its field names, version and punctuation.
    static let pullEntryOverheadBytes = 48

    static func entryFields(_ key: String, _ entry: VersionedEntry) -> JSONObject {
        var fields: JSONObject = ["key": .string(key),
                                  "version": [.integer(entry.version.epoch), .integer(entry.version.counter)]]
        if let value = entry.value { fields["val"] = .string(value) } else { fields["deleted"] = true }
        return fields
    }

    static func entry(from fields: JSONObject) throws(RequestError) -> (key: String, entry: VersionedEntry) {
        guard let key = fields["key"]?.stringValue else { throw .missingField("key") }
        guard let parts = fields["version"]?.arrayValue, parts.count == 2,
              let epoch = parts[0].integerValue, let counter = parts[1].integerValue, epoch >= 0, counter >= 0
        else { throw .wrongType(field: "version", expected: "[epoch, counter] of non-negative integers") }
        let value: String?
        if fields["deleted"]?.boolValue == true {
            value = nil
        } else {
            guard let text = fields["val"]?.stringValue else { throw .missingField("val") }
            value = text
        }
        return (key, VersionedEntry(value: value, version: Version(epoch: epoch, counter: counter)))
    }

    static func replicate(_ key: String, _ entry: VersionedEntry, epoch: Int64) -> JSONValue {
        var fields = entryFields(key, entry)
        fields["cmd"] = "replicate"
        fields["epoch"] = .integer(epoch)
        return .object(fields)
    }

    /// A pull request. `have` lists `[position, count, digest]` for positions the puller already holds entries
    /// at (the digest as a signed 64-bit integer); the peer skips those whose entries it holds identically.
    static func pull(epoch: Int64, ranges: [PositionRange], after: String?,
                     have: [Int: VersionedStore.BucketSummary] = [:]) -> JSONValue {
        var fields: JSONObject = [
            "cmd": "pull", "epoch": .integer(epoch),
            "ranges": .array(ranges.map { [.integer(Int64($0.lowerBound)), .integer(Int64($0.upperBound))] }),
        ]
        if let after { fields["after"] = .string(after) }
        if !have.isEmpty {
            fields["have"] = .array(have.sorted { $0.key < $1.key }.map { position, summary in
                [.integer(Int64(position)), .integer(Int64(summary.count)), .integer(Int64(bitPattern: summary.digest))]
            })
        }
        return .object(fields)
    }

    static func have(from request: Request, ringSize: Int) throws(RequestError) -> [Int: VersionedStore.BucketSummary] {
        guard let value = request.fields["have"] else { return [:] }
        guard let list = value.arrayValue else { throw .wrongType(field: "have", expected: "a list") }
        var have: [Int: VersionedStore.BucketSummary] = [:]
        for item in list {
            guard let triple = item.arrayValue, triple.count == 3, let position = triple[0].integerValue,
                  let count = triple[1].integerValue, let digest = triple[2].integerValue,
                  (0..<Int64(ringSize)).contains(position), count >= 0
            else { throw .wrongType(field: "have", expected: "a list of [position, count, digest] integers") }
            have[Int(position)] = VersionedStore.BucketSummary(count: Int(count), digest: UInt64(bitPattern: digest))
        }
        return have
    }

    static func ranges(from request: Request, ringSize: Int) throws(RequestError) -> [PositionRange] {
        guard let list = request.fields["ranges"]?.arrayValue else { throw .missingField("ranges") }
        var ranges: [PositionRange] = []
        for item in list {
            guard let pair = item.arrayValue, pair.count == 2, let low = pair[0].integerValue,
                  let high = pair[1].integerValue, 0 <= low, low <= high, high < ringSize
            else { throw .wrongType(field: "ranges", expected: "a list of [low, high] positions on the ring") }
            ranges.append(PositionRange(Int(low), Int(high)))
        }
        return ranges
    }

    /// One page of a pull reply (`VersionedStore.page` chose its entries and whether more remain).
    static func pullPage(_ page: VersionedStore.Page) -> JSONValue {
        .object(["status": "ok", "entries": .array(page.entries.map { .object(entryFields($0.key, $0.entry)) }),
                 "more": .bool(page.more)])
    }

    /// The reply to a request this server will not serve now; `maybeApplied` marks a write that reached a backup.
    static func retry(_ refusal: Refusal, epoch: Int64, maybeApplied: Bool = false) -> JSONValue {
        var fields: JSONObject = ["status": "retry", "epoch": .integer(epoch), "error": .string(refusal.description)]
        if maybeApplied { fields["maybe_applied"] = true }
        return .object(fields)
    }
}
