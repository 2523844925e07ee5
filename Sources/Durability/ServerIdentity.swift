/// Who a server is across restarts: the ID that places it on the ring, and which start of it this is.
///
/// A data directory keeps the ID, so a restarted server takes its old ring position and nothing moves. Each start
/// (and each registration after the viewleader denied it) is a new incarnation: the viewleader tells a restarted
/// server from the process it replaces by it, denies the older incarnations for good, and starts a new view for
/// the new one, so the restarted server issues versions in an epoch of its own and syncs before it serves.
public struct ServerIdentity: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let id: String
    /// 0 for a server without a data directory (a fresh ID per start, as the classic servers); from 1 with one.
    public let incarnation: Int64

    public init(id: String, incarnation: Int64 = 0) {
        precondition(incarnation >= 0, "incarnations count from 0")
        self.id = id
        self.incarnation = incarnation
    }

    /// The same server's next start.
    public var next: ServerIdentity { ServerIdentity(id: id, incarnation: incarnation + 1) }

    public var description: String { incarnation == 0 ? id : "\(id) (incarnation \(incarnation))" }
}

/// The identity file of a data directory, `server-id`: one framed record (`LogFrame`) holding a kind byte `0x49`,
/// a format version, the ID and the incarnation. It is replaced atomically and durably, before the server
/// registers under what it says.
public enum IdentityFile {
    public static let name = "server-id"
    static let kind: UInt8 = 0x49
    static let formatVersion: UInt8 = 1
    /// The record's bytes besides the ID: kind, version, the ID's length and the incarnation (varints, at most 10
    /// bytes each), with room to spare; a longer record is refused before it is read.
    static let recordBytesBesidesID = 32

    /// The identity saved in `files`, or nil when none was (a new directory, or one an older version wrote).
    public static func read(_ files: DataFiles, idBytesMax: Int) throws(IdentityFileError) -> ServerIdentity? {
        let bytes: [UInt8]?
        do throws(DiskError) {
            bytes = try files.read(name)
        } catch {
            throw .disk(error)
        }
        guard let bytes else { return nil }
        let (payloads, end) = LogScan.payloads(of: bytes, payloadBytesMax: idBytesMax + recordBytesBesidesID)
        guard case .clean = end, payloads.count == 1 else { throw .damaged("its record is damaged or missing") }
        let parsed = payloads[0].withUnsafeBytes { buffer in Result { () throws(LogEntryError) in
            var reader = ByteReader(buffer)
            guard try reader.byte() == kind, try reader.byte() == formatVersion else {
                throw LogEntryError.malformed("not an identity record of format \(formatVersion)")
            }
            let id = try reader.string(maxBytes: idBytesMax)
            let incarnation = try reader.nonNegative()
            guard !id.isEmpty, incarnation >= 1, reader.isAtEnd else {
                throw LogEntryError.malformed("an empty ID, incarnation 0, or bytes after the record")
            }
            return ServerIdentity(id: id, incarnation: incarnation)
        } }
        switch parsed {
        case .success(let identity): return identity
        case .failure(let error): throw .damaged("\(error)")
        }
    }

    /// Saves `identity` in `files`, atomically and durably.
    public static func save(_ identity: ServerIdentity, in files: DataFiles) throws(DiskError) {
        var record = ByteWriter()
        record.byte(kind)
        record.byte(formatVersion)
        record.string(identity.id)
        record.varint(UInt64(identity.incarnation))
        var bytes: [UInt8] = []
        LogFrame.append(record.bytes, to: &bytes)
        try files.replace(name, with: bytes)
    }

    /// The identity to register under after the viewleader denied `denied`: with a data directory, the next
    /// incarnation, saved first; without one, `freshID` (incarnation 0).
    public static func afterDenial(of denied: ServerIdentity, in files: DataFiles?, freshID: () -> String)
        throws(DiskError) -> ServerIdentity
    {
        guard let files else { return ServerIdentity(id: freshID()) }
        try save(denied.next, in: files)
        return denied.next
    }

    /// The identity this start registers under, saved before it is used: the saved ID's next incarnation, or
    /// `freshID` as incarnation 1 when the directory holds none.
    public static func start(in files: DataFiles, idBytesMax: Int, freshID: () -> String)
        throws(IdentityFileError) -> ServerIdentity
    {
        let identity = try read(files, idBytesMax: idBytesMax)?.next ?? ServerIdentity(id: freshID(), incarnation: 1)
        do throws(DiskError) {
            try save(identity, in: files)
        } catch {
            throw .disk(error)
        }
        return identity
    }
}

/// Why a data directory's identity could not be read or saved.
public enum IdentityFileError: Error, CustomStringConvertible {
    case damaged(String)
    case disk(DiskError)

    public var description: String {
        switch self {
        case .damaged(let what):
            "\(IdentityFile.name) cannot be read (\(what)); it holds the server's ID and is replaced atomically, "
                + "so the disk changed it: restore the data directory from a backup, or move it away and start "
                + "this server empty under a new ID"
        case .disk(let error):
            "\(error)"
        }
    }
}
