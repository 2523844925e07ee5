/// Every request a server answers, decoded: the classic commands, the replicated store's, and the messages servers
/// send each other. Decoding fails with the same `RequestError` (and so the same error text on the wire) whichever
/// way the frame is read.
public enum ServerRequest: Equatable, Sendable {
    /// `print`: log the words.
    case print(words: [String])
    /// `set`: store a value in this server's own (unreplicated) store.
    case set(key: String, value: String)
    /// `get`: read this server's own store.
    case get(key: String)
    /// `query_all_keys`: every key this server holds, in either store.
    case queryAllKeys
    /// `getr`: read a replicated key from its primary, in the client's epoch.
    case getr(key: String, epoch: Int64)
    /// `setr` (a value) or `delr` (nil): write a replicated key through its primary, in the client's epoch.
    case write(key: String, value: String?, epoch: Int64, writeID: WriteID?, resent: Bool)
    /// `replicate`: a primary's write, sent to the key's backups.
    case replicate(key: String, entry: VersionedEntry, writeID: WriteID?, epoch: Int64)
    /// `pull`: a page of a peer's entries in some ranges.
    case pull(PullRequest)
    /// `view_change`: the viewleader says epoch `epoch` exists.
    case viewChange(epoch: Int64)

    /// The commands named in the error for an unknown one (the replicated store's peer messages are not listed:
    /// no client needs them).
    public static let commandsListed = ["print", "set", "get", "query_all_keys", "setr", "getr", "delr"]

    /// Decodes a frame: the hot requests straight from the bytes (`FlatObject`), anything else through the JSON
    /// parser. The receiver checks sizes (`check`), against its own frame limit.
    public init(frame: ArraySlice<UInt8>) throws(RequestError) {
        let fast = frame.withUnsafeBufferPointer { bytes in FlatObject.read(bytes) { Self(flat: $0) } }
        if let fast {
            self = fast
            return
        }
        try self.init(try Request(frame: frame))
    }

    /// Checks the key, and the value written to it, against `limits` (the key a pull resumes after, too).
    public func check(_ limits: RecordLimits) throws(RequestError) {
        switch self {
        case .get(let key), .getr(let key, _): try limits.check(key: key)
        case .set(let key, let value): try limits.check(key: key, value: value)
        case .write(let key, let value, _, _, _): try limits.check(key: key, value: value)
        case .replicate(let key, let entry, _, _): try limits.check(key: key, value: entry.value)
        case .pull(let pull): if let after = pull.after { try limits.check(key: after) }
        case .print, .queryAllKeys, .viewChange: break
        }
    }

    /// True for the messages only other members send (`replicate`, `pull`, `view_change`): a connection that opens
    /// with one may keep a slot of the member reserve (`WireLimits.memberConnectionsReserved`).
    public var isMemberMessage: Bool {
        switch self {
        case .replicate, .pull, .viewChange: true
        case .print, .set, .get, .queryAllKeys, .getr, .write: false
        }
    }

    /// Decodes a request already parsed as JSON.
    public init(_ request: Request) throws(RequestError) {
        switch request.command {
        case "print":
            self = .print(words: try request.strings("text"))
        case "set":
            let key = try request.string("key")
            self = .set(key: key, value: try request.string("val"))
        case "get":
            self = .get(key: try request.string("key"))
        case "query_all_keys":
            self = .queryAllKeys
        case "getr":
            let key = try request.string("key")
            self = .getr(key: key, epoch: try request.integer("epoch", in: -1...Int64.max))
        case "setr", "delr":
            let value = request.command == "setr" ? try request.string("val") : nil
            let key = try request.string("key")
            let epoch = try request.integer("epoch", in: -1...Int64.max)
            self = .write(key: key, value: value, epoch: epoch, writeID: try WriteID(request: request),
                          resent: request.fields["resent"] == true)
        case "replicate":
            let epoch = try request.integer("epoch", in: 0...Int64.max)
            let (key, entry) = try PullPage.keyAndEntry(from: request.fields)
            self = .replicate(key: key, entry: entry, writeID: try WriteID(request: request), epoch: epoch)
        case "pull":
            self = .pull(try PullRequest(epoch: request.integer("epoch", in: 0...Int64.max), request: request))
        case "view_change":
            self = .viewChange(epoch: try request.integer("epoch", in: 0...Int64.max))
        default:
            throw .unknownCommand(request.command, known: Self.commandsListed)
        }
    }

