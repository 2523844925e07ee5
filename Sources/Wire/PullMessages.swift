/// A write a replica remembers having taken effect on a key: its ID and the version it took effect at. Pull pages
/// carry these with each key, so the memory travels with the key (see `WriteID`).
public struct RememberedWrite: Equatable, Sendable {
    public let writeID: WriteID
    public let version: Version

    public init(writeID: WriteID, version: Version) {
        self.writeID = writeID
        self.version = version
    }
}

/// One key as a pull carries it: its entry (a value or a tombstone, with its version) and the writes remembered
/// for it.
public struct PulledEntry: Equatable, Sendable {
    public let key: String
    public let entry: VersionedEntry
    public let writeIDs: [RememberedWrite]

    public init(key: String, entry: VersionedEntry, writeIDs: [RememberedWrite] = []) {
        self.key = key
        self.entry = entry
        self.writeIDs = writeIDs
    }
}

/// A range of ring positions as a pull names it, `[low, high]` inclusive; checked against the ring by the
/// receiver, which knows its size.
public struct WirePositionRange: Equatable, Sendable {
    public let low: Int64
    public let high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

/// What a puller holds at one position: how many entries and their digest (see PROTOCOL.md, `pull`).
public struct HeldPosition: Equatable, Sendable {
    public let position: Int64
    public let count: Int64
    public let digest: UInt64

    public init(position: Int64, count: Int64, digest: UInt64) {
        self.position = position
        self.count = count
        self.digest = digest
    }
}

/// `pull`: a server copies ranges of positions from a peer at an epoch, a page at a time.
public struct PullRequest: Equatable, Sendable {
    public let epoch: Int64
    public let ranges: [WirePositionRange]
    /// The last key of the previous page, or nil for the first page.
    public let after: String?
    /// Positions from `after`'s on where the puller already holds entries.
    public let have: [HeldPosition]

    public init(epoch: Int64, ranges: [WirePositionRange], after: String?, have: [HeldPosition]) {
        self.epoch = epoch
        self.ranges = ranges
        self.after = after
        self.have = have
    }

    /// Reads the fields of a `pull` (its epoch already read), naming the field that is malformed.
    init(epoch: Int64, request: Request) throws(RequestError) {
        guard let list = request.fields["ranges"]?.arrayValue else { throw .missingField("ranges") }
        var ranges: [WirePositionRange] = []
        for item in list {
            guard let pair = item.arrayValue, pair.count == 2, let low = pair[0].integerValue,
                  let high = pair[1].integerValue, 0 <= low, low <= high
            else { throw Self.badRanges }
            ranges.append(WirePositionRange(low: low, high: high))
        }
        let after = try request.optionalString("after")
        var have: [HeldPosition] = []
        if let value = request.fields["have"] {
            guard let items = value.arrayValue else { throw .wrongType(field: "have", expected: "a list") }
            for item in items {
                guard let triple = item.arrayValue, triple.count == 3, let position = triple[0].integerValue,
                      let count = triple[1].integerValue, let digest = triple[2].integerValue, position >= 0, count >= 0
                else { throw Self.badHave }
                have.append(HeldPosition(position: position, count: count, digest: UInt64(bitPattern: digest)))
            }
        }
        self.init(epoch: epoch, ranges: ranges, after: after, have: have)
    }

    /// The error for a `ranges` field that is not a list of positions on the ring.
    public static let badRanges = RequestError.wrongType(field: "ranges",
                                                         expected: "a list of [low, high] positions on the ring")
    /// The error for a `have` field that is not a list of held positions.
    public static let badHave = RequestError.wrongType(field: "have",
                                                       expected: "a list of [position, count, digest] integers")

    var json: JSONValue {
        var fields: JSONObject = ["cmd": "pull", "epoch": .integer(epoch),
                                  "ranges": .array(ranges.map { [.integer($0.low), .integer($0.high)] })]
        if let after { fields["after"] = .string(after) }
        if !have.isEmpty {
            fields["have"] = .array(have.map {
                [.integer($0.position), .integer($0.count), .integer(Int64(bitPattern: $0.digest))]
            })
        }
        return .object(fields)
    }
}

/// One page of a pull's answer: entries in (position, key bytes) order, and whether more remain.
public struct PullPage: Equatable, Sendable {
    public let entries: [PulledEntry]
    public let more: Bool

