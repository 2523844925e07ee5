/// How a server's log reaches the disk before writes are acknowledged: group commit.
///
/// Entries are framed into a buffer as the stores make them. One batch at a time goes to the writer (another
/// thread in production, the simulated disk in the simulator); every entry framed while a batch is being written
/// and synced waits in the buffer and goes in the next batch, so one sync covers every write that arrived during
/// the previous one and throughput grows with load instead of collapsing to one write per sync. Pure: no I/O, no
/// clock; the caller passes `nowMs` and carries batches out.
public struct WriteAheadLog: Sendable {
    /// When the log is synced, and so which writes a crash of the machine may lose (README, "Durability").
    public enum SyncMode: String, Sendable, CaseIterable {
        /// Synced before any reply that depends on it: a power cut loses nothing acknowledged.
        case always
        /// Written before replies, synced at least once a second: a power cut may lose the last second of
        /// acknowledged writes; a crash of the process alone loses nothing.
        case everysec
        /// Written before replies, synced when the operating system decides.
        case no
    }

    /// One batch for the writer: append `bytes` to `segment`, then sync it if `sync`.
    public struct Batch: Equatable, Sendable {
        public let bytes: [UInt8]
        public let segment: String
        /// The sequence of the last entry in the batch (or of the last entry already written, for a sync alone).
        public let through: UInt64
        public let sync: Bool
    }

    public let mode: SyncMode
    /// Longest `everysec` goes without a sync while entries wait to be synced.
    public static let everysecSyncIntervalMs: Int64 = 1_000

    public private(set) var segment: String
    /// The sequence of the last entry appended (0 before the first).
    public private(set) var appendedSequence: UInt64
    /// The sequence of the last entry written to the file.
    public private(set) var writtenSequence: UInt64
    /// The sequence of the last entry synced.
    public private(set) var syncedSequence: UInt64
    /// Framed entries not yet handed to the writer, and the sequence of the last one.
    private var buffer: [UInt8] = []
    /// The batch the writer is carrying out.
    public private(set) var inFlight: Batch?
    /// The last batch of the segment `startSegment` closed: it goes before any batch of the new segment and is
    /// always synced, so no segment but the last can ever end torn.
    private var sealing: Batch?
    private var lastSyncMs: Int64
    /// Framed bytes in the current segment: those recovered, plus those appended since.
    public private(set) var segmentBytes: Int

    /// A log that continues after what recovery read.
    public init(mode: SyncMode, recovered: LogRecovery.Recovered, nowMs: Int64) {
        self.mode = mode
        segment = recovered.currentSegment
        segmentBytes = recovered.currentSegmentBytes
        appendedSequence = recovered.lastSequence
        writtenSequence = recovered.lastSequence
        syncedSequence = recovered.lastSequence
        lastSyncMs = nowMs
    }

    /// The sequence a reply made now must wait for before it is sent: everything the replying server changed
    /// so far reaches the disk (synced in `always`, written otherwise) before anyone hears of it.
    public var replyBarrier: UInt64 { appendedSequence }

    /// Bytes framed and not yet handed to the writer, plus those of the batch in flight: what the disk will still
    /// have to take.
    public var unwrittenBytes: Int { buffer.count + (sealing?.bytes.count ?? 0) + (inFlight?.bytes.count ?? 0) }

    /// The sequence up to which replies may go out.
    public var releasedSequence: UInt64 { mode == .always ? syncedSequence : writtenSequence }

    /// Frames `entries` into the buffer.
    public mutating func append(_ entries: [LogEntry]) {
        let before = buffer.count
        for entry in entries {
            LogFrame.append(entry.payload, to: &buffer)
            appendedSequence += 1
        }
        segmentBytes += buffer.count - before
    }

    /// True while the batch closing the previous segment has not been handed to the writer.
    public var isSealing: Bool { sealing != nil }

    /// True once the writer is done with every segment before the current one: they are synced, and nothing
    /// will touch them again, so a snapshot covering them may remove them.
    public var earlierSegmentsSettled: Bool { sealing == nil && (inFlight == nil || inFlight!.segment == segment) }

    /// Ends the current segment after the last entry appended and begins the next, named after the entry that will
    /// follow; returns the sequence of the last entry of the closed segment. A snapshot of the stores taken now
    /// holds exactly the entries up to it, so once the snapshot is durable every segment before the new one can
    /// go. Not while the previous segment is still being closed.
    public mutating func startSegment() -> UInt64 {
        precondition(sealing == nil, "the previous segment is still being closed")
        sealing = Batch(bytes: buffer, segment: segment, through: appendedSequence, sync: true)
        buffer = []
        segment = Self.segmentName(firstSequence: appendedSequence + 1)
        segmentBytes = 0
        return appendedSequence
    }

    /// The next batch to carry out, when none is in flight: whatever is buffered (synced unless the mode says
    /// otherwise), or in `everysec` a sync alone once one is due.
    public mutating func nextBatch(nowMs: Int64) -> Batch? {
        guard inFlight == nil else { return nil }
        if let sealed = sealing {
            sealing = nil
            inFlight = sealed
            return sealed
        }
        let syncDue = mode == .everysec && syncedSequence < writtenSequence
            && nowMs - lastSyncMs >= Self.everysecSyncIntervalMs
        guard !buffer.isEmpty || syncDue else { return nil }
        let sync = mode == .always || syncDue
        let batch = Batch(bytes: buffer, segment: segment, through: appendedSequence, sync: sync)
        buffer = []
        inFlight = batch
        return batch
    }

    /// The writer carried out the batch in flight.
    public mutating func finished(nowMs: Int64) {
        guard let batch = inFlight else { preconditionFailure("no batch is in flight") }
        inFlight = nil
        writtenSequence = batch.through
        if batch.sync {
            syncedSequence = batch.through
            lastSyncMs = nowMs
        }
    }

    /// Carries out `batch` on `files`: what the writer thread does.
    public static func carryOut(_ batch: Batch, on files: DataFiles) throws(DiskError) {
        if !batch.bytes.isEmpty { try files.append(batch.bytes, to: batch.segment) }
        if batch.sync { try files.sync(batch.segment) }
    }

    // MARK: Segment names

    static let segmentPrefix = "wal-"
    static let segmentSuffix = ".log"

    private static let segmentNames = SequenceFileName(prefix: segmentPrefix, suffix: segmentSuffix)

    /// The name of the segment whose first entry has sequence `firstSequence`.
    public static func segmentName(firstSequence: UInt64) -> String { segmentNames.name(firstSequence) }

    /// The first sequence of segment `name`, or nil when `name` is not a segment's name (sequences start at 1).
    public static func firstSequence(ofSegment name: String) -> UInt64? {
        segmentNames.sequence(of: name).flatMap { $0 >= 1 ? $0 : nil }
    }
}
