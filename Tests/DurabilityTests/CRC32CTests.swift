import Testing
@testable import Durability

struct CRC32CTests {
    /// RFC 3720, appendix B.4, and the "check" value of the CRC catalogue.
    @Test func matchesThePublishedVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        let iscsiReadCommand: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(iscsiReadCommand) == 0xD996_3A56)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// The eight-bytes-at-a-time path agrees with the definition, a bit at a time, at every length and alignment.
    @Test func agreesWithTheBitwiseDefinitionAtEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<80 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32C.checksum(bytes) == Self.bitwise(bytes), "length \(length)")
            let tail = Array(bytes.dropFirst(min(3, length)))
            #expect(CRC32C.checksum(tail) == Self.bitwise(tail), "length \(tail.count), unaligned")
        }
    }

    @Test func summingInPartsEqualsSummingTheWhole() {
        let bytes = Array("a record's header, then its payload, summed in two calls".utf8)
        for split in 0...bytes.count {
            let parts = CRC32C.update(CRC32C.checksum(bytes[..<split]), with: bytes[split...])
            #expect(parts == CRC32C.checksum(bytes))
        }
    }

    private static func bitwise(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
