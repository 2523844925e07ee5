import Testing
@testable import Wire

struct JSONWriterTests {
    func text(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }

    @Test func writesEveryKindOfValueCompactly() {
        #expect(text(.null) == "null")
        #expect(text(true) == "true")
        #expect(text(false) == "false")
        #expect(text("s") == #""s""#)
        #expect(text([]) == "[]")
        #expect(text(.object([:])) == "{}")
        #expect(text([1, [2, [3]], ["k": [true, .null]]]) == #"[1,[2,[3]],{"k":[true,null]}]"#)
    }

    @Test func keepsObjectFieldsInStoredOrder() {
        #expect(text(["status": "ok", "epoch": 3, "list": [true, false, .null]])
            == #"{"status":"ok","epoch":3,"list":[true,false,null]}"#)
        var object: JSONObject = ["z": 1, "a": 2]
        object["m"] = 3
        object["z"] = 4
        #expect(text(.object(object)) == #"{"z":4,"a":2,"m":3}"#)
    }

    @Test func writesIntegersInDecimalIncludingTheExtremes() {
        #expect(text(0) == "0")
        #expect(text(-7) == "-7")
        #expect(text(1_234_567_890) == "1234567890")
        #expect(text(.integer(Int64.max)) == "9223372036854775807")
        #expect(text(.integer(Int64.min)) == "-9223372036854775808")
    }

    @Test func integralDoublesAreWrittenWithoutAFraction() {
        #expect(text(.double(3.0)) == "3")
        #expect(text(.double(-42.0)) == "-42")
        #expect(text(.double(-0.0)) == "0")
        #expect(text(.double(9_007_199_254_740_991)) == "9007199254740991")
    }

    @Test func otherDoublesAreWrittenShortestRoundTrip() {
        #expect(text(.double(0.1)) == "0.1")
        #expect(text(.double(-2.5)) == "-2.5")
        #expect(text(.double(9_007_199_254_740_992)) == "9007199254740992.0")
        #expect(text(.double(1e16)) == "1e+16")
        #expect(text(.double(1e300)) == "1e+300")
        #expect(text(.double(.leastNonzeroMagnitude)) == "5e-324")
    }

    @Test func nonFiniteDoublesAreWrittenAsNull() {
        #expect(text(.double(.nan)) == "null")
        #expect(text(.double(.infinity)) == "null")
        #expect(text(.double(-.infinity)) == "null")
        #expect(text(["x": .double(.nan)]) == #"{"x":null}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(text("a\"b\\c") == #""a\"b\\c""#)
        #expect(text("\n\r\t\u{8}\u{C}") == #""\n\r\t\b\f""#)
        #expect(text("\u{0}\u{1}\u{1F}\u{7F}") == "\"\\u0000\\u0001\\u001f\u{7F}\"")
        #expect(text(["k\"ey": "v"]) == #"{"k\"ey":"v"}"#)
    }

    @Test func leavesSlashAndNonASCIIUnescaped() {
        #expect(text("a/b") == #""a/b""#)
        #expect(text("é€😀 日本") == "\"é€😀 日本\"")
    }

    @Test func appendsToAnExistingBuffer() {
        var buffer = Array("prefix:".utf8)
        JSONWriter.encode(["a": 1], into: &buffer)
        JSONWriter.encode("b", into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"prefix:{"a":1}"b""#)
    }

    @Test func descriptionIsTheCompactEncoding() {
        let value: JSONValue = ["cmd": "set", "key": "k", "n": [1, 2.5]]
        #expect(value.description == #"{"cmd":"set","key":"k","n":[1,2.5]}"#)
        #expect("\(value)" == value.description)
    }

    @Test func everyValueSurvivesAWriterParserRoundTrip() throws {
        let values: [JSONValue] = [
            .null, true, false, 0, -1, .integer(Int64.max), .integer(Int64.min), 2.5, -0.001, 1e-300, 1.5e300,
            "", "plain", "quote\" and \\ and \u{0} and \u{1F} and \n", "/", "é€😀", "\u{10FFFF}",
            [], [[], [[]]], ["k": ["nested": [1, 2, ["x": "y"]]]],
            ["status": "ok", "values": ["a", "b"], "epoch": 12, "flag": false, "none": .null],
        ]
        for value in values {
            #expect(try JSONParser.parse(JSONWriter.encode(value)) == value, "\(value)")
        }
    }

    @Test func integralDoublesReadBackAsTheSameNumber() throws {
        for number in [3.0, -42.0, 1e15] {
            #expect(try JSONParser.parse(JSONWriter.encode(.double(number))).integerValue == Int64(number))
        }
    }
}
