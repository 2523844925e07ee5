/// Reads a data directory's log back at start-up: every segment in order, the torn end of the last one cut off,
/// damage anywhere else refused with the file and offset named.
///
/// Segments are named `wal-<first entry's sequence, 16 hex digits>.log`; entries are numbered from 1 across them.
public enum LogRecovery {
    /// What the log held.
    public struct Recovered: Sendable {
        /// Every entry, in the order written.
        public var entries: [LogEntry] = []
        /// The sequence of the last entry (0 when there is none).
        public var lastSequence: UInt64 = 0
        /// The segment new entries go to.
        public var currentSegment = WriteAheadLog.segmentName(firstSequence: 1)
        /// The torn end that was cut off, if any: for the operator's log.
        public var cutOff: (segment: String, offset: Int, damage: RecordDamage)?
    }

    /// Reads every segment in `files`, cutting off (durably) a torn end of the last one.
    public static func recover(_ files: DataFiles, limits: LogEntryLimits) throws(RecoveryError) -> Recovered {
        let segments: [(name: String, first: UInt64)]
        do throws(DiskError) {
            segments = try files.names()
                .compactMap { name in WriteAheadLog.firstSequence(ofSegment: name).map { (name, $0) } }
                .sorted { $0.first < $1.first }
        } catch {
            throw .disk(error)
        }
        var recovered = Recovered()
        for (index, segment) in segments.enumerated() {
            guard segment.first == recovered.lastSequence + 1 else {
                throw .gap(segment: segment.name, expectedFirst: recovered.lastSequence + 1)
            }
            let bytes: [UInt8]
            do throws(DiskError) {
                bytes = try files.read(segment.name) ?? []
            } catch {
                throw .disk(error)
            }
            var entryError: (offset: Int, error: LogEntryError)?
            let end = bytes.withUnsafeBytes { buffer in
                LogScan.scan(buffer, payloadBytesMax: limits.payloadBytesMax) { payload, offset in
                    guard entryError == nil else { return }
                    do throws(LogEntryError) {
                        recovered.entries.append(try LogEntry(payload: payload, limits: limits))
                        recovered.lastSequence += 1
                    } catch {
                        entryError = (offset, error)
                    }
                }
            }
            if let entryError {
                throw .unreadableEntry(segment: segment.name, offset: entryError.offset, entryError.error)
            }
            recovered.currentSegment = segment.name
            switch end {
            case .clean:
                break
            case .corrupt(let offset, let damage):
                throw .corrupt(segment: segment.name, offset: offset, damage)
            case .torn(let offset, let damage):
                guard index == segments.count - 1 else { throw .corrupt(segment: segment.name, offset: offset, damage) }
                do throws(DiskError) {
                    try files.truncate(segment.name, to: offset)
                } catch {
                    throw .disk(error)
                }
                recovered.cutOff = (segment.name, offset, damage)
            }
        }
        return recovered
    }
}

/// Why a data directory's log cannot be read back. Start-up stops with this message: nothing is skipped.
public enum RecoveryError: Error, CustomStringConvertible {
    /// A record before the end of the log is damaged.
    case corrupt(segment: String, offset: Int, RecordDamage)
    /// A record's checksum matched but it is not an entry this server writes.
    case unreadableEntry(segment: String, offset: Int, LogEntryError)
    /// A segment is missing: the next one does not start where the previous ended.
    case gap(segment: String, expectedFirst: UInt64)
    /// The directory could not be read.
    case disk(DiskError)

    public var description: String {
        switch self {
        case .corrupt(let segment, let offset, let damage):
            "\(segment) holds \(damage) at offset \(offset), with more records after it; restore the data "
                + "directory from a backup, or move it away and start this server empty to copy its ranges from "
                + "its replicas"
        case .unreadableEntry(let segment, let offset, let error):
            "\(segment) holds \(error) at offset \(offset); was this directory written by another program?"
        case .gap(let segment, let expected):
            "\(segment) should begin at entry \(expected): a log segment is missing; restore the data directory "
                + "from a backup, or move it away and start this server empty"
        case .disk(let error):
            "\(error)"
        }
    }
}
