import Testing
@testable import Placement

/// FIPS 180 / RFC 3174 test vectors, plus block-boundary lengths checked against Python's hashlib.
struct SHA1Tests {
    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test func matchesTheStandardTestVectors() {
        #expect(hex(SHA1.hash("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.hash("".utf8)) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        let rfc3174Test4 = String(repeating: "0123456701234567012345670123456701234567012345670123456701234567",
                                  count: 10)
        #expect(hex(SHA1.hash(rfc3174Test4.utf8)) == "dea356a2cddd90c7a7ecedc5ebb563934f460452")
    }

    @Test func millionAs() {
        var hasher = SHA1()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000)
        for _ in 0..<1_000 { hasher.update(chunk) }
        #expect(hex(hasher.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func lengthsAroundTheBlockBoundaryPadCorrectly() {
        // Lengths 55, 56 and 64 exercise padding that fits, spills into a second block, and fills a block exactly.
        #expect(hex(SHA1.hash([UInt8](repeating: 0x61, count: 55))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a")
        #expect(hex(SHA1.hash([UInt8](repeating: 0x61, count: 56))) == "c2db330f6083854c99d4b5bfb6e8f29f201be699")
        #expect(hex(SHA1.hash([UInt8](repeating: 0x61, count: 64))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d")
    }

    @Test func remainderIsTheDigestReadAsABigEndianIntegerModuloTheModulus() {
        for length in [0, 1, 10, 55, 56, 63, 64, 65, 127, 128, 200] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            for modulus in [1, 7, 10_000, 65_536, 1 << 40] {
                let expected = SHA1.hash(bytes).reduce(0) { ($0 * 256 + Int($1)) % modulus }
                #expect(SHA1.remainder(of: bytes, modulo: modulus) == expected, "length \(length), modulus \(modulus)")
            }
        }
    }

    @Test func streamingAndOneShotDigestsAgreeAtEveryLength() {
        for length in 0...130 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 1) }
            var hasher = SHA1()
            hasher.update(bytes.prefix(length / 3))
            hasher.update(bytes.dropFirst(length / 3))
            #expect(hasher.finalize() == SHA1.hash(bytes), "length \(length)")
            #expect(SHA1.hash(bytes) == SHA1.hash(AnySequence(bytes)), "contiguous and non-contiguous input, length \(length)")
        }
    }
}
