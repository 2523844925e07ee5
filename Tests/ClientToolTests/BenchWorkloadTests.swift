import Testing
@testable import ClientTool

/// A run's requests follow from its seed alone.
struct BenchWorkloadTests {
    static func draw(_ workload: BenchWorkload, _ count: Int) -> [String] {
        var workload = workload
        return (0..<count).compactMap { _ in workload.next().map { "\($0.kind):\($0.key)" } }
    }

    @Test func theSameSeedGivesTheSameSequence() {
        let first = BenchWorkload(operation: .mixed(readPercent: 30), keys: 1_000, order: .random, seed: 42)
        let second = BenchWorkload(operation: .mixed(readPercent: 30), keys: 1_000, order: .random, seed: 42)
        #expect(Self.draw(first, 500) == Self.draw(second, 500))
    }

    @Test func differentSeedsGiveDifferentSequences() {
        let first = BenchWorkload(operation: .set, keys: 100_000, order: .random, seed: 1)
        let second = BenchWorkload(operation: .set, keys: 100_000, order: .random, seed: 2)
        #expect(Self.draw(first, 100) != Self.draw(second, 100))
    }

    @Test func threadSeedsDifferPerThreadAndRepeatPerRun() {
        let seeds = (0..<16).map { BenchWorkload.threadSeed(runSeed: 1, thread: $0) }
        #expect(Set(seeds).count == 16)
        #expect(seeds == (0..<16).map { BenchWorkload.threadSeed(runSeed: 1, thread: $0) })
        #expect(BenchWorkload.threadSeed(runSeed: 2, thread: 0) != seeds[0])
    }

    @Test func randomKeysStayInRangeAndCoverIt() {
        var workload = BenchWorkload(operation: .get, keys: 10, order: .random, seed: 9)
        var seen = Set<Int>()
        for _ in 0..<1_000 {
            let request = workload.next()!
            #expect(request.kind == .get)
            #expect((0..<10).contains(request.key))
            seen.insert(request.key)
        }
        #expect(seen.count == 10)
    }

    @Test func aSequentialOrderVisitsEachKeyOfItsRangeOnceThenEnds() {
        var workload = BenchWorkload(operation: .setr, keys: 100, order: .sequential(20..<30), seed: 0)
        var keys: [Int] = []
        while let request = workload.next() {
            #expect(request.kind == .setr)
            keys.append(request.key)
        }
        #expect(keys == Array(20..<30))
        #expect(workload.next() == nil)
    }

    @Test func mixedDrawsReadsInAboutTheAskedShare() {
        var workload = BenchWorkload(operation: .mixed(readPercent: 90), keys: 100, order: .random, seed: 5)
        let reads = (0..<10_000).filter { _ in workload.next()!.kind == .getr }.count
        #expect((8_800...9_200).contains(reads))
        var allWrites = BenchWorkload(operation: .mixed(readPercent: 0), keys: 100, order: .random, seed: 5)
        #expect((0..<100).allSatisfy { _ in allWrites.next()!.kind == .setr })
    }

    @Test func valuesAreLowercaseLettersOfTheAskedLengthAndFollowTheSeed() {
        let value = BenchWorkload.value(bytes: 100, seed: 1)
        #expect(value.count == 100)
        #expect(value.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) })
        #expect(value == BenchWorkload.value(bytes: 100, seed: 1))
        #expect(value != BenchWorkload.value(bytes: 100, seed: 2))
        #expect(BenchWorkload.value(bytes: 0, seed: 1).isEmpty)
    }
}
