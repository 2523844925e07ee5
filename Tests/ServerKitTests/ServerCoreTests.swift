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
