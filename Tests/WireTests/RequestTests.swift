import Testing
@testable import Wire

struct RequestTests {
    func request(_ text: String) throws(RequestError) -> Request {
        try Request(frame: ArraySlice(Array(text.utf8)))
    }

    @Test func fieldsTheReceiverDoesNotKnowAreIgnored() throws {
        let parsed = try request(#"{"cmd":"get","key":"a","extra":[1,2],"more":{"x":null}}"#)
        #expect(parsed.command == "get")
        #expect(try parsed.string("key") == "a")
    }

    @Test func invalidJSONIsExplained() {
        #expect(throws: RequestError.self) { try request("{not json") }
        do {
            _ = try request("{not json")
        } catch {
            #expect(error.description.contains("JSON"))
        }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: RequestError.self) {
            try Request(frame: ArraySlice([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]))
        }
    }

    @Test func valueThatIsNotAnObjectIsRejected() {
        #expect(throws: RequestError.notAnObject) { try request("[1,2,3]") }
        #expect(throws: RequestError.notAnObject) { try request(#""cmd""#) }
    }

    @Test func missingOrMistypedCommandIsRejected() {
        #expect(throws: RequestError.missingField("cmd")) { try request(#"{"key":"a"}"#) }
        #expect(throws: RequestError.wrongType(field: "cmd", expected: "a string")) { try request(#"{"cmd":5}"#) }
    }

    @Test func mistypedFieldNamesTheFieldAndTheExpectedType() throws {
        let parsed = try request(#"{"cmd":"set","key":1,"val":"v"}"#)
        #expect(throws: RequestError.wrongType(field: "key", expected: "a string")) { try parsed.string("key") }
        #expect(throws: RequestError.missingField("nope")) { try parsed.string("nope") }
    }

    @Test func identifierAcceptsStringsAndIntegers() throws {
        #expect(try request(#"{"cmd":"x","requestor":42}"#).identifier("requestor") == "42")
        #expect(try request(#"{"cmd":"x","requestor":"abc"}"#).identifier("requestor") == "abc")
        #expect(throws: RequestError.self) { try request(#"{"cmd":"x","requestor":true}"#).identifier("requestor") }
    }

    /// The classic course server heartbeats with `random.random()` as its requestor: a float.
    @Test func identifierGivesEveryJSONNumberOneStableText() throws {
        let cases: [(json: String, text: String)] = [
            ("0.8444218515250481", "0.8444218515250481"),
            ("-0.5", "-0.5"),
            ("1e-07", "1e-07"),
            ("1E-7", "1e-07"),
            ("1.5e300", "1.5e+300"),
            ("7.0", "7"),
            ("7e0", "7"),
            ("-12", "-12"),
            ("9007199254740992.0", "9007199254740992"),
            ("1e16", "1e+16"),
            ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ]
        for (json, text) in cases {
            #expect(try request(#"{"cmd":"x","requestor":\#(json)}"#).identifier("requestor") == text, "\(json)")
        }
    }

    @Test func integerOutsideItsRangeIsRejected() throws {
        let parsed = try request(#"{"cmd":"heartbeat","port":70000}"#)
        #expect(throws: RequestError.outOfRange(field: "port", range: "1...65535")) {
            try parsed.integer("port", in: 1...65_535)
        }
    }
}
