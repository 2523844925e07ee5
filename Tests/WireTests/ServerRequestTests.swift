import Testing
@testable import Wire

/// The typed server requests: the fast path that reads hot requests straight from the bytes means exactly what the
/// JSON path means, and defers to it for anything it cannot read.
struct ServerRequestTests {
    static func bytes(_ text: String) -> ArraySlice<UInt8> { ArraySlice(Array(text.utf8)) }

    /// Decodes `text` both ways and checks they agree; returns the fast path's result (nil when it deferred).
    @discardableResult
    static func agree(_ text: String) throws -> ServerRequest? { try agree(bytes: Array(text.utf8)) }

    @discardableResult
    static func agree(bytes: [UInt8]) throws -> ServerRequest? {
        let frame = ArraySlice(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let fast = frame.withUnsafeBufferPointer { FlatObject.read($0) { ServerRequest(flat: $0) } }
        let slow = Result { () throws(RequestError) in try ServerRequest(Request(frame: frame)) }
        let either = Result { () throws(RequestError) in try ServerRequest(frame: frame) }
        switch (slow, either) {
        case (.success(let a), .success(let b)): #expect(a == b, "\(text)")
        case (.failure(let a), .failure(let b)): #expect(a == b, "\(text)")
        default: Issue.record("the two paths disagree on \(text): \(slow) vs \(either)")
        }
        if let fast { #expect(try slow.get() == fast, "\(text)") }
        return fast
    }

    /// Only what other members send may keep a slot of the member reserve; every client command is a client's.
    @Test func onlyPeerMessagesAreMembers() throws {
        for text in [#"{"cmd":"replicate","key":"k","val":"v","version":[7,42],"epoch":7}"#,
                     #"{"cmd":"pull","epoch":3,"ranges":[[0,9]]}"#, #"{"cmd":"view_change","epoch":3}"#] {
            #expect(try ServerRequest(frame: Self.bytes(text)).isMemberMessage, "\(text)")
        }
        for text in [#"{"cmd":"get","key":"k"}"#, #"{"cmd":"set","key":"k","val":"v"}"#,
                     #"{"cmd":"getr","key":"k","epoch":1}"#, #"{"cmd":"setr","key":"k","val":"v","epoch":1}"#,
                     #"{"cmd":"delr","key":"k","epoch":1}"#, #"{"cmd":"query_all_keys"}"#,
                     #"{"cmd":"print","text":["a"]}"#] {
            #expect(try !ServerRequest(frame: Self.bytes(text)).isMemberMessage, "\(text)")
        }
    }

    @Test func hotRequestsAreReadStraightFromTheBytes() throws {
        #expect(try Self.agree(#"{"cmd":"get","key":"color"}"#) == .get(key: "color"))
        #expect(try Self.agree(#" { "cmd" : "set" , "key":"k", "val":"v" } "#) == .set(key: "k", value: "v"))
        #expect(try Self.agree(#"{"cmd":"getr","key":"k","epoch":7}"#) == .getr(key: "k", epoch: 7))
        #expect(try Self.agree(#"{"cmd":"setr","key":"k","val":"v","epoch":7,"client_id":"00000000000000ab","seq":3,"resent":true}"#)
            == .write(key: "k", value: "v", epoch: 7, writeID: WriteID(client: 0xAB, sequence: 3), resent: true))
        #expect(try Self.agree(#"{"cmd":"delr","key":"k","epoch":-1}"#)
            == .write(key: "k", value: nil, epoch: -1, writeID: nil, resent: false))
        #expect(try Self.agree(#"{"cmd":"replicate","key":"k","val":"v","version":[7,42],"epoch":7}"#)
            == .replicate(key: "k", entry: VersionedEntry(value: "v", version: Version(epoch: 7, counter: 42)),
                          writeID: nil, epoch: 7))
        #expect(try Self.agree(#"{"cmd":"replicate","key":"k","deleted":true,"version":[ 7 , 0 ],"epoch":7}"#)
            != nil)
    }

    @Test func anythingElseGoesThroughTheJSONParserWithTheSameMeaning() throws {
        let deferred = [
            #"{"cmd":"get","key":"caf\u00e9"}"#,               // an escape
            #"{"cmd":"get","key":"café"}"#,                    // non-ASCII
            #"{"cmd":"getr","key":"k","epoch":7.0}"#,          // a number with a fraction
            #"{"cmd":"getr","key":"k","epoch":1e1}"#,          // an exponent
            #"{"cmd":"get","key":"k","key":"j"}"#,             // a repeated field
            #"{"cmd":"get","key":"k","extra":null}"#,          // a field no hot request has
            #"{"cmd":"get","key":"k","k":1}"#,                 // a name that starts like a hot one
            #"{"cmd":"get","key":"k","":1}"#,                  // an empty name
            #"{"cmd":"print","text":["a","b"]}"#,              // a list
            #"{"cmd":"set","key":"k","val":5}"#,               // a mistyped field: the JSON path explains
            #"{"cmd":"getr","key":"k"}"#,                      // a missing field
            #"{"cmd":"setr","key":"k","val":"v","epoch":1,"seq":2}"#,  // half a write ID
            #"{"cmd":"nope"}"#,
            #"{"cmd":"get","key":"k"} x"#,                     // trailing bytes
            #"{"cmd":"get","key":"k""#,                        // cut short
            #"{"cmd":"getr","key":"k","epoch":99999999999999999999}"#,
        ]
        for text in deferred { #expect(try Self.agree(text) == nil, "\(text)") }
    }

    @Test func repliesWriteTheSameJSONTheirValueFormDoes() throws {
        let replies: [ServerReply] = [
            .ok, .value("v \"quoted\" \\ \n"), .notFound, .keys(["a", "b"]),
            .retry(reason: "no", epoch: 3, maybeApplied: true), .retry(reason: "no", epoch: 3, maybeApplied: false),
            .deduplicated, .unknownOutcome("why"), .error("bad"),
            .page(PullPage(entries: [
                PulledEntry(key: "k", entry: VersionedEntry(value: "v", version: Version(epoch: 2, counter: 5)),
                            writeIDs: [RememberedWrite(writeID: WriteID(client: 9, sequence: 4),
                                                       version: Version(epoch: 2, counter: 5))]),
                PulledEntry(key: "d", entry: VersionedEntry(value: nil, version: Version(epoch: 1, counter: 1))),
            ], more: true)),
        ]
        for reply in replies {
            var bytes: [UInt8] = []
            reply.encodeBody(into: &bytes)
            #expect(try JSONParser.parse(bytes) == reply.json, "\(reply)")
        }
        var page: [UInt8] = []
        ServerReply.page(PullPage(entries: [], more: false)).encodeBody(into: &page)
        #expect(String(decoding: page, as: UTF8.self) == #"{"status":"ok","entries":[],"more":false}"#)
    }

    @Test func aPullPageReadsBackWhatItWrote() throws {
        let page = PullPage(entries: [
            PulledEntry(key: "k", entry: VersionedEntry(value: "v", version: Version(epoch: 2, counter: 5)),
                        writeIDs: [RememberedWrite(writeID: WriteID(client: 9, sequence: 4),
                                                   version: Version(epoch: 2, counter: 5))]),
        ], more: true)
        #expect(try PullPage(reply: try #require(ServerReply.page(page).json.objectValue)) == page)
    }

    /// Mutated hot requests (bytes inserted, dropped or changed): whatever the fast path accepts, the JSON path reads
    /// the same way, and whatever the JSON path rejects, the fast path rejects too.
    @Test func mutatedRequestsMeanTheSameBothWays() throws {
        let templates = [
            #"{"cmd":"get","key":"color"}"#,
            #"{"cmd":"setr","key":"k","val":"v","epoch":7,"client_id":"00000000000000ab","seq":3}"#,
            #"{"cmd":"replicate","key":"k","val":"v","version":[7,42],"epoch":7}"#,
        ]
        let alphabet = Array(#"{}[]":,-0123456789 truefalsenull"#.utf8) + [0xC3, 0xA9, 0x00]
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for round in 0..<3_000 {
            var bytes = Array(templates[round % templates.count].utf8)
            for _ in 0...next(3) {
                let at = next(bytes.count)
                switch next(3) {
                case 0: bytes.insert(alphabet[next(alphabet.count)], at: at)
                case 1: bytes.remove(at: at)
                default: bytes[at] = alphabet[next(alphabet.count)]
                }
            }
            try Self.agree(bytes: bytes)
        }
    }
}
