import ClientKit
import Placement
import Testing
@testable import ClientTool
import Wire

/// The bench's precomputed routing agrees with the ring the servers use.
struct BenchRoutingTests {
    static func view(_ ids: [String], epoch: Int64 = 4, ringSize: Int = HashRing.defaultRingSize) -> ViewDescription {
        let servers = ids.enumerated().map {
            ViewDescription.Server(id: $0.element, address: "127.0.0.1:\(38_000 + $0.offset)")
        }
        return ViewDescription(epoch: epoch, ringSize: ringSize, servers: servers)
    }

    @Test(arguments: [1, 2, 3, 5, 12])
    func everyKeyGoesToItsPrimaryOnTheRing(servers: Int) throws {
        let view = Self.view((0..<servers).map { "server-\($0)" })
        let routing = try #require(BenchRouting(view: view, keys: 2_000))
        #expect(routing.epoch == 4)
        #expect(routing.routesByKey)
        for key in 0..<2_000 {
            let primary = view.ring.primary(forKey: BenchKeys.name(key))!
            #expect(routing.destinations[routing.destination(ofKey: key)] == view.address(of: primary))
        }
    }

    @Test func aSmallRingWithMembersSharingAPositionMatchesTheRingToo() throws {
        let view = Self.view((0..<40).map { "s\($0)" }, ringSize: 16)
        let routing = try #require(BenchRouting(view: view, keys: 500))
        for key in 0..<500 {
            let primary = view.ring.primary(forKey: BenchKeys.name(key))!
            #expect(routing.destinations[routing.destination(ofKey: key)] == view.address(of: primary))
        }
    }

    @Test func keyPositionsAreReusedWhenOnlyTheMembersChange() throws {
        let first = try #require(BenchRouting(view: Self.view(["a", "b", "c"]), keys: 100))
        let second = try #require(BenchRouting(view: Self.view(["a", "b", "d"], epoch: 5), keys: 100, previous: first))
        #expect(second.keyPositions == first.keyPositions)
        #expect(second.epoch == 5)
        #expect(first.keyPositions[7] == UInt32(HashRing.position(of: "key-7")))
    }

    @Test func anEmptyViewCannotBeRouted() {
        #expect(BenchRouting(view: Self.view([]), keys: 10) == nil)
    }

    @Test func aSingleDestinationTakesEveryKey() {
        let routing = BenchRouting(single: "127.0.0.1:38000")
        #expect(!routing.routesByKey)
        #expect(routing.destination(ofKey: 12_345) == 0)
        #expect(routing.destinations == ["127.0.0.1:38000"])
    }
}
