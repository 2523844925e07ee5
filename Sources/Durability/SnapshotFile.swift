/// A snapshot: every entry a server's stores hold, as of one log sequence, in one file, so the log segments before
/// it can go and a restart reads the stores back without replaying their whole history.
///
/// The file is named `snap-<sequence, 16 hex digits>.snap` and holds framed records (`LogFrame`): a header (kind
/// byte `0x53`, format version, the sequence), the entries as log entries, and a trailer (kind byte `0x45`, how
/// many entries came before it). It is written under a temporary name, synced, then renamed, so a snapshot that
/// exists is whole; the trailer and the checksums catch one damaged later.
public enum SnapshotFile {
    static let prefix = "snap-"
    static let suffix = ".snap"
    /// A snapshot being written carries this after its name until it is complete.
    public static let temporarySuffix = ".tmp"
    static let formatVersion: UInt8 = 1
    private static let headerKind: UInt8 = 0x53
    private static let trailerKind: UInt8 = 0x45

    private static let names = SequenceFileName(prefix: prefix, suffix: suffix)

    /// The name of the snapshot holding every entry up to `sequence`.
    public static func name(through sequence: UInt64) -> String { names.name(sequence) }

    /// The sequence snapshot `name` holds entries up to, or nil when `name` is not a snapshot's name.
    public static func sequence(ofSnapshot name: String) -> UInt64? { names.sequence(of: name) }

    /// Frames a snapshot's records into chunks, so a large store is written without being held twice in memory.
    public struct Writer {
        public let through: UInt64
        public private(set) var entryCount = 0
        private var pending: [UInt8] = []

        public init(through: UInt64) {
            self.through = through
            var header = ByteWriter()
            header.byte(SnapshotFile.headerKind)
            header.byte(SnapshotFile.formatVersion)
            header.varint(through)
            LogFrame.append(header.bytes, to: &pending)
        }

        public mutating func add(_ entry: LogEntry) {
            LogFrame.append(entry.payload, to: &pending)
            entryCount += 1
        }

        /// Bytes framed and not yet taken.
        public var pendingBytes: Int { pending.count }

        /// The bytes framed so far, for the file.
        public mutating func take() -> [UInt8] {
            defer { pending = [] }
            return pending
        }

        /// The trailer, with whatever was not yet taken: the file's last bytes.
        public mutating func finish() -> [UInt8] {
            var trailer = ByteWriter()
            trailer.byte(SnapshotFile.trailerKind)
            trailer.count(entryCount)
            LogFrame.append(trailer.bytes, to: &pending)
            return take()
        }
    }

    /// Reads snapshot `name`'s `bytes`, handing each entry to `replay` in order; returns how many there were.
    /// Any damage, a wrong sequence in the header or a missing trailer is an error naming the offset: a snapshot
    /// is renamed into place only once whole, so nothing in it is ever cut off as a torn end would be.
    public static func read(_ bytes: [UInt8], name: String, limits: LogEntryLimits,
                            replay: (LogEntry) -> Void) throws(RecoveryError) -> Int {
        guard let expected = sequence(ofSnapshot: name) else { preconditionFailure("\(name) is not a snapshot") }
        var state = ReadState.expectingHeader
        var failure: RecoveryError?
        let end = bytes.withUnsafeBytes { buffer in
            LogScan.scan(buffer, payloadBytesMax: limits.payloadBytesMax) { payload, offset in
                guard failure == nil else { return }
                do throws(RecoveryError) {
                    state = try state.next(payload, offset: offset, name: name, expected: expected, limits: limits,
                                           replay: replay)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
        switch end {
        case .clean: break
        case .corrupt(let offset, let damage), .torn(let offset, let damage):
            throw .damagedSnapshot(name: name, offset: offset, damage)
        }
        guard case .finished(let count) = state else {
            let early = LogEntryError.malformed("no trailer: the snapshot ends early")
            throw .unreadableEntry(segment: name, offset: bytes.count, early)
        }
        return count
    }

    private enum ReadState {
        case expectingHeader
        case entries(count: Int)
        case finished(count: Int)

        func next(_ payload: UnsafeRawBufferPointer, offset: Int, name: String, expected: UInt64,
                  limits: LogEntryLimits, replay: (LogEntry) -> Void) throws(RecoveryError) -> ReadState {
            var reader = ByteReader(payload)
            do throws(LogEntryError) {
                switch self {
                case .expectingHeader:
                    guard try reader.byte() == SnapshotFile.headerKind else {
                        throw LogEntryError.malformed("no snapshot header")
                    }
                    guard try reader.byte() == SnapshotFile.formatVersion else {
                        throw LogEntryError.malformed("a snapshot format this server does not read")
                    }
                    guard try reader.varint() == expected, reader.isAtEnd else {
                        throw LogEntryError.malformed("a header whose sequence is not the one in the file's name")
                    }
                    return .entries(count: 0)
                case .entries(let count):
                    if payload.first == SnapshotFile.trailerKind {
                        _ = try reader.byte()
                        guard try reader.count(max: Int.max) == count, reader.isAtEnd else {
                            throw LogEntryError.malformed("a trailer that counts a different number of entries")
                        }
                        return .finished(count: count)
                    }
                    replay(try LogEntry(payload: payload, limits: limits))
                    return .entries(count: count + 1)
                case .finished:
                    throw LogEntryError.malformed("a record after the trailer")
                }
            } catch {
                throw .unreadableEntry(segment: name, offset: offset, error)
            }
        }
    }
}
