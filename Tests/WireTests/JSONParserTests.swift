import Testing
@testable import Wire

struct JSONParserTests {
    func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    // MARK: Values

    @Test func parsesEveryKindOfValue() throws {
        #expect(try parse("null") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("42") == .integer(42))
        #expect(try parse("-1.5") == .double(-1.5))
        #expect(try parse(#""text""#) == .string("text"))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object(JSONObject()))
        #expect(try parse(#"{"s":"x","i":-12,"d":1.5,"t":true,"f":false,"n":null,"a":[1,"2"],"o":{}}"#)
            == ["s": "x", "i": -12, "d": 1.5, "t": true, "f": false, "n": .null, "a": [1, "2"], "o": .object([:])])
    }

    @Test func parsesNestedArraysAndObjects() throws {
        let value = try parse(#"{"a":[{"b":[[1],[2,{"c":null}]]}],"d":{"e":{"f":"g"}}}"#)
        #expect(value == ["a": [["b": [[1], [2, ["c": .null]]]]], "d": ["e": ["f": "g"]]])
        #expect(value.objectValue?["d"]?.objectValue?["e"]?.objectValue?["f"]?.stringValue == "g")
    }

    @Test func surroundingAndInnerWhitespaceIsAllowed() throws {
        #expect(try parse(" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\"\n:\ttrue }\n ") == ["a": [1, 2], "b": true])
        #expect(try parse("\n\n7\r\n") == 7)
    }

    @Test func parsesBothArrayAndArraySliceAndOtherCollections() throws {
        let bytes = Array("xx[1,2]yy".utf8)
        #expect(try JSONParser.parse(bytes[2..<7]) == [1, 2])
        #expect(try JSONParser.parse(Array(bytes[2..<7])) == [1, 2])
        #expect(try JSONParser.parse("[1,2]".utf8) == [1, 2])
        try bytes.withUnsafeBufferPointer { buffer throws(JSONError) in
            #expect(try JSONParser.parse(UnsafeBufferPointer(rebasing: buffer[2..<7])) == [1, 2])
        }
    }

    @Test func offsetsInASliceCountFromTheSliceStart() {
        let bytes = Array("xx[1,]yy".utf8)
        #expect(throws: JSONError.unexpectedByte(offset: 3, expected: "a value")) { try JSONParser.parse(bytes[2..<6]) }
    }

    // MARK: Numbers

    @Test func numbersFollowTheJSONGrammar() throws {
        #expect(try parse("0") == .integer(0))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("-7") == .integer(-7))
        #expect(try parse("1e3") == .double(1000))
        #expect(try parse("1E+3") == .double(1000))
        #expect(try parse("25e-1") == .double(2.5))
        #expect(try parse("0.5") == .double(0.5))
        #expect(try parse("-0.0") == .double(-0.0))
        #expect(try parse("1.0") == .double(1.0))
    }

    @Test func integersThatFitInt64StayExactAndLargerOnesBecomeDoubles() throws {
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("-9223372036854775808") == .integer(Int64.min))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try parse("-9223372036854775809") == .double(-9_223_372_036_854_775_808))
        #expect(try parse("100000000000000000000000") == .double(1e23))
    }

    @Test func malformedNumbersAreRejectedAtTheirStart() {
        for bad in ["01", "-01", "00", "1.", "-", "1e", "1e+", "1.e3", "-.5", "1.5e"] {
            #expect(throws: JSONError.invalidNumber(offset: 0), "\(bad) must be rejected") { try parse(bad) }
        }
        #expect(throws: JSONError.invalidNumber(offset: 1)) { try parse("[01]") }
    }

    @Test func numbersJSONDoesNotAllowAreRejected() {
        #expect(throws: JSONError.unexpectedByte(offset: 0, expected: "a value")) { try parse("+1") }
        #expect(throws: JSONError.unexpectedByte(offset: 0, expected: "a value")) { try parse(".5") }
        #expect(throws: JSONError.unexpectedByte(offset: 0, expected: "a value")) { try parse("NaN") }
        #expect(throws: JSONError.unexpectedByte(offset: 0, expected: "a value")) { try parse("Infinity") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("-Infinity") }
        #expect(throws: JSONError.trailingCharacters(offset: 1)) { try parse("0x10") }
    }

    @Test func numbersTooLargeForADoubleAreRejected() {
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("1e999") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("-" + String(repeating: "9", count: 400)) }
    }

    // MARK: Strings and Unicode

    @Test func everyShortEscapeDecodes() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{8}\u{C}"))
    }

    @Test func unicodeEscapesAndSurrogatePairsDecode() throws {
        #expect(try parse(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""x\uD83D\uDE00y\u0000""#) == .string("x😀y\u{0}"))
    }

    @Test func rawUnicodeIsKeptAsIs() throws {
        #expect(try parse("\"é€😀 日本\"") == .string("é€😀 日本"))
        #expect(try parse("{\"ключ\":\"значение\"}") == ["ключ": "значение"])
    }

    @Test func loneOrMispairedSurrogateEscapeIsRejected() {
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ud83d""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ude00""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ud83dx""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ud83d\u0041""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ud83d\n""#) }
    }

    @Test func unknownOrMalformedEscapeIsRejectedAtItsBackslash() {
        #expect(throws: JSONError.invalidEscape(offset: 2)) { try parse(#""a\q""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\u12G4""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\U0041""#) }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\x41""#) }
    }

    @Test func truncatedEscapeIsAnUnexpectedEnd() {
        #expect(throws: JSONError.unexpectedEnd(offset: 2)) { try parse(#""\"#) }
        #expect(throws: JSONError.unexpectedEnd(offset: 5)) { try parse(#""\u12"#) }
    }

    @Test func rawControlCharacterInStringIsRejected() {
        #expect(throws: JSONError.controlCharacterInString(offset: 2)) { try parse("\"a\u{1}\"") }
        #expect(throws: JSONError.controlCharacterInString(offset: 1)) { try parse("\"\n\"") }
        #expect(throws: JSONError.controlCharacterInString(offset: 3)) { try parse("\"\\n\t\"") }
    }

    @Test func unterminatedStringIsAnUnexpectedEnd() {
        #expect(throws: JSONError.unexpectedEnd(offset: 4)) { try parse(#""abc"#) }
        #expect(throws: JSONError.unexpectedEnd(offset: 5)) { try parse(#""a\nb"#) }
    }

    // MARK: UTF-8

    @Test func rejectsInvalidUTF8InsideString() {
        let cases: [(name: String, bytes: [UInt8])] = [
            ("never-valid byte", [0x22, 0xFF, 0x22]),
            ("overlong NUL", [0x22, 0xC0, 0x80, 0x22]),
            ("overlong three-byte", [0x22, 0xE0, 0x80, 0xAF, 0x22]),
            ("truncated at the end", [0x22, 0xE2, 0x82]),
            ("truncated before a quote", [0x22, 0xE2, 0x82, 0x22]),
            ("encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]),
            ("past U+10FFFF", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
            ("stray continuation", [0x22, 0x80, 0x22]),
        ]
        for (name, bytes) in cases {
            #expect(throws: JSONError.invalidUTF8(offset: 1), "\(name)") { try JSONParser.parse(bytes) }
        }
    }

    @Test func rejectsInvalidUTF8OutsideStringsAndAfterASyntaxError() {
        #expect(throws: JSONError.invalidUTF8(offset: 3)) { try JSONParser.parse([0x5B, 0x31, 0x2C, 0xFF, 0x5D]) }
        #expect(throws: JSONError.invalidUTF8(offset: 2)) { try JSONParser.parse([0x7B, 0x7D, 0xC3]) }
        let badKey: [UInt8] = [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]
        #expect(throws: JSONError.invalidUTF8(offset: 2)) { try JSONParser.parse(badKey) }
    }

    @Test func findsInvalidUTF8PastALongASCIIRun() {
        var bytes = Array("\"".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1_001) + [0xE2, 0x28, 0xA1]
        bytes += Array("\"".utf8)
        #expect(throws: JSONError.invalidUTF8(offset: 1_002)) { try JSONParser.parse(bytes) }
    }

    @Test func acceptsEveryUTF8SequenceLength() throws {
        let bytes: [UInt8] = [0x22, 0x24, 0xC2, 0xA2, 0xE2, 0x82, 0xAC, 0xF0, 0x90, 0x8D, 0x88,
                              0xF4, 0x8F, 0xBF, 0xBF, 0x22]
        #expect(try JSONParser.parse(bytes) == .string("$¢€𐍈\u{10FFFF}"))
    }

    // MARK: Structure errors

    @Test func emptyOrBlankInputIsRejected() {
        #expect(throws: JSONError.emptyInput) { try parse("") }
        #expect(throws: JSONError.emptyInput) { try parse(" \t\r\n") }
    }

    @Test func inputThatStopsMidValueIsAnUnexpectedEndAtItsLength() {
        #expect(throws: JSONError.unexpectedEnd(offset: 5)) { try parse(#"{"a":"#) }
        #expect(throws: JSONError.unexpectedEnd(offset: 1)) { try parse("[") }
        #expect(throws: JSONError.unexpectedEnd(offset: 2)) { try parse("[1") }
        #expect(throws: JSONError.unexpectedEnd(offset: 4)) { try parse(#"{"a""#) }
        #expect(throws: JSONError.unexpectedEnd(offset: 3)) { try parse("tru") }
    }

    @Test func unexpectedByteSaysWhatWasExpected() {
        #expect(throws: JSONError.unexpectedByte(offset: 5, expected: "':' after an object key")) {
            try parse(#"{"a" 1}"#)
        }
        #expect(throws: JSONError.unexpectedByte(offset: 1, expected: "a string key")) { try parse("{not json") }
        #expect(throws: JSONError.unexpectedByte(offset: 7, expected: "a string key")) { try parse(#"{"a":1,}"#) }
        #expect(throws: JSONError.unexpectedByte(offset: 3, expected: "a value")) { try parse("[1,]") }
        #expect(throws: JSONError.unexpectedByte(offset: 3, expected: "',' or ']'")) { try parse("[1 2]") }
        #expect(throws: JSONError.unexpectedByte(offset: 6, expected: "',' or '}'")) { try parse(#"{"a":1]"#) }
        #expect(throws: JSONError.unexpectedByte(offset: 3, expected: "'true'")) { try parse("trux") }
        #expect(throws: JSONError.unexpectedByte(offset: 0, expected: "a value")) { try parse("'a'") }
    }

    @Test func trailingCharactersAfterTheValueAreRejected() {
        #expect(throws: JSONError.trailingCharacters(offset: 3)) { try parse("{} x") }
        #expect(throws: JSONError.trailingCharacters(offset: 2)) { try parse("1 2") }
        #expect(throws: JSONError.trailingCharacters(offset: 2)) { try parse("[][]") }
    }

    @Test func errorDescriptionsAreReadableAndNameTheByte() {
        #expect(JSONError.unexpectedByte(offset: 7, expected: "':' after an object key").description
            == "invalid JSON at byte 7: expected ':' after an object key")
        #expect(JSONError.invalidUTF8(offset: 3).description == "frame is not valid UTF-8 (byte 3)")
        #expect(JSONError.nestingTooDeep(depthMax: 64).description == "JSON nests deeper than 64 levels")
        #expect(JSONError.unexpectedEnd(offset: 12).description == "unexpected end of JSON at byte 12")
        #expect(JSONError.trailingCharacters(offset: 9).description
            == "trailing characters after the JSON value at byte 9")
        let others: [JSONError] = [.emptyInput, .invalidNumber(offset: 4), .invalidEscape(offset: 5),
                                   .controlCharacterInString(offset: 6)]
        for error in others { #expect(error.description.contains("JSON"), "\(error)") }
        #expect(JSONError.invalidNumber(offset: 4).description.contains("byte 4"))
    }

    // MARK: Limits

    @Test func nestingAtTheLimitPassesAndOnePastFails() throws {
        let depth = JSONParser.nestingDepthMax
        _ = try parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        _ = try parse(String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth))
        #expect(throws: JSONError.nestingTooDeep(depthMax: depth)) {
            try parse(String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1))
        }
        #expect(throws: JSONError.nestingTooDeep(depthMax: depth)) {
            try parse(String(repeating: #"{"a":"#, count: depth + 1) + "1" + String(repeating: "}", count: depth + 1))
        }
    }

    @Test func manyOpenBracketsAreRejectedWithoutCrashing() {
        #expect(throws: JSONError.nestingTooDeep(depthMax: JSONParser.nestingDepthMax)) {
            try JSONParser.parse([UInt8](repeating: UInt8(ascii: "["), count: 100_000))
        }
        #expect(throws: JSONError.nestingTooDeep(depthMax: JSONParser.nestingDepthMax)) {
            try JSONParser.parse(Array(String(repeating: #"{"k":["#, count: 100_000).utf8))
        }
    }

    @Test func siblingContainersDoNotAddToTheDepth() throws {
        let many = "[" + Array(repeating: "[[1]]", count: 1_000).joined(separator: ",") + "]"
        #expect(try parse(many).arrayValue?.count == 1_000)
    }

    @Test func objectWithManyDistinctKeysParsesQuicklyAndKeepsOrder() throws {
        let count = 50_000
        let text = "{" + (0..<count).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        let object = try #require(try parse(text).objectValue)
        #expect(object.count == count)
        #expect(object.keys.prefix(3) == ["k0", "k1", "k2"])
        #expect(object["k49999"] == .integer(49_999))
    }

    // MARK: Objects

    @Test func duplicateKeyKeepsTheLastValueInTheFirstPosition() throws {
        let object = try #require(try parse(#"{"a":1,"b":2,"a":3}"#).objectValue)
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
    }

    @Test func duplicateKeyInALargeObjectKeepsTheLastValue() throws {
        let fields = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        let object = try #require(try parse("{" + fields + #","k3":"last","k39":"end"}"#).objectValue)
        #expect(object.count == 40)
        #expect(object["k3"] == "last")
        #expect(object["k39"] == "end")
        #expect(object.keys[3] == "k3")
    }

    @Test func objectEqualityIgnoresFieldOrder() throws {
        #expect(try parse(#"{"a":1,"b":2}"#) == parse(#"{"b":2,"a":1}"#))
        #expect(try parse(#"{"a":1}"#) != parse(#"{"a":1,"b":2}"#))
        #expect(try parse(#"{"a":1,"b":2}"#) != parse(#"{"a":1,"c":2}"#))
        #expect(try parse(#"{"a":1,"b":2}"#) != parse(#"{"a":1,"b":3}"#))
    }

    @Test func largeObjectEqualityIgnoresFieldOrder() throws {
        let keys = (0..<30).map { #""k\#($0)":\#($0)"# }
        let forward = try parse("{" + keys.joined(separator: ",") + "}")
        let backward = try parse("{" + keys.reversed().joined(separator: ",") + "}")
        #expect(forward == backward)
        var changed = try #require(backward.objectValue)
        changed["k7"] = "other"
        #expect(forward != .object(changed))
    }

    @Test func objectSubscriptReplacesInPlaceAppendsAndRemoves() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = "one"
        object["c"] = 3
        #expect(object.keys == ["a", "b", "c"])
        object["b"] = nil
        object["missing"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object.count == 2)
        #expect(object["a"] == "one")
        #expect(Array(object.map(\.key)) == ["a", "c"])
    }

    @Test func accessorsReturnTheValueOnlyForTheirKind() {
        let value: JSONValue = "s"
        #expect(value.stringValue == "s")
        #expect(value.integerValue == nil)
        #expect(JSONValue.integer(5).integerValue == 5)
        #expect(JSONValue.double(5.0).integerValue == 5)
        #expect(JSONValue.double(5.5).integerValue == nil)
        #expect(JSONValue.double(1e19).integerValue == nil)
        #expect(JSONValue.double(.nan).integerValue == nil)
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.null.boolValue == nil)
        #expect(JSONValue.array([1]).arrayValue == [1])
        #expect(JSONValue.object(["k": 1]).objectValue?["k"] == 1)
        #expect(JSONValue.null.objectValue == nil)
    }
}
