import Testing
import Wire
@testable import ServerKit

struct ServerCoreTests {
    /// Decodes `fields` as a server would, then lets the core answer.
    func handle(_ core: inout ServerCore, _ fields: JSONObject) throws -> JSONValue {
        try core.handle(ServerRequest(Request(fields: fields))).reply.json
    }

    @Test func setThenGetReturnsTheValue() throws {
        var core = ServerCore()
        #expect(try handle(&core, ["cmd": "set", "key": "k", "val": "v"]) == .object(["status": "ok"]))
        #expect(try handle(&core, ["cmd": "get", "key": "k"]) == .object(["status": "ok", "value": "v"]))
    }

    /// "é" as one code point and as "e" plus a combining accent: equal as Swift Strings, different keys.
    @Test func canonicallyEquivalentKeysAreDifferentKeys() throws {
        var core = ServerCore()
        _ = try handle(&core, ["cmd": "set", "key": "caf\u{E9}", "val": "composed"])
        _ = try handle(&core, ["cmd": "set", "key": "cafe\u{301}", "val": "decomposed"])
        #expect(try handle(&core, ["cmd": "get", "key": "caf\u{E9}"]) == ["status": "ok", "value": "composed"])
        #expect(try handle(&core, ["cmd": "get", "key": "cafe\u{301}"]) == ["status": "ok", "value": "decomposed"])
        #expect(core.store.count == 2)
        #expect(core.store.keys.map { Array($0.utf8) } == [Array("cafe\u{301}".utf8), Array("caf\u{E9}".utf8)])
    }

    @Test func getOfAMissingKeyIsNotFound() throws {
        var core = ServerCore()
        #expect(try handle(&core, ["cmd": "get", "key": "nope"]) == .object(["status": "not_found"]))
    }

    @Test func printLogsTheWords() throws {
        var core = ServerCore()
        let (reply, logLine) = core.handle(try ServerRequest(Request(fields: ["cmd": "print", "text": ["hello", "world"]])))
        #expect(reply == .ok)
        #expect(logLine == "print: hello world")
    }

    @Test func valuesMustBeStrings() throws {
        #expect(throws: RequestError.wrongType(field: "val", expected: "a string")) {
            try ServerRequest(Request(fields: ["cmd": "set", "key": "k", "val": 5]))
        }
    }

    @Test func epochNeverGoesBackwards() {
        var core = ServerCore()
        core.observe(epoch: 5)
        core.observe(epoch: 3)
        #expect(core.epoch == 5)
    }
}
