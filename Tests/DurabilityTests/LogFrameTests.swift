import Testing
@testable import Durability

struct LogFrameTests {
    let records: [[UInt8]] = [Array("first".utf8), [], Array(repeating: 7, count: 300), Array("last".utf8)]

    var file: [UInt8] { records.reduce(into: []) { LogFrame.append($1, to: &$0) } }

    /// Where each record starts in `file`, and where the file ends.
    var boundaries: [Int] { records.reduce(into: [0]) { $0.append($0.last! + LogFrame.headerBytes + $1.count) } }

    @Test func recordsReadBackInOrder() {
        let scanned = LogScan.payloads(of: file)
        #expect(scanned.payloads == records)
        #expect(scanned.end == .clean)
    }

    /// A crash may stop an append after any byte: every prefix reads back the whole records before the cut and calls
    /// the rest torn, never corrupt.
    @Test func everyPrefixIsWholeRecordsThenATornEnd() {
        let file = file
        for length in 0...file.count {
            let scanned = LogScan.payloads(of: Array(file[..<length]))
            let whole = boundaries.lastIndex { $0 <= length }!
            #expect(scanned.payloads == Array(records[..<whole]), "prefix of \(length) bytes")
            if boundaries.contains(length) {
                #expect(scanned.end == .clean, "prefix of \(length) bytes")
            } else {
                guard case .torn(let offset, _) = scanned.end else {
                    Issue.record("prefix of \(length) bytes ended \(scanned.end)")
                    continue
                }
                #expect(offset == boundaries[whole])
            }
        }
    }

    /// A file system may extend a file before the data lands: zeros after the last record are a torn end.
    @Test func zerosAfterTheLastRecordAreATornEnd() {
        let scanned = LogScan.payloads(of: file + [UInt8](repeating: 0, count: 4096))
        #expect(scanned.payloads == records)
        #expect(scanned.end == .torn(offset: boundaries.last!, damage: .zeroFilled(bytes: 4096)))
    }

    /// One flipped bit anywhere before the last record is damage that stops reading at that record: nothing after
    /// it is read, and it is not taken for a torn end.
    @Test func aFlippedBitBeforeTheLastRecordIsCorruption() {
        let file = file
        let lastStart = boundaries[records.count - 1]
        for index in 0..<lastStart {
            var damaged = file
            damaged[index] ^= 0x10
            let scanned = LogScan.payloads(of: damaged)
            let hit = boundaries.lastIndex { $0 <= index }!
            #expect(scanned.payloads == Array(records[..<hit]), "bit flipped at \(index)")
            guard case .corrupt(let offset, _) = scanned.end else {
                Issue.record("bit flipped at \(index) ended \(scanned.end)")
                continue
            }
            #expect(offset == boundaries[hit])
        }
    }

    /// The last record's payload may be half written when the power goes: a payload checksum failure there is torn.
    @Test func aBadPayloadInTheLastRecordIsATornEnd() {
        var damaged = file
        damaged[damaged.count - 1] ^= 0xFF
        let scanned = LogScan.payloads(of: damaged)
        #expect(scanned.payloads == Array(records.dropLast()))
        #expect(scanned.end == .torn(offset: boundaries[records.count - 1], damage: .payloadChecksum))
    }

    @Test func aLengthOverTheLimitIsRefusedBeforeReading() {
        let scanned = LogScan.payloads(of: LogFrame.framed(Array(repeating: 1, count: 100)), payloadBytesMax: 99)
        #expect(scanned.payloads.isEmpty)
        #expect(scanned.end == .corrupt(offset: 0, damage: .lengthOverLimit(lengthBytes: 100, limitBytes: 99)))
    }
}
