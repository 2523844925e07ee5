import Durability
import Wire

/// Both stores as they were when the log reached one sequence, to be written as a snapshot away from the event
/// loop while the server goes on changing its own copies (the stores are values: the copies share storage until
/// one of them changes a bucket, which then copies just that bucket).
public struct StoreSnapshot: Sendable {
    /// The sequence of the last log entry the stores reflect.
    public let through: UInt64
    let store: VersionedStore
    let classic: KeyValueStore

    /// Bytes framed before they go to the file: one append per chunk, so neither the whole snapshot nor one
    /// append per entry.
    static let chunkBytes = 1 << 20

    /// Writes the snapshot under a temporary name, syncs it and renames it into place; then removes the log
    /// segments and older snapshots it covers. Returns the snapshot's size in bytes. A failure leaves the log
    /// as it was, still holding everything.
    public func write(to files: DataFiles) throws(DiskError) -> Int {
        let name = SnapshotFile.name(through: through)
        let temporary = name + SnapshotFile.temporarySuffix
        var writer = SnapshotFile.Writer(through: through)
        var written = 0
        func flush(_ bytes: [UInt8]) throws(DiskError) {
            try files.append(bytes, to: temporary)
            written += bytes.count
        }
        do throws(DiskError) {
            try files.remove(temporary)
            try store.forEachEntry { (entry) throws(DiskError) in
                writer.add(.replicated(entry))
                if writer.pendingBytes >= Self.chunkBytes { try flush(writer.take()) }
            }
            try classic.forEachEntry { (key, value) throws(DiskError) in
                writer.add(.classicSet(key: key, value: value.text))
                if writer.pendingBytes >= Self.chunkBytes { try flush(writer.take()) }
            }
            try flush(writer.finish())
            try files.sync(temporary)
            try files.rename(temporary, to: name)
        } catch {
            try? files.remove(temporary)
            throw error
        }
        for covered in try files.names() {
            let isOlderSnapshot = SnapshotFile.sequence(ofSnapshot: covered).map { $0 < through } ?? false
            let isCoveredSegment = WriteAheadLog.firstSequence(ofSegment: covered).map { $0 <= through } ?? false
            if isOlderSnapshot || isCoveredSegment { try files.remove(covered) }
        }
        return written
    }
}