    public init(entries: [PulledEntry], more: Bool) {
        self.entries = entries
        self.more = more
    }

    /// Most write IDs one pulled entry may carry.
    public static let writeIDsPerEntryMax = 16

    /// Reads a page from a peer's answer; throws on any entry it cannot read, so that a page is merged whole or
    /// not at all (skipping an entry could drop the last copy of a key).
    public init(reply fields: JSONObject) throws(RequestError) {
        guard let list = fields["entries"]?.arrayValue else { throw .missingField("entries") }
        var entries: [PulledEntry] = []
        entries.reserveCapacity(list.count)
        for item in list {
            guard let object = item.objectValue else { throw .wrongType(field: "entries", expected: "objects") }
            entries.append(try Self.entry(from: object))
        }
        self.init(entries: entries, more: fields["more"] == true)
    }

    /// A key and its entry as `replicate` and pull pages write them (`key`, `val` or `deleted`, `version`).
    public static func keyAndEntry(from fields: JSONObject) throws(RequestError) -> (key: String, entry: VersionedEntry) {
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

    static func entry(from fields: JSONObject) throws(RequestError) -> PulledEntry {
        let (key, entry) = try keyAndEntry(from: fields)
        guard let list = fields["write_ids"] else { return PulledEntry(key: key, entry: entry) }
        let expected = "a list of at most \(writeIDsPerEntryMax) [client_id, seq, epoch, counter]"
        guard let items = list.arrayValue, items.count <= writeIDsPerEntryMax else {
            throw .wrongType(field: "write_ids", expected: expected)
        }
        var remembered: [RememberedWrite] = []
        for item in items {
            guard let parts = item.arrayValue, parts.count == 4, let client = parts[0].stringValue,
                  let sequence = parts[1].integerValue, (1...WriteID.sequenceMax).contains(sequence),
                  let epoch = parts[2].integerValue, let counter = parts[3].integerValue, epoch >= 0, counter >= 0
            else { throw .wrongType(field: "write_ids", expected: expected) }
            remembered.append(RememberedWrite(writeID: WriteID(client: try WriteID.client(from: client), sequence: sequence),
                                              version: Version(epoch: epoch, counter: counter)))
        }
        return PulledEntry(key: key, entry: entry, writeIDs: remembered)
    }

    /// Writes the page as the `ok` answer to a pull.
    func encode(into buffer: inout [UInt8]) {
        ServerReply.appendRaw(#"{"status":"ok","entries":["#, to: &buffer)
        for (index, pulled) in entries.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            ServerReply.appendRaw(#"{"key":"#, to: &buffer)
            JSONWriter.appendString(pulled.key, to: &buffer)
            ServerReply.appendRaw(#","version":["#, to: &buffer)
            JSONWriter.appendInteger(pulled.entry.version.epoch, to: &buffer)
            buffer.append(UInt8(ascii: ","))
            JSONWriter.appendInteger(pulled.entry.version.counter, to: &buffer)
            buffer.append(UInt8(ascii: "]"))
            if let value = pulled.entry.value {
                ServerReply.appendRaw(#","val":"#, to: &buffer)
                JSONWriter.appendString(value, to: &buffer)
            } else {
                ServerReply.appendRaw(#","deleted":true"#, to: &buffer)
            }
            if !pulled.writeIDs.isEmpty {
                ServerReply.appendRaw(#","write_ids":["#, to: &buffer)
                for (position, remembered) in pulled.writeIDs.enumerated() {
                    if position > 0 { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(UInt8(ascii: "["))
                    JSONWriter.appendString(remembered.writeID.clientText, to: &buffer)
                    for number in [remembered.writeID.sequence, remembered.version.epoch, remembered.version.counter] {
                        buffer.append(UInt8(ascii: ","))
                        JSONWriter.appendInteger(number, to: &buffer)
                    }
                    buffer.append(UInt8(ascii: "]"))
                }
                buffer.append(UInt8(ascii: "]"))
            }
            buffer.append(UInt8(ascii: "}"))
        }
        ServerReply.appendRaw(#"],"more":"#, to: &buffer)
        ServerReply.appendRaw(more ? "true}" : "false}", to: &buffer)
    }
}
