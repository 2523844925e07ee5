import Placement
import Wire

/// Encoding of the server-to-server messages and of replies that refuse a request.
enum ReplicationMessages {
    /// Largest pull reply page, in bytes of entries; keeps every page well inside the frame limit.
    static let pullPageBytesMax = 256 * 1024
    /// Bytes counted for each pulled entry beyond its key and value: its field names, version and punctuation.
    static let pullEntryOverheadBytes = 48
    /// Bytes counted for each write ID a pulled entry carries: `["<16 hex digits>",seq,epoch,counter],`.
    static let pullWriteIDBytes = 80
    /// The answer to a write whose ID its key remembers: it took effect before, and was not applied again.
    static let deduplicated: JSONValue = ["status": "ok", "deduplicated": true]

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

    /// A pulled entry: its key, entry and remembered write IDs (`write_ids`, each `[client, seq, epoch, counter]`).
    static func pageEntry(from fields: JSONObject) throws(RequestError) -> VersionedStore.PageEntry {
        let (key, entry) = try entry(from: fields)
        guard let list = fields["write_ids"] else { return VersionedStore.PageEntry(key: key, entry: entry) }
        let expected = "a list of at most \(WriteIDMemory.clientsPerKeyMax) [client_id, seq, epoch, counter]"
        guard let items = list.arrayValue, items.count <= WriteIDMemory.clientsPerKeyMax else {
            throw .wrongType(field: "write_ids", expected: expected)
        }
        var records: [WriteIDMemory.Record] = []
        for item in items {
            guard let parts = item.arrayValue, parts.count == 4, let client = parts[0].stringValue,
                  let sequence = parts[1].integerValue, (1...WriteID.sequenceMax).contains(sequence),
                  let epoch = parts[2].integerValue, let counter = parts[3].integerValue, epoch >= 0, counter >= 0
            else { throw .wrongType(field: "write_ids", expected: expected) }
            records.append(WriteIDMemory.Record(writeID: WriteID(client: try WriteID.client(from: client),
                                                                 sequence: sequence),
                                                version: Version(epoch: epoch, counter: counter)))
        }
        return VersionedStore.PageEntry(key: key, entry: entry, writeIDs: records)
    }

    static func replicate(_ key: String, _ entry: VersionedEntry, writeID: WriteID? = nil, epoch: Int64) -> JSONValue {
        var fields = entryFields(key, entry)
        fields["cmd"] = "replicate"
        fields["epoch"] = .integer(epoch)
        if let writeID { writeID.add(to: &fields) }
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
        let entries: [JSONValue] = page.entries.map { pulled in
            var fields = entryFields(pulled.key, pulled.entry)
            if !pulled.writeIDs.isEmpty {
                fields["write_ids"] = .array(pulled.writeIDs.map { record in
                    [.string(record.writeID.clientText), .integer(record.writeID.sequence),
                     .integer(record.version.epoch), .integer(record.version.counter)]
                })
            }
            return .object(fields)
        }
        return .object(["status": "ok", "entries": .array(entries), "more": .bool(page.more)])
    }

    /// The answer to a retried write whose ID its key no longer remembers, where IDs were dropped early: it may
    /// have taken effect before, so it was not applied, and its outcome cannot be told.
    static func outcomeForgotten(_ writeID: WriteID) -> JSONValue {
        ["status": "unknown_outcome",
         "error": .string("write \(writeID) may have taken effect in an earlier attempt, but this server no longer "
             + "remembers its ID (it had to forget IDs early under load); it was not applied again: read the key to see")]
    }

    /// The reply to a request this server will not serve now; `maybeApplied` marks a write that reached a backup.
    static func retry(_ refusal: Refusal, epoch: Int64, maybeApplied: Bool = false) -> JSONValue {
        var fields: JSONObject = ["status": "retry", "epoch": .integer(epoch), "error": .string(refusal.description)]
        if maybeApplied { fields["maybe_applied"] = true }
        return .object(fields)
    }
}
