import Placement
import Testing
import Wire
@testable import ServerKit

/// The per-key memory of write IDs: what it keeps, for how long, how it is bounded, and how it travels.
struct WriteIDMemoryTests {
    static func id(_ client: UInt64, _ sequence: Int64) -> WriteID { WriteID(client: client, sequence: sequence) }
    static func version(_ counter: Int64) -> Version { Version(epoch: 1, counter: counter) }

    /// "é" composed and decomposed are different keys: each remembers its own writes.
    @Test func canonicallyEquivalentKeysRememberTheirOwnWrites() {
        var memory = WriteIDMemory(ringSize: 16)
        memory.remember(Self.id(1, 1), version: Self.version(1), key: "caf\u{E9}", position: 3, nowMs: 0)
        memory.remember(Self.id(1, 2), version: Self.version(2), key: "cafe\u{301}", position: 5, nowMs: 0)
        #expect(memory.record(of: "caf\u{E9}", client: 1)?.writeID == Self.id(1, 1))
        #expect(memory.record(of: "cafe\u{301}", client: 1)?.writeID == Self.id(1, 2))
        #expect(memory.count == 2)
        memory.checkInvariants()
    }

    @Test func aClientsLaterWriteToAKeyReplacesItsEarlierOne() {
        var memory = WriteIDMemory(ringSize: 16)
        memory.remember(Self.id(1, 1), version: Self.version(1), key: "k", position: 3, nowMs: 0)
        memory.remember(Self.id(2, 9), version: Self.version(2), key: "k", position: 3, nowMs: 0)
        memory.remember(Self.id(1, 2), version: Self.version(3), key: "k", position: 3, nowMs: 0)
        #expect(memory.record(of: "k", client: 1) == .init(writeID: Self.id(1, 2), version: Self.version(3)))
        #expect(memory.count == 2)
        memory.remember(Self.id(1, 1), version: Self.version(9), key: "k", position: 3, nowMs: 0)
        #expect(memory.record(of: "k", client: 1)?.writeID == Self.id(1, 2), "an older write never replaces a newer")
        memory.checkInvariants()
    }

    @Test func theSameWriteAppliedAgainKeepsItsLatestVersion() {
        var memory = WriteIDMemory(ringSize: 16)
        memory.remember(Self.id(1, 1), version: Self.version(5), key: "k", position: 3, nowMs: 0)
        memory.remember(Self.id(1, 1), version: Self.version(2), key: "k", position: 3, nowMs: 0)
        #expect(memory.record(of: "k", client: 1)?.version == Self.version(5))
        memory.remember(Self.id(1, 1), version: Self.version(7), key: "k", position: 3, nowMs: 0)
        #expect(memory.record(of: "k", client: 1)?.version == Self.version(7))
    }

