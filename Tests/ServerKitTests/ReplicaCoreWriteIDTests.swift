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
        guard case .replicate(let write) = core.write(key, value: value, writeID: writeID, epoch: 1, nowMs: 0,
                                                      answering: RequestToken(1)) else {
            throw Failure("expected replication")
        }
        let committed = core.allBackupsAccepted(write, nowMs: 0)
        #expect(committed)
        return write
    }

    @Test func aRetryOfAWriteThatTookEffectIsAnsweredWithoutApplyingItAgain() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let first = WriteID(client: 1, sequence: 1)
        let pending = try Self.commit(&core, "mine", first)
        #expect(pending.writeID == first, "the backups are sent the ID too")
        _ = try Self.commit(&core, "theirs", WriteID(client: 2, sequence: 1))
        #expect(core.write(Self.key, value: "mine", writeID: first, resent: true, epoch: 1, nowMs: 5,
                           answering: RequestToken(1)) == .alreadyApplied)
        #expect(core.store[Self.key]?.value == "theirs", "a later write by another client is not undone")
    }

    @Test func aRetryWhileTheFirstAttemptIsStillReplicatingWaitsForIt() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let writeID = WriteID(client: 1, sequence: 1)
        guard case .replicate(let write) = core.write(Self.key, value: "v", writeID: writeID, epoch: 1, nowMs: 0,
                                                      answering: RequestToken(1)) else {
            throw Failure("expected replication")
        }
        #expect(core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 1, nowMs: 1,
                           answering: RequestToken(1))
            == .refuse(.writeInFlight, effects: []))
        core.oneBackupRefused(write)
        guard case .replicate = core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 1, nowMs: 2,
                                           answering: RequestToken(1)) else {
            throw Failure("an abandoned attempt never took effect here: the retry is applied")
        }
    }

    @Test func aWriteCaughtByAViewChangeIsAnsweredOnceAbandonedAndDoesNotReleaseItsRetry() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let writeID = WriteID(client: 1, sequence: 1)
        guard case .replicate(let first) = core.write(Self.key, value: "v", writeID: writeID, epoch: 1, nowMs: 0,
                                                      answering: RequestToken(7)) else {
            throw Failure("expected replication")
        }
        // The view changes while the backups have it; the record stays until they answer.
        let next = ReplicaCoreTests.view(2, ["a", "b", "c", "d"])
        _ = core.adopt(next)
        core.syncCompleted(epoch: 2)
        core.noteEveryoneSynced(2)
        core.renewLease(sentMs: 0, leaseMs: 10_000, marginMs: 0, epoch: 2)
        #expect(core.pendingWrites[first.id]?.failed == true)
        // The client's retry in the new view is a fresh attempt.
        guard case .replicate(let retry) = core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 2,
                                                      nowMs: 1, answering: RequestToken(8)) else {
            throw Failure("the retry is replicated anew")
        }
        // Every backup of the first attempt accepted, but in the old view: abandoned, answered once.
        var outcomes: [WriteOutcome?] = []
        for _ in first.backups { outcomes.append(core.backupAnswered(first.id, .accepted, nowMs: 2)) }
        #expect(outcomes.compactMap { $0 } == [.abandoned(RequestToken(7), .viewChanged)])
        let late = core.backupAnswered(first.id, .accepted, nowMs: 2)
        #expect(late == nil, "answered exactly once")
        // The retry is still in flight under the ID: a third attempt waits for it.
        let third = core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 2, nowMs: 3,
                               answering: RequestToken(9))
        #expect(third == .refuse(.writeInFlight, effects: []))
        let committed = core.allBackupsAccepted(retry, nowMs: 4)
        #expect(committed)
        #expect(core.store[Self.key]?.value == "v")
    }

    @Test func anOlderWriteOfAClientThatMovedOnIsNotApplied() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        _ = try Self.commit(&core, "second", WriteID(client: 1, sequence: 2))
        #expect(core.write(Self.key, value: "first", writeID: WriteID(client: 1, sequence: 1), epoch: 1, nowMs: 0,
                           answering: RequestToken(1))
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
        #expect(core.write(key, value: "v", writeID: writeID, resent: true, epoch: 2, nowMs: 1,
                           answering: RequestToken(1)) == .alreadyApplied)
    }

    @Test func aResentWriteWhoseIDMayHaveBeenDroppedIsNotAppliedButAFirstAttemptIs() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        for client in 1...UInt64(WriteIDMemory.clientsPerKeyMax + 1) {
            _ = try Self.commit(&core, "c\(client)", WriteID(client: client, sequence: 1))
        }
        let forgotten = WriteID(client: 1, sequence: 1)
        #expect(core.write(Self.key, value: "c1", writeID: forgotten, resent: true, epoch: 1, nowMs: 0,
                           answering: RequestToken(1))
            == .outcomeForgotten(forgotten))
        guard case .replicate = core.write(Self.key, value: "new", writeID: WriteID(client: 500, sequence: 1),
                                           epoch: 1, nowMs: 0, answering: RequestToken(1))
        else { throw Failure("a write never sent before is applied as usual") }
    }

    @Test func onlyTheServingPrimaryAnswersFromMemory() throws {
        var core = ReplicaCoreTests.ready("a", in: Self.view)
        let writeID = WriteID(client: 1, sequence: 1)
        _ = try Self.commit(&core, "v", writeID)
        #expect(core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 0, nowMs: 0,
                           answering: RequestToken(1))
            == .refuse(.epochMismatch(mine: 1, theirs: 0), effects: []))
        #expect(core.write(Self.key, value: "v", writeID: writeID, resent: true, epoch: 1, nowMs: 20_000,
                           answering: RequestToken(1))
            == .refuse(.leaseExpired, effects: []))
    }
}
