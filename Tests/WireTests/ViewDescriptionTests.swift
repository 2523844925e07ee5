import Testing
@testable import Wire

/// The view the viewleader writes is the view servers and clients read back, and a malformed one is refused.
struct ViewDescriptionTests {
    @Test func whatTheViewLeaderWritesReadsBackTheSame() throws {
        let view = ViewDescription(epoch: 7, ringSize: 10_000, servers: [
            .init(id: "a", address: "127.0.0.1:38001", syncedEpoch: 6, position: 1234, lastHeartbeatAgeMs: 250),
            .init(id: "b", address: "[::1]:38002", syncedEpoch: -1, position: 9999, lastHeartbeatAgeMs: 0),
        ])
        #expect(try ViewDescription(reply: view.json) == view)
        // Classic clients read `result`: the addresses, in the view's order.
        #expect(view.json.objectValue?["result"] == ["127.0.0.1:38001", "[::1]:38002"])
        #expect(view.address(of: "b") == "[::1]:38002")
        #expect(view.address(of: "c") == nil)
    }

    @Test func aViewThatSaysLessMeansTheClassicRingAndUnknownSyncs() throws {
        let reply: JSONValue = ["epoch": 3, "servers": [["id": "a", "address": "h:1"]]]
        let view = try ViewDescription(reply: reply)
        #expect(view.ringSize == RingSize.classic)
        #expect(view.servers == [.init(id: "a", address: "h:1", syncedEpoch: -1)])
        #expect(view.everyoneSyncedTo == -1)
    }

    @Test(arguments: [
        JSONValue.array([]), ["servers": []], ["epoch": 1], ["epoch": 1, "servers": [["id": "a"]]],
        ["epoch": 1, "servers": [], "ring_size": 0], ["epoch": 1, "servers": [], "ring_size": 16_777_217],
    ])
    func aMalformedViewIsRefused(_ reply: JSONValue) {
        #expect(throws: RequestError.self) { try ViewDescription(reply: reply) }
    }
}
