import Testing
@testable import ClientTool

/// Replies are told apart by their first bytes when common and by the real parser otherwise.
struct BenchReplyTests {
    static func classify(_ text: String) -> BenchReply { BenchReply.classify(ArraySlice(text.utf8)) }

    @Test func theCommonRepliesAreRecognised() {
        #expect(Self.classify(#"{"status":"ok"}"#) == .ok)
        #expect(Self.classify(#"{"status":"ok","value":"abc"}"#) == .ok)
        #expect(Self.classify(#"{"status":"not_found"}"#) == .notFound)
        #expect(Self.classify(#"{"status":"granted"}"#) == .granted)
        #expect(Self.classify(#"{"status":"unknown"}"#) == .unknown)
    }

    @Test func fieldsInAnotherOrderOrWithSpacesGoThroughTheParser() {
        #expect(Self.classify(#"{"value":"abc", "status": "ok"}"#) == .ok)
        #expect(Self.classify(#"{ "status" : "not_found" }"#) == .notFound)
        #expect(Self.classify(#"{"status":"okay"}"#) == .unexpected(#"{"status":"okay"}"#))
    }

    @Test func refusalsCarryTheirReasonAndWhetherTheWriteMayHaveApplied() {
        #expect(Self.classify(#"{"status":"retry","epoch":7,"error":"request is for epoch 6 but this server is in 7"}"#)
            == .retry(reason: "request is for epoch 6 but this server is in 7", maybeApplied: false))
        #expect(Self.classify(#"{"status":"retry","error":"x","maybe_applied":true}"#)
            == .retry(reason: "x", maybeApplied: true))
        #expect(Self.classify(#"{"status":"retry","position":2}"#)
            == .retry(reason: "queued at position 2", maybeApplied: false))
    }

    @Test func errorsAndGarbageAreKeptForTheReport() {
        #expect(Self.classify(#"{"status":"error","error":"missing field \"key\""}"#)
            == .error(#"missing field "key""#))
        #expect(Self.classify("[1]") == .unexpected("[1]"))
        guard case .unexpected(let text) = Self.classify("{nope") else {
            Issue.record("garbage was not reported as unexpected")
            return
        }
        #expect(text.contains("not JSON"))
    }
}
