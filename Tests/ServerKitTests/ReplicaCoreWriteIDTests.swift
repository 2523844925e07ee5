import Placement
import Testing
import Wire
@testable import ServerKit

/// Exactly once: how the replica core answers a write whose ID it may have seen before.
struct ReplicaCoreWriteIDTests {
    static let view = ReplicaCoreTests.view(1, ["a", "b", "c", "d"])
    static let key = ReplicaCoreTests.key(primaryIn: view, "a")

    /// Writes `value` under `writeID` through primary `core` and commits it.
    static func commit(_ core: inout ReplicaCore, _ value: String, _ writeID: WriteID?) throws -> PendingWrite {
        guard case .replicate(let write) = core.write(key, value: value, writeID: writeID, epoch: 1, nowMs: 0) else {
            throw Failure("expected replication")
        }
        let committed = core.writeAcknowledged(write.id, nowMs: 0)
        #expect(committed)
        return write
    }

    @Test func aRetryOfAWriteThatTookEffectIsAnsweredWithoutApplyingItAgain() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let first = WriteID(client: 1, sequence: 1)
        let pending = try Self.commit(&core, "mine", first)
        #expect(pending.writeID == first, "the backups are sent the ID too")
        _ = try Self.commit(&core, "theirs", WriteID(client: 2, sequence: 1))
        #expect(core.write(Self.key, value: "mine", writeID: first, resent: true, epoch: 1, nowMs: 5) == .alreadyApplied)
        #expect(core.store[Self.key]?.value == "theirs", "a later write by another client is not undone")
    }

    @Test func aRetryWhileTheFirstAttemptIsStillReplicatingWaitsForIt() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let writeID = WriteID(client: 1, sequence: 1)
        guard case .replicate(let write) = core.write(Self.key, value: "v", writeID: writeID, epoch: 1, nowMs: 0) else {
            throw Failure("expected replication")
        }
        #expect(core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 1, nowMs: 1)
            == .refuse(.writeInFlight, effects: []))
        core.writeAbandoned(write.id)
        guard case .replicate = core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 1, nowMs: 2) else {
            throw Failure("an abandoned attempt never took effect here: the retry is applied")
        }
    }

    @Test func anOlderWriteOfAClientThatMovedOnIsNotApplied() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        _ = try Self.commit(&core, "second", WriteID(client: 1, sequence: 2))
        #expect(core.write(Self.key, value: "first", writeID: WriteID(client: 1, sequence: 1), epoch: 1, nowMs: 0)
            == .superseded(WriteID(client: 1, sequence: 1), latest: 2))
    }

    @Test func aBackupThatAppliedAWriteAnswersItsRetryOnceItIsThePrimary() throws {
        let three = ReplicaCoreTests.view(1, ["a", "b", "c"])
        let key = ReplicaCoreTests.key(primaryIn: three, "a")
        let backup = three.ring.replicaSet(forKey: key)[1]
        var core = ReplicaCoreTests.ready(backup, in: three)
        let writeID = WriteID(client: 9, sequence: 4)
        let entry = VersionedEntry(value: "v", version: Version(epoch: 1, counter: 1))
        #expect(core.applyReplicated(key, entry: entry, writeID: writeID, epoch: 1, nowMs: 0) == nil)
        // The primary dies before answering; the next view makes this backup the key's primary.
        let two = ReplicaCoreTests.view(2, ["b", "c"])
        _ = core.adopt(two)
        core.syncCompleted(epoch: 2)
        core.noteEveryoneSynced(2)
        core.renewLease(sentMs: 0, leaseMs: 10_000, marginMs: 0, epoch: 2)
        #expect(two.ring.primary(forKey: key) == backup)
        #expect(core.write(key, value: "v", writeID: writeID, resent: true, epoch: 2, nowMs: 1) == .alreadyApplied)
    }

    @Test func aResentWriteWhoseIDMayHaveBeenDroppedIsNotAppliedButAFirstAttemptIs() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        for client in 1...UInt64(WriteIDMemory.clientsPerKeyMax + 1) {
            _ = try Self.commit(&core, "c\(client)", WriteID(client: client, sequence: 1))
        }
        let forgotten = WriteID(client: 1, sequence: 1)
        #expect(core.write(Self.key, value: "c1", writeID: forgotten, resent: true, epoch: 1, nowMs: 0)
            == .outcomeForgotten(forgotten))
        guard case .replicate = core.write(Self.key, value: "new", writeID: WriteID(client: 500, sequence: 1),
                                           epoch: 1, nowMs: 0)
        else { throw Failure("a write never sent before is applied as usual") }
    }

    @Test func onlyTheServingPrimaryAnswersFromMemory() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let writeID = WriteID(client: 1, sequence: 1)
        _ = try Self.commit(&core, "v", writeID)
        #expect(core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 0, nowMs: 0)
            == .refuse(.epochMismatch(mine: 1, theirs: 0), effects: []))
        #expect(core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 1, nowMs: 20_000)
            == .refuse(.leaseExpired, effects: []))
    }
}
