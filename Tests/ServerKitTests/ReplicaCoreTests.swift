import Placement
import Testing
import Wire
@testable import ServerKit

/// The replica core driven by hand: views, leases, writes and pulls as plain events, no sockets or sleeps.
struct ReplicaCoreTests {
    /// View `epoch` of `ids`, as a viewleader describes it when every member had synced the epoch before (or the
    /// members given in `behind` had not).
    static func view(_ epoch: Int64, _ ids: [String], behind: Set<String> = []) -> ServerView {
        ServerView(epoch: epoch, addresses: Dictionary(uniqueKeysWithValues: ids.map { ($0, "h:\($0)") }),
                   syncedEpochs: Dictionary(uniqueKeysWithValues: ids.map { ($0, behind.contains($0) ? -1 : epoch - 1) }))
    }

    /// A key whose primary in `view` is `id`.
    static func key(primaryIn view: ServerView, _ id: String) -> String {
        (0..<10_000).lazy.map { "key-\($0)" }.first { view.ring.primary(forKey: $0) == id }!
    }

    /// A core that has adopted `view`, finished syncing, and holds a lease until 10 s.
    static func ready(_ id: String, in view: ServerView) -> ReplicaCore {
        var core = ReplicaCore(serverID: id)
        _ = core.adopt(view)
        core.syncCompleted(epoch: view.epoch)
        core.noteEveryoneSynced(view.epoch)
        core.renewLease(sentMs: 0, leaseMs: 10_000, marginMs: 0, epoch: view.epoch)
        return core
    }

