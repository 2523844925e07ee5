import Testing
@testable import Wire

/// A client reads back every reply a server writes to it, and names a reply of the wrong shape.
struct ServerReplyTests {
    @Test(arguments: [
        ServerReply.ok, .value("v"), .value(""), .notFound, .keys(["a", "b"]), .keys([]),
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
}
