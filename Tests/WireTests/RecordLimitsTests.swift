import Testing
@testable import Wire

/// Every message built from a write at the key and value limits fits in one frame, at the default frame limit and
/// at the smallest a server accepts; and the sizes a pull page counts are upper bounds of what it writes.
struct RecordLimitsTests {
    /// A key of exactly `keyBytesMax` bytes of JSON text, with escapes in it, and a value at the value limit.
    static func largest(_ limits: RecordLimits) -> (key: String, value: String) {
        let key = "\"\u{1}" + String(repeating: "k", count: RecordLimits.keyBytesMax - 8)
        let value = "\\\n" + String(repeating: "v", count: limits.valueBytesMax - 4)
        return (key, value)
    }

    static let writeID = WriteID(client: .max, sequence: WriteID.sequenceMax)
    static let version = Version(epoch: .max, counter: .max)

    static func bytes(_ body: some FrameBody) -> Int {
        var buffer: [UInt8] = []
        body.encodeBody(into: &buffer)
        return buffer.count
    }

    @Test(arguments: [RecordLimits.standard, RecordLimits(frameBytesMax: RecordLimits.frameBytesMin)])
    func everyMessageAtTheLimitsFitsAFrame(_ limits: RecordLimits) throws {
        let (key, value) = Self.largest(limits)
        #expect(JSONWriter.escapedLength(of: key) == RecordLimits.keyBytesMax)
        #expect(JSONWriter.escapedLength(of: value) == limits.valueBytesMax)
        try limits.check(key: key, value: value)
        let messages: [any FrameBody] = [
            ServerRequest.write(key: key, value: value, epoch: .max, writeID: Self.writeID, resent: true),
            ServerRequest.set(key: key, value: value),
            ServerRequest.replicate(key: key, entry: VersionedEntry(value: value, version: Self.version),
                                    writeID: Self.writeID, epoch: .max),
            ServerReply.value(value),
            ServerReply.storedValue(EncodedString(value)),
        ]
        for message in messages {
            #expect(Self.bytes(message) <= limits.frameBytesMax, "\(type(of: message))")
        }
        let remembered = (0..<PullPage.writeIDsPerEntryMax).map { _ in
            RememberedWrite(writeID: Self.writeID, version: Self.version)
        }
        let entry = PulledEntry(key: key, entry: VersionedEntry(value: value, version: Self.version),
                                writeIDs: remembered)
        let page = Self.bytes(ServerReply.page(PullPage(entries: [entry], more: true)))
        #expect(page <= limits.frameBytesMax)
        let counted = RecordLimits.pullEntryBytes(keyBytes: RecordLimits.keyBytesMax, valueBytes: limits.valueBytesMax,
                                                  writeIDs: remembered.count)
        #expect(counted <= limits.pullPageBytesMax, "one maximal entry always fits a page")
        #expect(page <= counted + RecordLimits.pullPageEnvelopeBytes, "the counted size bounds the written one")
    }

    /// The finding of a 10-minute campaign on 64 KiB frames: a pull listed every position the puller held, 400 KB
    /// with a thousand spread keys, and the peer refused it forever. A pull cut to `pullHeldPositionsMax` fits.
    @Test(arguments: [RecordLimits.standard, RecordLimits(frameBytesMax: 64 * 1_024),
                      RecordLimits(frameBytesMax: RecordLimits.frameBytesMin)])
    func aPullRequestCutToItsHeldPositionLimitFitsAFrame(_ limits: RecordLimits) {
        let ranges: [WirePositionRange] = (0..<40).map { (index: Int) -> WirePositionRange in
            let low = Int64(16_000_000 + 2 * index)
            return WirePositionRange(low: low, high: low + 1)
        }
        let held = (0..<limits.pullHeldPositionsMax(ranges: ranges.count)).map {
            HeldPosition(position: 16_777_215 - Int64($0), count: Int64.max, digest: UInt64(1) << 63)
        }
        #expect(held.count > 100, "room for a useful number of positions")
        let request = ServerRequest.pull(PullRequest(epoch: .max, ranges: ranges,
                                                     after: Self.largest(limits).key, have: held))
        #expect(Self.bytes(request) <= limits.frameBytesMax)
    }

    /// A sync over more ranges than a request can list asks for them in batches: a batch of the most ranges,
    /// with as many held positions as then fit, is one frame.
    @Test(arguments: [RecordLimits.standard, RecordLimits(frameBytesMax: 64 * 1_024),
                      RecordLimits(frameBytesMax: RecordLimits.frameBytesMin)])
    func aPullRequestWithItsMostRangesFitsAFrame(_ limits: RecordLimits) {
        let ranges = (0..<limits.pullRangesPerRequestMax).map { (index: Int) -> WirePositionRange in
            WirePositionRange(low: 16_000_000 + Int64(index), high: 16_777_215)
        }
        let held = (0..<limits.pullHeldPositionsMax(ranges: ranges.count)).map {
            HeldPosition(position: 16_777_215 - Int64($0), count: Int64.max, digest: UInt64(1) << 63)
        }
        #expect(held.count * RecordLimits.pullHeldPositionBytes >= ranges.count * RecordLimits.pullRangeBytes - 64,
                "as much room again for held positions")
        let request = ServerRequest.pull(PullRequest(epoch: .max, ranges: ranges,
                                                     after: Self.largest(limits).key, have: held))
        #expect(Self.bytes(request) <= limits.frameBytesMax)
    }

    @Test func aPageCountsAtLeastWhatItWritesForEveryShapeOfEntry() {
        let shapes: [PulledEntry] = [
            PulledEntry(key: "", entry: VersionedEntry(value: "", version: .zero)),
            PulledEntry(key: "k", entry: VersionedEntry(value: nil, version: Self.version)),
            PulledEntry(key: "k", entry: VersionedEntry(value: "v", version: Self.version),
                        writeIDs: [RememberedWrite(writeID: Self.writeID, version: Self.version)]),
        ]
        for entries in [shapes, shapes + shapes] {
            let written = Self.bytes(ServerReply.page(PullPage(entries: entries, more: false)))
            let counted = entries.reduce(RecordLimits.pullPageEnvelopeBytes) { total, entry in
                total + RecordLimits.pullEntryBytes(keyBytes: JSONWriter.escapedLength(of: entry.key),
                                                    valueBytes: entry.entry.value.map(JSONWriter.escapedLength) ?? 0,
                                                    writeIDs: entry.writeIDs.count)
            }
            #expect(written <= counted)
        }
    }

    @Test func escapedLengthIsWhatTheWriterWrites() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "\"", "\\", "\n", "\t", "\u{1}", "\u{1f}", "é", "☕", " ", "z"]
        for length in 0..<200 {
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            var written: [UInt8] = []
            JSONWriter.appendString(text, to: &written)
            #expect(JSONWriter.escapedLength(of: text) == written.count - 2, "\(text.debugDescription)")
        }
    }

    @Test func aKeyOrValueOverItsLimitIsRefusedByName() {
        let limits = RecordLimits.standard
        #expect(throws: RequestError.tooLarge(field: "key", bytes: 1_025, limit: 1_024)) {
            try limits.check(key: String(repeating: "k", count: 1_025))
        }
        let overByOne = RequestError.tooLarge(field: "val", bytes: limits.valueBytesMax + 1, limit: limits.valueBytesMax)
        #expect(throws: overByOne) {
            try limits.check(key: "k", value: String(repeating: "v", count: limits.valueBytesMax - 5) + "\u{2}")
        }
        #expect(limits.valueBytesMax == 1_039_360)
    }
}