    /// The hot requests read from a flat object; nil for anything else, or anything not exactly as expected (the
    /// JSON path then decodes it, or explains what is wrong).
    init?(flat: borrowing FlatObject) {
        guard let command = flat.value(.cmd) else { return nil }
        // Named first: `||` takes a closure, which cannot capture a borrowed object.
        let isSet = flat.string(command, equals: "setr"), isDelete = flat.string(command, equals: "delr")
        if flat.string(command, equals: "get") {
            guard let key = flat.text(.key) else { return nil }
            self = .get(key: key)
        } else if flat.string(command, equals: "set") {
            guard let key = flat.text(.key), let value = flat.text(.val)
            else { return nil }
            self = .set(key: key, value: value)
        } else if flat.string(command, equals: "getr") {
            guard let key = flat.text(.key), case .integer(let epoch)? = flat.value(.epoch),
                  epoch >= -1
            else { return nil }
            self = .getr(key: key, epoch: epoch)
        } else if isSet || isDelete {
            guard let key = flat.text(.key), case .integer(let epoch)? = flat.value(.epoch),
                  epoch >= -1, case .read(let writeID) = Self.writeID(flat)
            else { return nil }
            var value: String?
            if isSet {
                guard let text = flat.text(.val) else { return nil }
                value = text
            }
            let resent = flat.value(.resent) == .bool(true)
            self = .write(key: key, value: value, epoch: epoch, writeID: writeID, resent: resent)
        } else if flat.string(command, equals: "replicate") {
            guard let key = flat.text(.key), case .integer(let epoch)? = flat.value(.epoch),
                  epoch >= 0, case .pair(let versionEpoch, let counter)? = flat.value(.version),
                  versionEpoch >= 0, counter >= 0, case .read(let writeID) = Self.writeID(flat)
            else { return nil }
            let value: String?
            if flat.value(.deleted) == .bool(true) {
                value = nil
            } else {
                guard let text = flat.text(.val) else { return nil }
                value = text
            }
            let entry = VersionedEntry(value: value, version: Version(epoch: versionEpoch, counter: counter))
            self = .replicate(key: key, entry: entry, writeID: writeID, epoch: epoch)
        } else {
            return nil
        }
    }

    /// A flat object's write ID, as far as the fast path can tell.
    private enum FlatWriteID {
        /// The request has a write ID (nil: none).
        case read(WriteID?)
        /// It has one the fast path cannot read; the JSON path decides.
        case unreadable
    }

    private static func writeID(_ flat: borrowing FlatObject) -> FlatWriteID {
        let client = flat.value(.clientID)
        let sequence = flat.value(.seq)
        if client == nil && sequence == nil { return .read(nil) }
        guard let text = flat.text(.clientID), case .integer(let number)? = sequence,
              (1...WriteID.sequenceMax).contains(number), let value = try? WriteID.client(from: text)
        else { return .unreadable }
        return .read(WriteID(client: value, sequence: number))
    }

    /// The request as JSON, for a client or a peer to send.
    public var json: JSONValue {
        switch self {
        case .print(let words): return ["cmd": "print", "text": .array(words.map { .string($0) })]
        case .set(let key, let value): return ["cmd": "set", "key": .string(key), "val": .string(value)]
        case .get(let key): return ["cmd": "get", "key": .string(key)]
        case .queryAllKeys: return ["cmd": "query_all_keys"]
        case .getr(let key, let epoch): return ["cmd": "getr", "key": .string(key), "epoch": .integer(epoch)]
        case .write(let key, let value, let epoch, let writeID, let resent):
            var fields: JSONObject = ["cmd": value == nil ? "delr" : "setr", "key": .string(key)]
            if let value { fields["val"] = .string(value) }
            fields["epoch"] = .integer(epoch)
            writeID?.add(to: &fields)
            if resent { fields["resent"] = true }
            return .object(fields)
        case .replicate(let key, let entry, let writeID, let epoch):
            var fields: JSONObject = ["cmd": "replicate", "key": .string(key),
                                      "version": [.integer(entry.version.epoch), .integer(entry.version.counter)]]
            if let value = entry.value { fields["val"] = .string(value) } else { fields["deleted"] = true }
            fields["epoch"] = .integer(epoch)
            writeID?.add(to: &fields)
            return .object(fields)
        case .pull(let pull): return pull.json
        case .viewChange(let epoch): return ["cmd": "view_change", "epoch": .integer(epoch)]
        }
    }
}

extension ServerRequest: FrameBody {
    public func encodeBody(into buffer: inout [UInt8]) { JSONWriter.encode(json, into: &buffer) }
}
