import Testing
@testable import Wire

/// A client reads back every reply a server writes to it, and names a reply of the wrong shape.
struct ServerReplyTests {
    @Test(arguments: [
        ServerReply.ok, .value("v"), .value(""), .notFound, .keys(["a", "b"]), .keys([]), .keys(["a"], truncated: true),
        .retry(reason: "this server's lease has expired", epoch: 4, maybeApplied: false),
        .retry(reason: "a write with this ID is being replicated", epoch: 4, maybeApplied: true),
        .deduplicated, .unknownOutcome("forgotten"), .error("bad key"),
    ])
    func whatAServerWritesReadsBackTheSame(_ reply: ServerReply) throws {
        #expect(try ServerReply(reply.json) == reply)
    }

    @Test(arguments: [
        JSONValue.array([]), ["status": "maybe"], ["status": "ok", "value": 5], ["result": [1]], ["value": "v"],
    ])
    func aReplyOfTheWrongShapeIsMalformed(_ reply: JSONValue) {
        #expect(throws: MalformedReply.self) { try ServerReply(reply) }
    }

    @Test(arguments: ["v", "", "v \"quoted\" \\ \n\u{1}", "café ☕", String(repeating: "x", count: 1000)])
    func aStoredValueIsWrittenExactlyAsTheValueItHolds(_ text: String) throws {
        let stored = EncodedString(text)
        #expect(stored.text == text)
        var fromStore: [UInt8] = [], fromText: [UInt8] = []
        ServerReply.storedValue(stored).encodeBody(into: &fromStore)
        ServerReply.value(text).encodeBody(into: &fromText)
        #expect(fromStore == fromText)
        #expect(try ServerReply(JSONParser.parse(fromStore)) == .value(text))
    }

    @Test func aKeyListIsCutToWhatFitsAFrame() {
        let keys = (0..<100_000).map { "key-\($0)" }
        guard case .keys(let listed, truncated: true) = ServerReply.keys(fitting: keys, frameBytesMax: 65_536) else {
            Issue.record("100,000 keys fit a 64 KiB frame?")
            return
        }
        var bytes: [UInt8] = []
        ServerReply.keys(listed, truncated: true).encodeBody(into: &bytes)
        #expect(bytes.count <= 65_536)
        #expect(bytes.count > 60_000, "the frame is used")
        #expect(listed == Array(keys.prefix(listed.count)))
        #expect(ServerReply.keys(fitting: ["a", "b"], frameBytesMax: 65_536) == .keys(["a", "b"]))
    }
}
