import Testing
@testable import ServerKit

struct VersionTests {
    @Test func laterEpochWinsWhateverTheCounter() {
        #expect(Version(epoch: 2, counter: 0) > Version(epoch: 1, counter: 1_000_000))
        #expect(Version(epoch: 1, counter: 2) > Version(epoch: 1, counter: 1))
        #expect(Version(epoch: 1, counter: 1) == Version(epoch: 1, counter: 1))
        #expect([Version(epoch: 3, counter: 1), .zero, Version(epoch: 1, counter: 9)].sorted()
            == [.zero, Version(epoch: 1, counter: 9), Version(epoch: 3, counter: 1)])
    }
}

struct VersionedStoreTests {
    @Test func olderOrEqualVersionNeverReplacesANewerOne() {
        var store = VersionedStore()
        let appliedNew = store.apply(VersionedEntry(value: "new", version: Version(epoch: 2, counter: 1)), to: "k")
        let appliedOld = store.apply(VersionedEntry(value: "old", version: Version(epoch: 1, counter: 5)), to: "k")
        let appliedSame = store.apply(VersionedEntry(value: "same", version: Version(epoch: 2, counter: 1)), to: "k")
        #expect(appliedNew && !appliedOld && !appliedSame)
        #expect(store["k"]?.value == "new")
    }

    @Test func applyingWritesInAnyOrderGivesTheSameStore() {
        let writes = (0..<50).map { VersionedEntry(value: "v\($0)", version: Version(epoch: Int64($0 % 4), counter: Int64($0))) }
        var forward = VersionedStore()
        var backward = VersionedStore()
        for write in writes { forward.apply(write, to: "k") }
        for write in writes.reversed() { backward.apply(write, to: "k") }
        #expect(forward["k"] == backward["k"])
        #expect(forward["k"]?.version == Version(epoch: 3, counter: 47))
    }

    @Test func tombstoneStopsAStaleCopyFromResurrectingADeletedKey() {
        var store = VersionedStore()
        store.apply(VersionedEntry(value: "v", version: Version(epoch: 1, counter: 1)), to: "k")
        store.apply(VersionedEntry(value: nil, version: Version(epoch: 1, counter: 2)), to: "k")
        let resurrected = store.apply(VersionedEntry(value: "v", version: Version(epoch: 1, counter: 1)), to: "k")
        #expect(!resurrected)
        #expect(store.liveKeys.isEmpty)
        #expect(store["k"]?.value == nil && store["k"] != nil)
    }

    @Test func rangesCanBeHandedOverAndDropped() {
        var store = VersionedStore()
        for key in ["a1", "a2", "b1"] { store.apply(VersionedEntry(value: key, version: .zero), to: key) }
        #expect(store.entries { $0.hasPrefix("a") }.map(\.key) == ["a1", "a2"])
        store.drop { $0.hasPrefix("a") }
        #expect(store.liveKeys == ["b1"])
    }
}
