import Testing
import Wire
@testable import ServerKit

struct ServerCoreTests {
    func handle(_ core: inout ServerCore, _ fields: JSONObject) throws -> JSONValue {
        try core.handle(Request(fields: fields)).reply
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

    @Test func queryAllKeysListsEveryKeySorted() throws {
        var core = ServerCore()
        _ = try handle(&core, ["cmd": "set", "key": "b", "val": "1"])
        _ = try handle(&core, ["cmd": "set", "key": "a", "val": "2"])
        #expect(try handle(&core, ["cmd": "query_all_keys"]) == .object(["result": ["a", "b"]]))
    }

    @Test func printLogsTheWords() throws {
        var core = ServerCore()
        let (reply, effects) = try core.handle(Request(fields: ["cmd": "print", "text": ["hello", "world"]]))
        #expect(reply == .object(["status": "ok"]))
        #expect(effects == [.log("print: hello world")])
    }

    @Test func valuesMustBeStrings() throws {
        var core = ServerCore()
        #expect(throws: RequestError.wrongType(field: "val", expected: "a string")) {
            try core.handle(Request(fields: ["cmd": "set", "key": "k", "val": 5]))
        }
    }

    @Test func epochNeverGoesBackwards() {
        var core = ServerCore()
        core.observe(epoch: 5)
        core.observe(epoch: 3)
        #expect(core.epoch == 5)
    }
}
