import Placement
import Wire

/// One change to a server's data, as its log records it: replaying a server's entries in order onto empty stores
/// rebuilds what it held.
public enum LogEntry: Equatable, Sendable {
    /// A key of the replicated store took `entry` (a value or a tombstone) unless it held a newer version, and
    /// remembers the writes in `stored.writeIDs`: a client's write on a primary, a `replicate` on a backup, and a
    /// pulled key are each one of these.
    case replicated(PulledEntry)
    /// The classic store's `set`.
    case classicSet(key: String, value: String)
    /// The replicated store dropped every key at these positions (a range that moved away).
    case dropped([PositionRange])
}

/// Why a record's payload is not a log entry. Its checksum matched, so this is a bug or a file from elsewhere, never
/// a torn write.
public enum LogEntryError: Error, Equatable, CustomStringConvertible {
    /// The payload ends in the middle of a field.
    case truncated
    /// A field holds something no writer writes; the text says what.
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated: "a log entry that ends in the middle of a field"
        case .malformed(let what): "a log entry with \(what)"
        }
    }
}

/// The bounds a decoded entry must respect: what this server could have written.
public struct LogEntryLimits: Sendable, Equatable {
    /// Longest key, in bytes.
    public var keyBytesMax = RecordLimits.keyBytesMax
    /// Longest value, in bytes.
    public var valueBytesMax: Int
    /// Positions of the ring; dropped ranges lie within it.
    public var ringSize: Int

    public init(valueBytesMax: Int, ringSize: Int = HashRing.defaultRingSize) {
        self.valueBytesMax = valueBytesMax
        self.ringSize = ringSize
    }

    /// The longest payload an entry within these limits encodes to: a key and value with their lengths, a version
    /// and the most write IDs, each at its longest varint, or the most dropped ranges.
    public var payloadBytesMax: Int {
        let replicated = 1 + 10 + keyBytesMax + 1 + 10 + valueBytesMax + 20 + 10
            + PullPage.writeIDsPerEntryMax * (8 + 10 + 20)
        let dropped = 1 + 10 + ringSize * 20
        return max(replicated, dropped)
    }
}

extension LogEntry {
    private enum Kind: UInt8 {
        case replicated = 1, classicSet = 2, dropped = 3
    }

    /// The entry's binary payload: a kind byte, then its fields as varints, fixed 64-bit words and
    /// length-prefixed UTF-8 (PROTOCOL.md, "Data directory").
    public var payload: [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .replicated(let stored):
            writer.byte(Kind.replicated.rawValue)
            writer.string(stored.key)
            if let value = stored.entry.value {
                writer.byte(1)
                writer.string(value)
            } else {
                writer.byte(0)
            }
            Self.write(stored.entry.version, to: &writer)
            writer.count(stored.writeIDs.count)
            for remembered in stored.writeIDs {
                writer.fixed64(remembered.writeID.client)
                writer.count(Int(remembered.writeID.sequence))
                Self.write(remembered.version, to: &writer)
            }
        case .classicSet(let key, let value):
            writer.byte(Kind.classicSet.rawValue)
            writer.string(key)
            writer.string(value)
        case .dropped(let ranges):
            writer.byte(Kind.dropped.rawValue)
            writer.count(ranges.count)
            for range in ranges {
                writer.count(range.lowerBound)
                writer.count(range.upperBound)
            }
        }
        return writer.bytes
    }

    /// Decodes a payload, checking every field against `limits`.
    public init(payload: UnsafeRawBufferPointer, limits: LogEntryLimits) throws(LogEntryError) {
        var reader = ByteReader(payload)
        guard let kind = Kind(rawValue: try reader.byte()) else { throw .malformed("an unknown kind of entry") }
        switch kind {
        case .replicated:
            let key = try reader.string(maxBytes: limits.keyBytesMax)
            let value: String?
            switch try reader.byte() {
            case 0: value = nil
            case 1: value = try reader.string(maxBytes: limits.valueBytesMax)
            default: throw .malformed("a value marker that is neither 0 nor 1")
            }
            let version = try Self.readVersion(&reader)
            let count = try reader.count(max: PullPage.writeIDsPerEntryMax)
            var writeIDs: [RememberedWrite] = []
            for _ in 0..<count {
                let client = try reader.fixed64()
                let sequence = Int64(try reader.count(max: Int(WriteID.sequenceMax)))
                guard sequence >= 1 else { throw .malformed("a write ID with sequence 0") }
                writeIDs.append(RememberedWrite(writeID: WriteID(client: client, sequence: sequence),
                                                version: try Self.readVersion(&reader)))
            }
            self = .replicated(PulledEntry(key: key, entry: VersionedEntry(value: value, version: version),
                                           writeIDs: writeIDs))
        case .classicSet:
            self = .classicSet(key: try reader.string(maxBytes: limits.keyBytesMax),
                               value: try reader.string(maxBytes: limits.valueBytesMax))
        case .dropped:
            let count = try reader.count(max: limits.ringSize)
            var ranges: [PositionRange] = []
            for _ in 0..<count {
                let lower = try reader.count(max: limits.ringSize - 1)
                let upper = try reader.count(max: limits.ringSize - 1)
                guard lower <= upper else { throw .malformed("a range whose ends are reversed") }
                ranges.append(PositionRange(lower, upper))
            }
            self = .dropped(ranges)
        }
        guard reader.isAtEnd else { throw .malformed("bytes after its last field") }
    }

    private static func write(_ version: Version, to writer: inout ByteWriter) {
        writer.varint(UInt64(version.epoch))
        writer.varint(UInt64(version.counter))
    }

    private static func readVersion(_ reader: inout ByteReader) throws(LogEntryError) -> Version {
        Version(epoch: try reader.nonNegative(), counter: try reader.nonNegative())
    }
}