    @Test func nothingIsServedBeforeAViewALeaseAndASync() {
        var core = ReplicaCore(serverID: "a")
        #expect(core.read("k", epoch: 1, nowMs: 0) == .refuse(.noView, effects: [.fetchView]))
        let one = Self.view(1, ["a"])
        let effects = core.adopt(one)
        #expect(effects == [.sync(epoch: 1, ranges: [PositionRange(0, 9_999)], peers: [])])
        core.renewLease(sentMs: 0, leaseMs: 1_000, marginMs: 100, epoch: 1)
        #expect(core.read("k", epoch: 1, nowMs: 10) == .refuse(.rangeInMotion, effects: []))
        core.syncCompleted(epoch: 1)
        #expect(core.read("k", epoch: 1, nowMs: 10) == .refuse(.rangeInMotion, effects: []))
        core.noteEveryoneSynced(1)
        #expect(core.read("k", epoch: 1, nowMs: 10) == .value(nil))
        #expect(core.read("k", epoch: 1, nowMs: 900) == .refuse(.leaseExpired, effects: []),
                "the lease ends at send time + lease - margin")
    }

    @Test func requestsFromAnotherEpochAreRefusedAndANewerOneFetchesTheView() {
        let core = Self.ready("a", in: Self.view(3, ["a"]))
        #expect(core.read("k", epoch: 2, nowMs: 0) == .refuse(.epochMismatch(mine: 3, theirs: 2), effects: []))
        #expect(core.read("k", epoch: 4, nowMs: 0) == .refuse(.epochMismatch(mine: 3, theirs: 4), effects: [.fetchView]))
    }

    @Test func onlyTheKeysPrimaryServesIt() {
        let view = Self.view(1, ["a", "b", "c", "d"])
        let core = Self.ready("a", in: view)
        let othersKey = Self.key(primaryIn: view, "b")
        #expect(core.read(othersKey, epoch: 1, nowMs: 0) == .refuse(.notPrimary(primary: "b"), effects: []))
    }

    @Test func writeIsVisibleOnlyAfterEveryBackupAcknowledged() throws {
        let view = Self.view(1, ["a", "b", "c", "d"])
        var core = Self.ready("a", in: view)
        let key = Self.key(primaryIn: view, "a")
        let decision = core.write(key, value: "v1", epoch: 1, nowMs: 0, answering: RequestToken(1))
        guard case .replicate(let write) = decision else {
            Issue.record("expected replication, got \(decision)")
            return
        }
        #expect(write.backups == Array(view.ring.replicaSet(forKey: key).dropFirst()))
        #expect(write.epoch == 1 && write.entry.version == Version(epoch: 1, counter: 1))
        #expect(core.read(key, epoch: 1, nowMs: 0) == .value(nil), "not acknowledged yet")
        let committed = core.allBackupsAccepted(write, nowMs: 0)
        #expect(committed)
        #expect(core.read(key, epoch: 1, nowMs: 0) == .value(write.entry))
    }

    @Test func versionsRiseWithEveryWriteAndWithTheEpoch() throws {
        var core = Self.ready("a", in: Self.view(1, ["a"]))
        _ = core.write("k", value: "1", epoch: 1, nowMs: 0, answering: RequestToken(1))
        _ = core.write("k", value: "2", epoch: 1, nowMs: 0, answering: RequestToken(1))
        #expect(core.store["k"]?.version == Version(epoch: 1, counter: 2))
        _ = core.adopt(Self.view(2, ["a"]))
        core.syncCompleted(epoch: 2)
        _ = core.write("k", value: "3", epoch: 2, nowMs: 0, answering: RequestToken(1))
        #expect(core.store["k"]?.version == Version(epoch: 2, counter: 1))
        #expect(core.store["k"]?.value == "3")
    }

    @Test func viewChangeAbandonsWritesStillWaitingForBackups() throws {
        let view = Self.view(1, ["a", "b", "c"])
        var core = Self.ready("a", in: view)
        guard case .replicate(let write) = core.write(Self.key(primaryIn: view, "a"), value: "v", epoch: 1, nowMs: 0,
                                                      answering: RequestToken(1))
        else {
            Issue.record("expected replication")
            return
        }
        _ = core.adopt(Self.view(2, ["a", "b", "c", "d"]))
        let committed = core.allBackupsAccepted(write, nowMs: 0)
        #expect(!committed, "a write from an older epoch never commits")
    }

    @Test func consecutiveViewKeepsSyncedRangesAndPullsOnlyNewOnes() {
        let before = Self.view(1, ["a", "b", "c", "d", "e"])
        let after = Self.view(2, ["a", "b", "c", "d", "e", "f"])
        var core = Self.ready("a", in: before)
        let effects = core.adopt(after)
        let changed = (0..<10_000).map { position in
            let replicas = after.ring.replicaSet(forPosition: position)
            return replicas.contains("a") && replicas != before.ring.replicaSet(forPosition: position)
        }
        let expected = ReplicaCore.ranges(of: changed)
        guard case .sync(2, let ranges, let peers) = effects.first else {
            Issue.record("expected a sync, got \(effects)")
            return
        }
        #expect(ranges == expected, "only ranges of a whose replica set changed are pulled")
        #expect(Set(peers) == ["b", "c", "d", "e", "f"], "every other live member must confirm the new epoch")
    }

    /// Found by the simulator once retried writes were answered from pulled write IDs (seed 292): a primary that had
    /// not synced the previous epoch pulls its positions, and can receive a write its primary abandoned earlier from
    /// one backup; a backup that kept the position would never get it, so the primary would serve (or acknowledge)
    /// a version one replica lacks.
    @Test func aBackupKeepsAPositionOnlyWhenItsPrimaryHadSyncedThePreviousEpochToo() throws {
        let before = Self.view(1, ["a", "b", "c", "d", "e"])
        let sameReplicas = { (after: ServerView, position: Int) in
            after.ring.replicaSet(forPosition: position) == before.ring.replicaSet(forPosition: position)
        }
        let afterSynced = Self.view(2, ["a", "b", "c", "d", "e"])
        let position = try #require((0..<10_000).first { position in
            let replicas = afterSynced.ring.replicaSet(forPosition: position)
            return replicas.contains("a") && replicas.first != "a" && sameReplicas(afterSynced, position)
        })
        let primary = afterSynced.ring.replicaSet(forPosition: position).first!
        var keeping = Self.ready("a", in: before)
        guard case .sync(_, let keptRanges, _) = keeping.adopt(afterSynced).first else { throw Failure("no sync") }
        #expect(!keptRanges.contains { $0.contains(position) }, "kept: its primary had synced epoch 1")
        var pulling = Self.ready("a", in: before)
        let primaryBehind = Self.view(2, ["a", "b", "c", "d", "e"], behind: [primary])
        guard case .sync(_, let pulledRanges, _) = pulling.adopt(primaryBehind).first else { throw Failure("no sync") }
        #expect(pulledRanges.contains { $0.contains(position) }, "pulled: its primary pulls it too")
    }

    @Test func keysWhoseReplicaSetDidNotChangeAreServedWhileOthersAreStillBeingPulled() throws {
        let before = Self.view(1, ["a", "b", "c", "d", "e"])
        let after = Self.view(2, ["a", "b", "c", "d", "e", "f"])
        let keys = (0..<5_000).map { "key-\($0)" }
        let unchangedKeys = keys.filter { before.ring.replicaSet(forKey: $0) == after.ring.replicaSet(forKey: $0) }
        let unchanged = try #require(unchangedKeys.first, "some key must keep its replica set when f joins")
        let server = after.ring.primary(forKey: unchanged)!
        var core = Self.ready(server, in: before)
        _ = core.write(unchanged, value: "v", epoch: 1, nowMs: 0, answering: RequestToken(1))
        _ = core.adopt(after)
        #expect(core.read(unchanged, epoch: 2, nowMs: 0) != .refuse(.rangeInMotion, effects: []),
                "served at once, before this epoch's sync completes")
        let moved = try #require(keys.first { after.ring.primary(forKey: $0) == "f" })
        var newcomer = ReplicaCore(serverID: "f")
        _ = newcomer.adopt(after)
        newcomer.renewLease(sentMs: 0, leaseMs: 10_000, marginMs: 0, epoch: 2)
        #expect(newcomer.read(moved, epoch: 2, nowMs: 0) == .refuse(.rangeInMotion, effects: []))
        newcomer.syncCompleted(epoch: 2)
        #expect(newcomer.read(moved, epoch: 2, nowMs: 0) == .refuse(.rangeInMotion, effects: []),
                "a moved range waits until every member has synced, so its backups hold what it serves")
        newcomer.noteEveryoneSynced(2)
        #expect(newcomer.read(moved, epoch: 2, nowMs: 0) == .value(nil))
    }

    /// Why a member pulls a range again when its replica set changes, though it held the range already: a write
    /// its primary abandoned after one backup took it must reach every member of the new replica set, or a new
    /// primary holding it could serve it and lose it with its next crash. (A simulated soak with this pull left out
    /// for members that keep a range passed 300 seeds; this test fails.)
    @Test func aMemberThatKeepsARangeStillGetsAWriteAbandonedOnAnotherReplica() throws {
        let three = Self.view(1, ["a", "b", "c"])
        let four = Self.view(2, ["a", "b", "c", "d"])
        let key = try #require((0..<10_000).lazy.map { "key-\($0)" }.first {
            let after = four.ring.replicaSet(forKey: $0)
            return three.ring.primary(forKey: $0) == "a" && after.contains("a") && after != three.ring.replicaSet(forKey: $0)
        })
        let ids = ["a", "b", "c"]
        var cores = ids.map { Self.ready($0, in: three) }
        guard case .replicate(let write) = cores[0].write(key, value: "abandoned", epoch: 1, nowMs: 0,
                                                          answering: RequestToken(1)) else {
            Issue.record("a is the primary and must replicate")
            return
        }
        let taker = try #require(write.backups.first)
        #expect(cores[ids.firstIndex(of: taker)!].applyReplicated(key, entry: write.entry, epoch: 1) == nil,
                "one backup took it; the other never heard")
        cores[0].oneBackupRefused(write)
        cores.append(ReplicaCore(serverID: "d"))
        let syncs = cores.indices.map { cores[$0].adopt(four) }
        for index in cores.indices {
            guard case .sync(2, let ranges, let peers) = syncs[index].first else { continue }
            for peer in peers {
                // As a sync does: one peer after another, each told what the puller holds by then.
                let held = cores[index].store.summaries(in: ranges, after: nil)
                let page = try cores.first { $0.serverID == peer }!
                    .entries(in: ranges, epoch: 2, pullerHas: held, bytesMax: .max).get()
                cores[index].merge(pulled: page.entries, epoch: 2, nowMs: 0)
            }
            cores[index].syncCompleted(epoch: 2)
        }
        for id in four.ring.replicaSet(forKey: key) {
            #expect(cores.first { $0.serverID == id }!.store[key]?.value == "abandoned", "\(id) lacks the write")
        }
    }

    @Test func skippedEpochForcesAFullPull() {
        var core = Self.ready("a", in: Self.view(1, ["a", "b", "c", "d"]))
        let skipped = Self.view(3, ["a", "b", "c", "d"])
        guard case .sync(3, let ranges, _) = core.adopt(skipped).first else {
            Issue.record("expected a sync")
            return
        }
        let replicaPositions = (0..<10_000).filter { skipped.ring.replicaSet(forPosition: $0).contains("a") }
        #expect(ranges.reduce(0) { $0 + $1.upperBound - $1.lowerBound + 1 } == replicaPositions.count)
    }

    @Test func backupAppliesWritesOnlyInItsEpochAndForItsKeys() {
        let view = Self.view(1, ["a", "b", "c", "d"])
        var core = Self.ready("b", in: view)
        let mine = (0..<10_000).lazy.map { "key-\($0)" }.first { view.ring.replicaSet(forKey: $0).dropFirst().contains("b") }!
        let notMine = (0..<10_000).lazy.map { "key-\($0)" }.first { !view.ring.replicaSet(forKey: $0).contains("b") }!
        let entry = VersionedEntry(value: "v", version: Version(epoch: 1, counter: 1))
        #expect(core.applyReplicated(mine, entry: entry, epoch: 2) == .epochMismatch(mine: 1, theirs: 2))
        #expect(core.applyReplicated(notMine, entry: entry, epoch: 1) == .notReplica)
        #expect(core.applyReplicated(mine, entry: entry, epoch: 1) == nil)
        #expect(core.store[mine] == entry)
    }

    @Test func pullReturnsEntriesInTheRangesIncludingTombstones() throws {
        var core = Self.ready("a", in: Self.view(1, ["a"]))
        _ = core.write("x", value: "1", epoch: 1, nowMs: 0, answering: RequestToken(1))
        _ = core.write("y", value: nil, epoch: 1, nowMs: 0, answering: RequestToken(1))
        let positionX = HashRing.position(of: "x")
        let got = try core.entries(in: [PositionRange(positionX, positionX)], epoch: 1).get()
        #expect(got.entries.map(\.key) == ["x"] && !got.more)
        let all = try core.entries(in: [PositionRange(0, 9_999)], epoch: 1).get().entries
        #expect(all.map(\.key) == (positionX < HashRing.position(of: "y") ? ["x", "y"] : ["y", "x"]),
                "entries come in ring position order")
        #expect(all.first { $0.key == "y" }?.entry.value == nil, "tombstones are handed over too")
        #expect(throws: Refusal.self) { try core.entries(in: [], epoch: 2).get() }
    }

    @Test func garbageIsCollectedOnlyWhenEveryoneHasSynced() {
        var core = Self.ready("a", in: Self.view(1, ["a"]))
        for index in 0..<100 { _ = core.write("key-\(index)", value: "v", epoch: 1, nowMs: 0,
                                              answering: RequestToken(1)) }
        let grown = Self.view(2, ["a", "b", "c", "d", "e"])
        _ = core.adopt(grown)
        core.syncCompleted(epoch: 2)
        core.noteEveryoneSynced(1)
        #expect(core.store.count == 100, "not everyone has synced to epoch 2 yet")
        core.noteEveryoneSynced(2)
        let kept = (0..<100).filter { grown.ring.replicaSet(forKey: "key-\($0)").contains("a") }
        #expect(core.store.count == kept.count)
    }

    /// A core for `id` that held `keys` (written in epoch 1 of a view with everyone in `before`), then adopted
    /// `after` and finished its sync.
    static func moved(_ id: String, holding keys: [String], from before: ServerView, to after: ServerView) -> ReplicaCore {
        var core = ReplicaCore(serverID: id)
        _ = core.adopt(before)
        let entries = keys.map { ($0, VersionedEntry(value: "v-\($0)", version: Version(epoch: 1, counter: 1))) }
        core.merge(pulled: entries.map { VersionedStore.PageEntry(key: $0.0, entry: $0.1) }, epoch: before.epoch, nowMs: 0)
        core.syncCompleted(epoch: before.epoch)
        core.noteEveryoneSynced(before.epoch)
        _ = core.adopt(after)
        core.syncCompleted(epoch: after.epoch)
        return core
    }

    @Test func garbageCollectionDropsExactlyTheKeysThisServerNoLongerReplicates() {
        let before = Self.view(1, ["a", "b", "c", "d", "e"])
        let after = Self.view(2, ["a", "b", "c", "d", "e", "f"])
        let keys = (0..<3_000).map { "key-\($0)" }
        var droppedAnywhere = 0
        for id in ["a", "b", "c", "d", "e"] {
            var core = Self.moved(id, holding: keys, from: before, to: after)
            let held = keys.filter { before.ring.replicaSet(forKey: $0).contains(id) }
            #expect(core.store.count == held.count, "a sync only stores keys the server replicates")
            core.noteEveryoneSynced(2)
            let owned = held.filter { after.ring.replicaSet(forKey: $0).contains(id) }
            droppedAnywhere += held.count - owned.count
            for key in keys {
                let shouldHold = owned.contains(key)
                #expect((core.store[key] != nil) == shouldHold,
                        "\(id) \(shouldHold ? "dropped a key it still replicates" : "kept a key it no longer replicates"): \(key)")
            }
            #expect(core.store.count == owned.count)
            core.store.checkInvariants()
        }
        #expect(droppedAnywhere > 0, "f's arrival takes keys from some of the others")
    }

    @Test func garbageIsCollectedOncePerEpochAndAgainAfterTheNextViewChange() throws {
        let one = Self.view(1, ["a", "b", "c", "d"])
        let two = Self.view(2, ["a", "b", "c", "d", "e"])
        let three = Self.view(3, ["a", "b", "c", "d", "e", "f"])
        let keys = (0..<2_000).map { "key-\($0)" }
        func loses(_ id: String, _ from: ServerView, _ to: ServerView) -> Bool {
            keys.contains { from.ring.replicaSet(forKey: $0).contains(id) && !to.ring.replicaSet(forKey: $0).contains(id) }
        }
        let id = try #require(["a", "b", "c", "d"].first { loses($0, one, two) && loses($0, two, three) })
        var core = Self.moved(id, holding: keys, from: one, to: two)
        #expect(core.collectedEpoch == 1)
        core.noteEveryoneSynced(2)
        #expect(core.collectedEpoch == 2)
        let ownedInTwo = keys.filter { two.ring.replicaSet(forKey: $0).contains(id) }
        #expect(core.store.count == ownedInTwo.count)
        core.renewLease(sentMs: 0, leaseMs: 10_000, marginMs: 0, epoch: 2)
        let late = try #require(keys.first { two.ring.primary(forKey: $0) == id })
        _ = core.write(late, value: "late", epoch: 2, nowMs: 0, answering: RequestToken(1))
        core.noteEveryoneSynced(2)
        #expect(core.store.count == ownedInTwo.count, "a second report of the same epoch changes nothing")
        _ = core.adopt(three)
        core.syncCompleted(epoch: 3)
        core.noteEveryoneSynced(2)
        #expect(core.collectedEpoch == 2 && core.store.count == ownedInTwo.count, "epoch 3 is not synced by all yet")
        core.noteEveryoneSynced(3)
        #expect(core.collectedEpoch == 3)
        let ownedInThree = ownedInTwo.filter { three.ring.replicaSet(forKey: $0).contains(id) }
        #expect(ownedInThree.count < ownedInTwo.count)
        #expect(Set(keys.filter { core.store[$0] != nil }) == Set(ownedInThree))
    }

    @Test func positionFlagsBecomeMaximalRanges() {
        #expect(ReplicaCore.ranges(of: [true, true, false, true]) == [PositionRange(0, 1), PositionRange(3, 3)])
        #expect(ReplicaCore.ranges(of: [false, false]).isEmpty)
    }
}

/// A test precondition that did not hold.
struct Failure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

extension ReplicaCore {
    /// Every backup of `write` accepts it; true when that committed it.
    mutating func allBackupsAccepted(_ write: PendingWrite, nowMs: Int64) -> Bool {
        var outcome: WriteOutcome?
        for _ in write.backups { outcome = backupAnswered(write.id, .accepted, nowMs: nowMs) }
        return outcome == .committed(write.token)
    }

    /// The first backup of `write` refuses it and the others accept.
    mutating func oneBackupRefused(_ write: PendingWrite) {
        for (index, backup) in write.backups.enumerated() {
            _ = backupAnswered(write.id, index == 0 ? .refused(backup: backup) : .accepted, nowMs: 0)
        }
    }
}
