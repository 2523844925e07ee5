/// How a server's log reaches the disk before writes are acknowledged: group commit.
///
/// Entries are framed into a buffer as the stores make them. One batch at a time goes to the writer (another
/// thread in production, the simulated disk in the simulator); every entry framed while a batch is being written
/// and synced waits in the buffer and goes in the next batch, so one sync covers every write that arrived during
/// the previous one and throughput grows with load instead of collapsing to one write per sync. Pure: no I/O, no
/// clock; the caller passes `nowMs` and carries batches out.
///
/// Segments are preallocated, as etcd's WAL does: a batch that would run past the zeros already written to its
/// segment first fills the next `preallocationBytes` with zeros, and records overwrite them in place. A sync of a
/// record written over space the file already holds leaves the file's size alone, so the file system need not
/// commit its journal for it (on this machine's ext4, 1.5–2× the syncs a second of appending). Recovery takes
/// zeros after the last record as the segment's end.
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

    /// One batch for the writer: fill `zeroFill` of `segment` with zeros, write `bytes` at `offset`, then sync it if
    /// `sync`.
    public struct Batch: Equatable, Sendable {
        public let bytes: [UInt8]
        public let segment: String
        /// Where `bytes` go in the segment: right after the previous batch's.
        public let offset: Int
        /// The range past the segment's preallocated end that must hold zeros before `bytes` are written.
        public let zeroFill: Range<Int>?
        /// The sequence of the last entry in the batch (or of the last entry already written, for a sync alone).
        public let through: UInt64
        public let sync: Bool
    }

    public let mode: SyncMode
    /// How far past its last record a segment's file is filled with zeros ahead of need.
    public let preallocationBytes: Int
    /// The most any segment is preallocated ahead: 4 MiB, written in a few milliseconds.
    public static let preallocationBytesMax = 4 << 20

    /// The preallocation for a log snapshotted every `snapshotLogBytes`: a quarter of it, between 4 KiB and
    /// `preallocationBytesMax`, so a small log's directory stays small.
    public static func preallocation(snapshotLogBytes: Int) -> Int {
        min(preallocationBytesMax, max(4_096, snapshotLogBytes / 4))
    }
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
    /// Bytes of the current segment handed to the writer: where the next batch goes.
    private var handedBytes: Int
    /// Bytes of the current segment's file that hold records or zeros (once the batches handed over are written).
    private var allocatedBytes: Int

    /// A log that continues after what recovery read.
    public init(mode: SyncMode, recovered: LogRecovery.Recovered, nowMs: Int64,
                preallocationBytes: Int = preallocationBytesMax) {
        precondition(preallocationBytes > 0, "a segment is preallocated ahead of its records")
        self.mode = mode
        self.preallocationBytes = preallocationBytes
        segment = recovered.currentSegment
        segmentBytes = recovered.currentSegmentBytes
        handedBytes = recovered.currentSegmentBytes
        allocatedBytes = recovered.currentSegmentFileBytes
        appendedSequence = recovered.lastSequence
        writtenSequence = recovered.lastSequence
        syncedSequence = recovered.lastSequence
        lastSyncMs = nowMs
    }

    /// The sequence a reply made now must wait for before it is sent: everything the replying server changed
    /// so far reaches the disk (synced in `always`, written otherwise) before anyone hears of it.
    public var replyBarrier: UInt64 { appendedSequence }

    /// What the disk may still have to take: bytes framed and not yet handed to the writer, those of the batches
    /// handed over and their zero fills, and the next preallocation, which any batch may start.
    public var unwrittenBytes: Int {
        [sealing, inFlight].reduce(buffer.count + preallocationBytes) { total, batch in
            total + (batch?.bytes.count ?? 0) + (batch?.zeroFill?.count ?? 0)
        }
    }

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
        sealing = makeBatch(sync: true)
        segment = Self.segmentName(firstSequence: appendedSequence + 1)
        segmentBytes = 0
        handedBytes = 0
        allocatedBytes = 0
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
        let batch = makeBatch(sync: mode == .always || syncDue)
        inFlight = batch
        return batch
    }

    /// The buffered entries as the current segment's next batch, preallocating past them when they would not fit.
    private mutating func makeBatch(sync: Bool) -> Batch {
        let offset = handedBytes
        handedBytes += buffer.count
        var zeroFill: Range<Int>?
        if handedBytes > allocatedBytes {
            let allocated = (handedBytes / preallocationBytes + 1) * preallocationBytes
            zeroFill = allocatedBytes..<allocated
            allocatedBytes = allocated
        }
        defer { buffer = [] }
        return Batch(bytes: buffer, segment: segment, offset: offset, zeroFill: zeroFill, through: appendedSequence,
                     sync: sync)
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

    /// Carries out `batch` on `files`: what the writer thread does. `syncing: false` leaves out the sync, as a
    /// crash in the middle of the batch would.
    public static func carryOut(_ batch: Batch, on files: DataFiles, syncing: Bool = true) throws(DiskError) {
        if let zeroFill = batch.zeroFill {
            try files.write([UInt8](repeating: 0, count: zeroFill.count), to: batch.segment, at: zeroFill.lowerBound)
        }
        if !batch.bytes.isEmpty { try files.write(batch.bytes, to: batch.segment, at: batch.offset) }
        if batch.sync && syncing { try files.sync(batch.segment) }
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
