import Testing
@testable import Wire

/// Every viewleader request decodes from what its sender writes, and bad fields are refused with the error the
/// peer is sent.
struct ViewLeaderRequestTests {
    func decode(_ value: JSONValue) throws(RequestError) -> ViewLeaderRequest {
        guard let fields = value.objectValue else { throw .notAnObject }
        return try ViewLeaderRequest(Request(fields: fields))
    }

    @Test(arguments: [
        ViewLeaderRequest.heartbeat(.init(port: 38_000, requestor: "s1")),
        .heartbeat(.init(port: 1, requestor: "a", host: "10.0.0.2", syncedEpoch: 4, epoch: 7,
                         view: .init(epoch: 7, members: [.init(id: "a", address: "10.0.0.2:1"),
                                                         .init(id: "b", address: "[::1]:2")]))),
        .heartbeat(.init(port: 1, requestor: "kept", incarnation: 7)),
        .queryServers,
        .lockGet(lockID: "L", requestor: "me"),
        .lockRelease(lockID: "L", requestor: "me"),
    ])
    func whatASenderWritesDecodesToTheSameRequest(_ request: ViewLeaderRequest) throws {
        #expect(try decode(request.json) == request)
    }

    /// Heartbeats and view fetches are what servers send; lock commands are clients'.
    @Test func whatServersSendIsAMembersRequest() {
        #expect(ViewLeaderRequest.heartbeat(.init(port: 1, requestor: "s1")).isMemberMessage)
        #expect(ViewLeaderRequest.queryServers.isMemberMessage)
        #expect(!ViewLeaderRequest.lockGet(lockID: "L", requestor: "me").isMemberMessage)
        #expect(!ViewLeaderRequest.lockRelease(lockID: "L", requestor: "me").isMemberMessage)
    }

    @Test func theClassicServersNumericRequestorIsReadAsItsStableText() throws {
        let request = try decode(["cmd": "heartbeat", "port": 38_000, "requestor": 0.8444218515250481])
        #expect(request == .heartbeat(.init(port: 38_000, requestor: "0.8444218515250481")))
    }

    @Test func aSyncedEpochThatIsNotAnIntegerCountsAsNone() throws {
        let request = try decode(["cmd": "heartbeat", "port": 1, "requestor": "s", "synced_epoch": "x"])
        #expect(request == .heartbeat(.init(port: 1, requestor: "s")))
    }

    static let badRequests: [(JSONValue, RequestError)] = [
        (["cmd": "heartbeat", "requestor": "s"], .missingField("port")),
        (["cmd": "heartbeat", "port": 0, "requestor": "s"], .outOfRange(field: "port", range: "1...65535")),
        (["cmd": "heartbeat", "port": 1, "requestor": ""], .outOfRange(field: "requestor", range: "1...256 bytes")),
        (["cmd": "heartbeat", "port": 1, "requestor": .string(String(repeating: "x", count: 257))],
         .outOfRange(field: "requestor", range: "1...256 bytes")),
        (["cmd": "heartbeat", "port": 1, "requestor": "s", "addr": .string(String(repeating: "h", count: 256))],
         .outOfRange(field: "addr", range: "1...255 bytes")),
        (["cmd": "heartbeat", "port": 1, "requestor": "s", "addr": ""], .outOfRange(field: "addr", range: "1...255 bytes")),
        (["cmd": "heartbeat", "port": 1, "requestor": "s", "addr": 5], .wrongType(field: "addr", expected: "a string")),
        (["cmd": "heartbeat", "port": 1, "requestor": "s", "incarnation": -1],
         .outOfRange(field: "incarnation", range: "0...9223372036854775807")),
        (["cmd": "heartbeat", "port": 1, "requestor": "s", "epoch": -2],
         .outOfRange(field: "epoch", range: "-1...9223372036854775807")),
        (["cmd": "heartbeat", "port": 1, "requestor": "s", "view": ["epoch": 1, "members": [["only-an-id"]]]],
         .wrongType(field: "view", expected: "an object with an epoch and at most 1000 members as [id, address]")),
        (["cmd": "lock_get", "lockid": .string(String(repeating: "x", count: 1_025)), "requestor": "r"],
         .outOfRange(field: "lockid", range: "at most 1024 bytes")),
        (["cmd": "lock_release", "lockid": "L"], .missingField("requestor")),
        (["cmd": "shutdown"], .unknownCommand("shutdown", known: ViewLeaderRequest.commands)),
    ]

    @Test(arguments: badRequests)
    func badFieldsAreRefusedWithTheErrorThePeerIsSent(_ bad: (request: JSONValue, error: RequestError)) {
        #expect(throws: bad.error) { try decode(bad.request) }
    }

    @Test func aReportedViewLongerThanTheLimitIsRefused() {
        let members = JSONValue.array((0...ViewLeaderRequest.membersMax).map { [.string("s\($0)"), "h:1"] })
        #expect(throws: RequestError.self) {
            try decode(["cmd": "heartbeat", "port": 1, "requestor": "s", "view": ["epoch": 1, "members": members]])
        }
    }
}
