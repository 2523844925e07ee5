import Placement
import Testing
import Wire
@testable import Durability

struct LogEntryTests {
    let limits = LogEntryLimits(valueBytesMax: 4096, ringSize: 10_000)

    let entries: [LogEntry] = [
        .replicated(PulledEntry(key: "account:alice",
                                entry: VersionedEntry(value: "100", version: Version(epoch: 3, counter: 17)),
                                writeIDs: [RememberedWrite(writeID: WriteID(client: .max, sequence: 1 << 53),
                                                           version: Version(epoch: 3, counter: 17))])),
        .replicated(PulledEntry(key: "gone",
                                entry: VersionedEntry(value: nil, version: Version(epoch: .max, counter: 0)))),
        .replicated(PulledEntry(key: "", entry: VersionedEntry(value: "", version: .zero))),
        .classicSet(key: "é\u{0}\"", value: String(repeating: "v", count: 4096)),
        .dropped([PositionRange(0, 0), PositionRange(17, 9_999)]),
        .dropped([]),
    ]

    func decode(_ payload: [UInt8], limits: LogEntryLimits? = nil) throws -> LogEntry {
        try payload.withUnsafeBytes { buffer in
            try LogEntry(payload: buffer, limits: limits ?? self.limits)
        }
    }

    @Test func everyKindReadsBackAsWritten() throws {
        for entry in entries {
            #expect(try decode(entry.payload) == entry)
            #expect(entry.payload.count <= limits.payloadBytesMax)
        }
    }

    /// A payload cut anywhere is refused, never read as a shorter entry.
    @Test func everyTruncationIsRefused() {
        for entry in entries {
            let payload = entry.payload
            for length in 0..<payload.count {
                #expect(throws: LogEntryError.self, "\(entry) cut to \(length) bytes") {
                    try decode(Array(payload[..<length]))
                }
            }
        }
    }

    @Test func fieldsOverTheirLimitsAreRefused() {
        let tight = LogEntryLimits(valueBytesMax: 4095, ringSize: 10_000)
        #expect(throws: LogEntryError.self) { try decode(entries[3].payload, limits: tight) }
        let smallRing = LogEntryLimits(valueBytesMax: 4096, ringSize: 100)
        #expect(throws: LogEntryError.self) { try decode(entries[4].payload, limits: smallRing) }
        #expect(throws: LogEntryError.malformed("an unknown kind of entry")) { try decode([9]) }
        #expect(throws: LogEntryError.malformed("bytes after its last field")) { try decode(entries[5].payload + [0]) }
    }

    /// The largest entry the limits allow is within `payloadBytesMax`, so a reader that bounds records by it never
    /// refuses a record its own server wrote.
    @Test func theLargestEntryFitsThePayloadLimit() {
        let key = String(repeating: "k", count: limits.keyBytesMax)
        let value = String(repeating: "v", count: limits.valueBytesMax)
        let version = Version(epoch: .max, counter: .max)
        let writeIDs = (0..<PullPage.writeIDsPerEntryMax).map {
            RememberedWrite(writeID: WriteID(client: UInt64($0), sequence: WriteID.sequenceMax), version: version)
        }
        let largest = LogEntry.replicated(PulledEntry(key: key, entry: VersionedEntry(value: value, version: version),
                                                      writeIDs: writeIDs))
        #expect(largest.payload.count <= limits.payloadBytesMax)
        let mostRanges = LogEntry.dropped((0..<limits.ringSize).map { PositionRange($0, $0) })
        #expect(mostRanges.payload.count <= limits.payloadBytesMax)
    }
}
