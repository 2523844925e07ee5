import Testing
@testable import Wire

struct JSONWriterTests {
    func text(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }

    @Test func writesCompactlyKeepingFieldOrder() {
        #expect(text(["status": "ok", "epoch": 3, "list": [true, false, .null]])
            == #"{"status":"ok","epoch":3,"list":[true,false,null]}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(text("a\"b\\c\n\t\u{1}") == #""a\"b\\c\n\t\u0001""#)
        #expect(text("é/😀") == "\"é/😀\"")
    }

    @Test func doublesAreWrittenShortestAndNonFiniteAsNull() {
        #expect(text(.double(3.0)) == "3")
        #expect(text(.double(0.1)) == "0.1")
        #expect(text(.double(.nan)) == "null")
        #expect(text(.double(.infinity)) == "null")
    }

    @Test func everyValueSurvivesARoundTrip() throws {
        let values: [JSONValue] = [
            .null, true, 0, -1, .integer(Int64.min), 2.5, "", "quote\" and \\ and \u{0}", "😀",
            [], [[], [[]]], ["k": ["nested": [1, 2, ["x": "y"]]]],
        ]
        for value in values {
            #expect(try JSONParser.parse(JSONWriter.encode(value)) == value)
        }
    }
}
