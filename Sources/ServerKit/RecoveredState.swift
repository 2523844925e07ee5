import Durability
import Placement
import Wire

/// What a server starts with from its data directory: both stores rebuilt from the log, journaling from now on,
/// and the log positioned after what was read.
public struct RecoveredState {
    public var store: VersionedStore
    public var classic: ServerCore
    public var log: WriteAheadLog
    /// Entries read back.
    public let entriesReplayed: Int
    /// A torn end that was cut off, for the operator's log.
    public let cutOff: String?
    /// Free bytes on the directory's disk after recovery.
    public let freeBytes: Int

    /// Reads `files`' log and replays it onto empty stores. `nowMs` starts the retention of restored write IDs.
    public static func recover(from files: DataFiles, mode: WriteAheadLog.SyncMode, recordLimits: RecordLimits,
                               ringSize: Int = HashRing.defaultRingSize, nowMs: Int64)
        throws(RecoveryError) -> RecoveredState
    {
        let limits = LogEntryLimits(valueBytesMax: recordLimits.valueBytesMax, ringSize: ringSize)
        let recovered = try LogRecovery.recover(files, limits: limits)
        var store = VersionedStore(ringSize: ringSize)
        var classic = ServerCore()
        for entry in recovered.entries {
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
        return RecoveredState(store: store, classic: classic,
                              log: WriteAheadLog(mode: mode, recovered: recovered, nowMs: nowMs),
                              entriesReplayed: recovered.entries.count, cutOff: cutOff, freeBytes: freeBytes)
    }
}
