import Testing
@testable import Wire

struct JSONParserTests {
    func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        #expect(try parse(#"{"s":"x","i":-12,"d":1.5,"t":true,"f":false,"n":null,"a":[1,"2"],"o":{}}"#)
            == ["s": "x", "i": -12, "d": 1.5, "t": true, "f": false, "n": .null, "a": [1, "2"], "o": .object([:])])
    }

    @Test func surroundingWhitespaceIsAllowed() throws {
        #expect(try parse(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ") == ["a": [1, 2]])
    }

    @Test func numbersFollowTheJSONGrammar() throws {
        #expect(try parse("0") == .integer(0))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("1e3") == .double(1000))
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        for bad in ["01", "1.", "-", "+1", ".5", "1e", "0x10", "NaN", "Infinity"] {
            #expect(throws: JSONError.self, "\(bad) must be rejected") { try parse(bad) }
        }
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{8}\u{C}"))
        #expect(try parse(#""\u00e9\ud83d\ude00""#) == .string("é😀"))
        #expect(try parse("\"é😀\"") == .string("é😀"))
    }

    @Test func loneSurrogateEscapeIsRejected() {
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ud83d""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ude00""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\q""#) }
    }

    @Test func invalidUTF8IsRejectedWithItsOffset() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],             // never valid
            [0x22, 0xC0, 0x80, 0x22],       // overlong NUL
            [0x22, 0xE2, 0x82],             // truncated
            [0x22, 0xED, 0xA0, 0x80, 0x22], // encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // past U+10FFFF
        ]
        for bytes in cases {
            #expect(throws: JSONError.invalidUTF8(offset: 1), "\(bytes)") { try JSONParser.parse(bytes) }
        }
    }

    @Test func structuralErrorsNameTheByte() {
        #expect(throws: JSONError.emptyInput) { try parse("") }
        #expect(throws: JSONError.emptyInput) { try parse("   ") }
        #expect(throws: JSONError.unexpectedEnd(offset: 5)) { try parse(#"{"a":"#) }
        #expect(throws: JSONError.unexpectedByte(offset: 5, expected: "':' after an object key")) { try parse(#"{"a" 1}"#) }
        #expect(throws: JSONError.trailingCharacters(offset: 3)) { try parse("{} x") }
        #expect(throws: JSONError.controlCharacterInString(offset: 2)) { try parse("\"a\u{1}\"") }
        #expect(throws: JSONError.self) { try parse("[1,]") }
        #expect(throws: JSONError.self) { try parse(#"{"a":1,}"#) }
        #expect(throws: JSONError.self) { try parse("tru") }
    }

    @Test func nestingAtTheLimitPassesAndOnePastFails() throws {
        let depth = JSONParser.nestingDepthMax
        _ = try parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        #expect(throws: JSONError.nestingTooDeep(depthMax: depth)) {
            try parse(String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1))
        }
    }

    @Test func megabyteOfOpenBracketsIsRejectedWithoutCrashing() {
        #expect(throws: JSONError.nestingTooDeep(depthMax: JSONParser.nestingDepthMax)) {
            try JSONParser.parse([UInt8](repeating: UInt8(ascii: "["), count: 1 << 20))
        }
    }

    @Test func duplicateKeyKeepsTheLastValue() throws {
        #expect(try parse(#"{"a":1,"a":2}"#) == ["a": 2])
    }

    @Test func objectEqualityIgnoresFieldOrder() throws {
        #expect(try parse(#"{"a":1,"b":2}"#) == parse(#"{"b":2,"a":1}"#))
        #expect(try parse(#"{"a":1}"#) != parse(#"{"a":1,"b":2}"#))
    }
}