    @Test func aKeyRemembersAtMostSixteenClientsAndMarksItsPositionWhenItDropsOne() {
        var memory = WriteIDMemory(ringSize: 16)
        for client in 1...UInt64(WriteIDMemory.clientsPerKeyMax) {
            memory.remember(Self.id(client, 1), version: Self.version(Int64(client)), key: "k", position: 3,
                            nowMs: 1_000)
        }
        #expect(!memory.mayHaveForgotten(at: 3, nowMs: 1_000))
        memory.remember(Self.id(99, 1), version: Self.version(100), key: "k", position: 3, nowMs: 2_000)
        #expect(memory.records(of: "k").count == WriteIDMemory.clientsPerKeyMax)
        #expect(memory.record(of: "k", client: 1) == nil, "the client with the oldest version goes")
        #expect(memory.mayHaveForgotten(at: 3, nowMs: 2_000))
        #expect(!memory.mayHaveForgotten(at: 4, nowMs: 2_000), "other positions know they forgot nothing")
        #expect(!memory.mayHaveForgotten(at: 3, nowMs: 2_000 + WriteIDMemory.retentionMs),
                "past the retention no retry can come, so the mark lapses")
        memory.checkInvariants()
    }

    @Test func recordsAreForgottenOnceTheirRetentionRunsOutUnlessTheirKeyWasTouchedAgain() {
        var memory = WriteIDMemory(ringSize: 16)
        memory.remember(Self.id(1, 1), version: Self.version(1), key: "old", position: 1, nowMs: 0)
        memory.remember(Self.id(1, 2), version: Self.version(2), key: "busy", position: 2, nowMs: 0)
        memory.remember(Self.id(2, 1), version: Self.version(3), key: "busy", position: 2, nowMs: 50_000)
        memory.forgetExpired(nowMs: WriteIDMemory.retentionMs + 1)
        #expect(memory.records(of: "old").isEmpty)
        #expect(memory.records(of: "busy").count == 2, "touched 50 s in, its records stay")
        #expect(!memory.mayHaveForgotten(at: 1, nowMs: WriteIDMemory.retentionMs + 1),
                "a record that aged out cannot be retried, so nothing is marked")
        memory.forgetExpired(nowMs: 50_000 + WriteIDMemory.retentionMs + 1)
        #expect(memory.count == 0)
        memory.checkInvariants()
    }

    @Test func pastTheRecordLimitTheKeysTouchedLongestAgoGoFirstAndTheirPositionsAreMarked() {
        var memory = WriteIDMemory(ringSize: 1_000)
        for index in 0...WriteIDMemory.recordsMax {
            memory.remember(Self.id(UInt64(index + 1), 1), version: Self.version(1), key: "k\(index)",
                            position: index % 1_000, nowMs: Int64(index / 10_000))
        }
        #expect(memory.count == WriteIDMemory.recordsMax)
        #expect(memory.records(of: "k0").isEmpty)
        #expect(memory.records(of: "k\(WriteIDMemory.recordsMax)").count == 1)
        #expect(memory.mayHaveForgotten(at: 0, nowMs: 30))
        memory.checkInvariants()
    }

    @Test func thePositionDigestCoversTheRecordsAndDropsWithThem() {
        var first = WriteIDMemory(ringSize: 16)
        var second = WriteIDMemory(ringSize: 16)
        first.remember(Self.id(1, 1), version: Self.version(1), key: "a", position: 5, nowMs: 0)
        first.remember(Self.id(2, 1), version: Self.version(2), key: "b", position: 5, nowMs: 0)
        second.remember(Self.id(2, 1), version: Self.version(2), key: "b", position: 5, nowMs: 9)
        #expect(first.digest(at: 5) != second.digest(at: 5))
        second.remember(Self.id(1, 1), version: Self.version(1), key: "a", position: 5, nowMs: 9)
        #expect(first.digest(at: 5) == second.digest(at: 5), "the same records in any order give the same digest")
        first.removeAll { $0 == 5 }
        #expect(first.digest(at: 5) == 0 && first.count == 0)
        first.checkInvariants()
    }

    @Test func writeIDsTravelWithTheirKeyInAPullPageAndSkippingNeedsThemToMatch() {
        var holder = VersionedStore(ringSize: 64)
        let entry = VersionedEntry(value: "v", version: Version(epoch: 2, counter: 1))
        holder.apply(entry, to: "k", at: holder.position(of: "k"), writeID: Self.id(7, 3), nowMs: 0)
        let everything = [PositionRange(0, 63)]
        let page = holder.page(in: everything, after: nil, bytesTarget: .max, bytesMax: .max)
        #expect(page.entries.map(\.writeIDs) == [[.init(writeID: Self.id(7, 3), version: entry.version)]])

        var puller = VersionedStore(ringSize: 64)
        puller.apply(entry, to: "k")
        let withoutIDs = puller.summaries(in: everything, after: nil)
        #expect(holder.page(in: everything, after: nil, bytesTarget: .max, bytesMax: .max, pullerHas: withoutIDs)
            .entries.count == 1, "the same entry without its write IDs is not the same position")
        puller.merge(page.entries[0], at: puller.position(of: "k"), nowMs: 5)
        #expect(puller.rememberedVersion(of: "k", writeID: Self.id(7, 3)) == entry.version)
        let same = puller.summaries(in: everything, after: nil)
        #expect(holder.page(in: everything, after: nil, bytesTarget: .max, bytesMax: .max, pullerHas: same)
            .entries.isEmpty)
        puller.checkInvariants()
    }
}
