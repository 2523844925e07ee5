import Durability
import Placement
import Wire

/// What a server starts with from its data directory: both stores rebuilt from its newest snapshot and the log
/// after it, journaling from now on, and the log positioned after what was read.
public struct RecoveredState {
    public var store: VersionedStore
    public var classic: ServerCore
    public var log: WriteAheadLog
    /// Entries read back from the snapshot and from the log after it.
    public let snapshotEntries: Int
    public let logEntries: Int
    /// The size of the snapshot read (0 when there was none): the next one is due once the log outgrows it.
    public let snapshotBytes: Int
    /// A torn end that was cut off, for the operator's log.
    public let cutOff: String?
    /// Files removed as leftovers of an interrupted snapshot, for the operator's log.
    public let removed: [String]
    /// Free bytes on the directory's disk after recovery.
    public let freeBytes: Int

    /// Every entry read back.
    public var entriesReplayed: Int { snapshotEntries + logEntries }

    /// Reads `files`' snapshot and log and replays them onto empty stores. `nowMs` starts the retention of
    /// restored write IDs; `snapshotPolicy` sizes the log's preallocation.
    public static func recover(from files: DataFiles, mode: WriteAheadLog.SyncMode, recordLimits: RecordLimits,
                               ringSize: Int = HashRing.defaultRingSize, snapshotPolicy: SnapshotPolicy,
                               nowMs: Int64)
        throws(RecoveryError) -> RecoveredState
    {
        let limits = LogEntryLimits(valueBytesMax: recordLimits.valueBytesMax, ringSize: ringSize)
        var store = VersionedStore(ringSize: ringSize)
        var classic = ServerCore()
        let recovered = try LogRecovery.recover(files, limits: limits) { entry in
            if case .classicSet = entry { classic.replay(entry) } else { store.replay(entry, nowMs: nowMs) }
        }
        store.startJournaling()
        classic.startJournaling()
        let cutOff = recovered.cutOff.map { "cut off \($0.damage) at offset \($0.offset) of \($0.segment)" }
        let freeBytes: Int
        do throws(DiskError) {
            freeBytes = try files.freeBytes()
        } catch {
            throw .disk(error)
        }
        let preallocationBytes = WriteAheadLog.preallocation(snapshotLogBytes: snapshotPolicy.logBytesMin)
        return RecoveredState(store: store, classic: classic,
                              log: WriteAheadLog(mode: mode, recovered: recovered, nowMs: nowMs,
                                                 preallocationBytes: preallocationBytes),
                              snapshotEntries: recovered.snapshot?.entries ?? 0, logEntries: recovered.logEntries,
                              snapshotBytes: recovered.snapshot?.bytes ?? 0, cutOff: cutOff,
                              removed: recovered.removed, freeBytes: freeBytes)
    }

    /// What recovery read, for the operator's log: `recovered N entries (S from a snapshot, L from the log)`.
    public var summary: String {
        var line = "recovered \(entriesReplayed) entries (\(snapshotEntries) from a snapshot, \(logEntries) from the "
            + "log)"
        if !removed.isEmpty { line += "; removed \(removed.sorted().joined(separator: ", ")), left by a snapshot" }
        return line
    }
}
