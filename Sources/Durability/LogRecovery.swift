/// Reads a data directory back at start-up: the newest snapshot, then every log segment after it in order, the torn
/// end of the last one cut off, damage anywhere else refused with the file and offset named.
///
/// Segments are named `wal-<first entry's sequence, 16 hex digits>.log`; entries are numbered from 1 across them.
/// A snapshot (`SnapshotFile`) holds every entry up to its sequence; the segment after it starts at the next one,
/// and the segments before it are leftovers of a crash between writing it and removing them.
public enum LogRecovery {
    /// What the directory held.
    public struct Recovered: Sendable {
        /// Every entry, in order, when read by `recover(_:limits:)`; empty when each went to a `replay` closure.
        public var entries: [LogEntry] = []
        /// The sequence of the last entry (0 when there is none).
        public var lastSequence: UInt64 = 0
        /// The segment new entries go to, the bytes of records already in it, and the size of its file (more, when
        /// zeros preallocated past its records follow them).
        public var currentSegment = WriteAheadLog.segmentName(firstSequence: 1)
        public var currentSegmentBytes = 0
        public var currentSegmentFileBytes = 0
        /// The snapshot read, its size in bytes and how many entries it held; nil when there was none.
        public var snapshot: (name: String, bytes: Int, entries: Int)?
        /// Entries read from log segments (after the snapshot).
        public var logEntries = 0
        /// The torn end that was cut off, if any: for the operator's log.
        public var cutOff: (segment: String, offset: Int, damage: RecordDamage)?
        /// Files removed as leftovers: segments a snapshot covers, older snapshots, unfinished temporary files.
        public var removed: [String] = []
    }

    /// Reads the directory, collecting every entry into `entries`.
    public static func recover(_ files: DataFiles, limits: LogEntryLimits) throws(RecoveryError) -> Recovered {
        var entries: [LogEntry] = []
        var recovered = try recover(files, limits: limits) { entries.append($0) }
        recovered.entries = entries
        return recovered
    }

    /// Reads the directory, handing every entry to `replay` in order (a large store is never held twice), cutting
    /// off (durably) a torn end of the last segment and removing leftovers.
    public static func recover(_ files: DataFiles, limits: LogEntryLimits,
                               replay: (LogEntry) -> Void) throws(RecoveryError) -> Recovered {
        let names = try disk { () throws(DiskError) in try files.names() }
        var recovered = Recovered()
        for name in names where name.hasSuffix(SnapshotFile.temporarySuffix) {
            try disk { () throws(DiskError) in try files.remove(name) }
            recovered.removed.append(name)
        }
        let snapshots = names.compactMap { name in SnapshotFile.sequence(ofSnapshot: name).map { (name, $0) } }
            .sorted { $0.1 > $1.1 }
        if let (name, through) = snapshots.first {
            let bytes = try disk { () throws(DiskError) in try files.read(name) } ?? []
            let count = try SnapshotFile.read(bytes, name: name, limits: limits, replay: replay)
            recovered.snapshot = (name, bytes.count, count)
            recovered.lastSequence = through
            recovered.currentSegment = WriteAheadLog.segmentName(firstSequence: through + 1)
            for (older, _) in snapshots.dropFirst() {
                try disk { () throws(DiskError) in try files.remove(older) }
                recovered.removed.append(older)
            }
        }
        let base = recovered.lastSequence
        var segments: [(name: String, first: UInt64)] = []
        for name in names {
            guard let first = WriteAheadLog.firstSequence(ofSegment: name) else { continue }
            if first <= base {
                try disk { () throws(DiskError) in try files.remove(name) }
                recovered.removed.append(name)
            } else {
                segments.append((name, first))
            }
        }
        segments.sort { $0.first < $1.first }
        for (index, segment) in segments.enumerated() {
            guard segment.first == recovered.lastSequence + 1 else {
                throw .gap(segment: segment.name, expectedFirst: recovered.lastSequence + 1)
            }
            let bytes = try disk { () throws(DiskError) in try files.read(segment.name) } ?? []
            var entryError: (offset: Int, error: LogEntryError)?
            let end = bytes.withUnsafeBytes { buffer in
                LogScan.scan(buffer, payloadBytesMax: limits.payloadBytesMax) { payload, offset in
                    guard entryError == nil else { return }
                    do throws(LogEntryError) {
                        replay(try LogEntry(payload: payload, limits: limits))
                        recovered.lastSequence += 1
                        recovered.logEntries += 1
                    } catch {
                        entryError = (offset, error)
                    }
                }
            }
            if let entryError {
                throw .unreadableEntry(segment: segment.name, offset: entryError.offset, entryError.error)
            }
            recovered.currentSegment = segment.name
            recovered.currentSegmentBytes = bytes.count
            recovered.currentSegmentFileBytes = bytes.count
            switch end {
            case .clean:
                break
            case .corrupt(let offset, let damage):
                throw .corrupt(segment: segment.name, offset: offset, damage)
            case .torn(let offset, .zeroFilled):
                // The preallocated end of a segment (or space a crash extended and never filled): not damage.
                recovered.currentSegmentBytes = offset
            case .torn(let offset, let damage):
                guard index == segments.count - 1 else { throw .corrupt(segment: segment.name, offset: offset, damage) }
                try disk { () throws(DiskError) in try files.truncate(segment.name, to: offset) }
                recovered.cutOff = (segment.name, offset, damage)
                recovered.currentSegmentBytes = offset
                recovered.currentSegmentFileBytes = offset
            }
        }
        return recovered
    }

    /// Runs one file operation, its failure as a recovery error.
    private static func disk<T>(_ operation: () throws(DiskError) -> T) throws(RecoveryError) -> T {
        do throws(DiskError) {
            return try operation()
        } catch {
            throw .disk(error)
        }
    }
}

/// Why a data directory's log cannot be read back. Start-up stops with this message: nothing is skipped.
public enum RecoveryError: Error, CustomStringConvertible {
    /// A record before the end of the log is damaged.
    case corrupt(segment: String, offset: Int, RecordDamage)
    /// A record's checksum matched but it is not an entry this server writes.
    case unreadableEntry(segment: String, offset: Int, LogEntryError)
    /// A snapshot is damaged (snapshots are renamed into place only once whole and synced, so the disk did it).
    case damagedSnapshot(name: String, offset: Int, RecordDamage)
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
        case .damagedSnapshot(let name, let offset, let damage):
            "\(name) holds \(damage) at offset \(offset); a snapshot is renamed into place only once whole, so the "
                + "disk changed it since: restore the data directory from a backup, or move it away and start this "
                + "server empty to copy its ranges from its replicas"
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
