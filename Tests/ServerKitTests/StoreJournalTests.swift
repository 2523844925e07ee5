import Durability
import Placement
import Seeded
import Testing
import Wire
@testable import ServerKit

/// The journal a server logs: replaying what the stores recorded rebuilds them exactly.
struct StoreJournalTests {
    let whole = [PositionRange(0, HashRing.defaultRingSize - 1)]

    /// Writes with and without IDs, stale writes that only add an ID, pulled keys, tombstones and a dropped range,
    /// each journaled and replayed (through the log entry's bytes) onto an empty store: the same entries, the same
    /// remembered write IDs.
    @Test func replayingTheJournalRebuildsTheStore() throws {
        var store = VersionedStore()
        store.startJournaling()
        var replayed = VersionedStore()
        var generator = SplitMix64(seed: 7)
        for step in 0..<400 {
            let key = "key\(generator.next() % 60)"
            let position = store.position(of: key)
            let version = Version(epoch: Int64(generator.next() % 4), counter: Int64(step))
            switch generator.next() % 10 {
            case 0:
                let pulled = PulledEntry(key: key, entry: VersionedEntry(value: "pulled\(step)", version: version),
                                         writeIDs: [RememberedWrite(
                                            writeID: WriteID(client: 9, sequence: Int64(step + 1)), version: version)])
                store.merge(pulled, at: position, nowMs: 0)
            case 1:
                let low = Int(generator.next() % 9_000)
                store.removeAll { $0 >= low && $0 <= low + 999 }
            case 2:
                store.apply(VersionedEntry(value: nil, version: version), to: key, at: position)
            default:
                let writeID = generator.next() % 2 == 0
                    ? WriteID(client: generator.next() % 3, sequence: Int64(step + 1)) : nil
                store.apply(VersionedEntry(value: "v\(step)", version: version), to: key, at: position,
                            writeID: writeID)
            }
            for entry in store.takeJournal() {
                let limits = LogEntryLimits(valueBytesMax: 1 << 20)
                let decoded = try entry.payload.withUnsafeBytes { try LogEntry(payload: $0, limits: limits) }
                replayed.replay(decoded, nowMs: 0)
            }
            if step % 20 == 19 {
                #expect(replayed.entries(in: whole) == store.entries(in: whole), "after step \(step)")
            }
        }
        #expect(store.count > 0)
        replayed.checkInvariants()
    }

    @Test func aStoreInMemoryJournalsNothing() {
        var store = VersionedStore()
        store.apply(VersionedEntry(value: "v", version: .zero), to: "k")
        store.removeAll { _ in true }
        #expect(store.takeJournal().isEmpty)
        var classic = ServerCore()
        _ = classic.handle(.set(key: "k", value: "v"))
        #expect(classic.takeJournal().isEmpty)
    }

    @Test func classicSetsReplayInOrder() {
        var classic = ServerCore()
        classic.startJournaling()
        for value in ["one", "two", "three"] { _ = classic.handle(.set(key: "k", value: value)) }
        _ = classic.handle(.get(key: "k"))
        let journal = classic.takeJournal()
        #expect(journal.count == 3)
        var replayed = ServerCore()
        for entry in journal { replayed.replay(entry) }
        #expect(replayed.store["k"]?.text == "three")
        #expect(classic.takeJournal().isEmpty)
    }
}
