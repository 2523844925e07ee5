import Testing
@testable import ClientTool

struct BenchOperationTests {
    @Test func everyOperationParsesAndPrintsBackTheSame() throws {
        for text in ["set", "get", "setr", "getr", "mixed:0", "mixed:35", "mixed:100", "lock"] {
            #expect(try BenchOperation.parse(text).description == text)
        }
        #expect(try BenchOperation.parse("mixed") == .mixed(readPercent: BenchOperation.mixedReadPercentDefault))
    }

    @Test func eachOperationGoesWhereItsCommandsAreServed() throws {
        #expect(BenchOperation.set.destination == .server)
        #expect(BenchOperation.get.destination == .server)
        #expect(BenchOperation.setr.destination == .replicatedStore)
        #expect(BenchOperation.mixed(readPercent: 50).destination == .replicatedStore)
        #expect(BenchOperation.lock.destination == .viewLeader)
    }
}
