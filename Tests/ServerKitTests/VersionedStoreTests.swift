import Placement
import Testing
import Wire
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
    /// "é" composed and decomposed are different keys, at different positions, each with its own value.
    @Test func canonicallyEquivalentKeysAreDifferentKeys() {
        var store = VersionedStore()
        store.apply(VersionedEntry(value: "composed", version: Version(epoch: 1, counter: 1)), to: "caf\u{E9}")
        store.apply(VersionedEntry(value: "decomposed", version: Version(epoch: 1, counter: 2)), to: "cafe\u{301}")
        #expect(store["caf\u{E9}"]?.value == "composed")
        #expect(store["cafe\u{301}"]?.value == "decomposed")
        #expect(store.count == 2)
        #expect(store.liveKeys.count == 2)
        store.checkInvariants()
    }

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

    @Test func rangesCanBeHandedOverAndDroppedByPosition() {
        var store = VersionedStore(ringSize: 16)
        let keys = (0..<200).map { "key-\($0)" }
        for key in keys { store.apply(VersionedEntry(value: key, version: .zero), to: key) }
        let low = PositionRange(0, 7)
        let handed = store.entries(in: [low]).map(\.key)
        #expect(Set(handed) == Set(keys.filter { low.contains(store.position(of: $0)) }))
        #expect(handed.count == Set(handed).count, "each entry appears once")
        let removed = store.removeAll { low.contains($0) }
        #expect(removed == handed.count)
        #expect(store.liveKeys == keys.filter { !low.contains(store.position(of: $0)) }.sorted())
        #expect(store.count == keys.count - removed)
        store.checkInvariants()
    }

    @Test func pagesFollowPositionThenKeyOrderAndResumeAfterTheLastKey() {
        var store = VersionedStore(ringSize: 8)
        let keys = (0..<300).map { "key-\($0)" }
        for key in keys { store.apply(VersionedEntry(value: String(repeating: "v", count: 20), version: .zero), to: key) }
        let ranges = [PositionRange(5, 7), PositionRange(0, 2)]
        let everything = store.entries(in: ranges).map(\.key)
        let expected = keys.filter { key in ranges.contains { $0.contains(store.position(of: key)) } }
            .sorted { first, second in
                let (positionOfFirst, positionOfSecond) = (store.position(of: first), store.position(of: second))
                guard positionOfFirst == positionOfSecond else { return positionOfFirst < positionOfSecond }
                return first.utf8.lexicographicallyPrecedes(second.utf8)
            }
        #expect(everything == expected)
        var paged: [String] = []
        var after: String?
        var pages = 0
        while true {
            let page = store.page(in: ranges, after: after, bytesTarget: 400, bytesMax: 1_000)
            #expect(!page.entries.isEmpty, "a page holds at least one entry while any remain")
            paged += page.entries.map(\.key)
            after = page.entries.last?.key
            pages += 1
            if !page.more { break }
        }
        #expect(paged == expected, "pages resume exactly after the previous page's last key")
        #expect(pages > 10)
    }

    /// The finding that stalled rebalancing: 200 values of 1 KB then one of 900 KB made a 1.11 MB page, which the
    /// puller refused as over the frame limit and asked for again forever. Every page, as written, fits a frame.
    @Test func pagesOfAnyMixOfSizesFitTheFrameAndOneMaximalEntryAlwaysFits() throws {
        let limits = RecordLimits.standard
        var store = VersionedStore(ringSize: 1)
        for index in 0..<200 {
            store.apply(VersionedEntry(value: String(repeating: "s", count: 1_000), version: .zero), to: "a-\(index)")
        }
        store.apply(VersionedEntry(value: String(repeating: "b", count: 900_000), version: .zero), to: "b")
        let longestKey = String(repeating: "k", count: RecordLimits.keyBytesMax - 3) + "\"\n"
        let largest = String(repeating: "\u{1}", count: 2) + String(repeating: "v", count: limits.valueBytesMax - 12)
        #expect(JSONWriter.escapedLength(of: largest) == limits.valueBytesMax)
        store.apply(VersionedEntry(value: largest, version: Version(epoch: .max, counter: .max)), to: longestKey)
        store.apply(VersionedEntry(value: nil, version: .zero), to: "z-deleted")
        var paged: [String] = []
        var after: String?
        while true {
            let page = store.page(in: [PositionRange(0, 0)], after: after,
                                  bytesTarget: RecordLimits.pullPageBytesTarget, bytesMax: limits.pullPageBytesMax)
            var bytes: [UInt8] = []
            ServerReply.page(PullPage(entries: page.entries.map {
                PulledEntry(key: $0.key, entry: $0.entry, writeIDs: $0.writeIDs)
            }, more: page.more)).encodeBody(into: &bytes)
            #expect(bytes.count <= limits.frameBytesMax,
                    "a page of \(page.entries.count) entries is \(bytes.count) bytes")
            paged += page.entries.map(\.key)
            after = page.entries.last?.key
            if !page.more { break }
        }
        #expect(paged.count == 203)
        #expect(Set(paged).count == 203)
    }

    @Test func aPullSkipsExactlyThePositionsThePullerHoldsIdentically() {
        var mine = VersionedStore(ringSize: 16)
        var theirs = VersionedStore(ringSize: 16)
        let keys = (0..<400).map { "key-\($0)" }
        for key in keys {
            let entry = VersionedEntry(value: "v", version: Version(epoch: 1, counter: 1))
            mine.apply(entry, to: key)
            theirs.apply(entry, to: key)
        }
        // They took one newer write (abandoned by its primary) and one key we never saw; we hold one they lack.
        theirs.apply(VersionedEntry(value: "newer", version: Version(epoch: 2, counter: 1)), to: keys[0])
        theirs.apply(VersionedEntry(value: "x", version: Version(epoch: 2, counter: 2)), to: "only-theirs")
        mine.apply(VersionedEntry(value: "y", version: Version(epoch: 2, counter: 3)), to: "only-mine")
        let differing = Set([keys[0], "only-theirs", "only-mine"].map { theirs.position(of: $0) })
        let held = Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, mine.summary(at: $0)) }.filter { $0.1.count > 0 })
        let page = theirs.page(in: [PositionRange(0, 15)], after: nil, bytesTarget: .max, bytesMax: .max,
                               pullerHas: held)
        for key in [keys[0], "only-theirs"] { #expect(page.entries.contains { $0.key == key }, "\(key) differs") }
        #expect(page.entries.allSatisfy { differing.contains(theirs.position(of: $0.key)) },
                "positions held identically are not sent again")
        #expect(page.entries.count < keys.count / 4)
        mine.checkInvariants()
        theirs.checkInvariants()
    }

    @Test func overwritesOfEveryLengthKeepEntriesIntactAndCompactTheArena() {
        var store = VersionedStore(ringSize: 4)
        var model: [String: VersionedEntry] = [:]
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        for counter in 1...20_000 {
            let key = "k\(next(300))" + String(repeating: "x", count: next(20))
            let version = Version(epoch: Int64(next(3)), counter: Int64(counter))
            let value: String? = next(10) == 0 ? nil : String(repeating: "é", count: next(80))
            let entry = VersionedEntry(value: value, version: version)
            let expected = model[key].map { $0.version < version } ?? true
            #expect(store.apply(entry, to: key) == expected)
            if expected { model[key] = entry }
        }
        store.checkInvariants()
        #expect(store.count == model.count)
        for (key, entry) in model { #expect(store[key] == entry) }
    }
}
