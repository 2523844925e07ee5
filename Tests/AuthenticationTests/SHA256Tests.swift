import Testing
@testable import Authentication

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self),
                                                                radix: 16)! }
}

struct SHA256Tests {
    /// FIPS 180-4's examples (NIST "Cryptographic Algorithm Validation" example values for SHA-256).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
            + "nopqrstu", "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func publishedVectors(message: String, digest: String) {
        #expect(hex(SHA256.hash(Array(message.utf8))) == digest)
        var portable = SHA256(portable: true)
        portable.update(Array(message.utf8))
        #expect(hex(portable.finalize()) == digest, "the portable compression")
    }

    /// Where the CPU has SHA extensions, their compression and the portable one agree on every state and block
    /// tried (a thousand seeded ones, and runs of several blocks at once).
    @Test func theHardwareAndPortableCompressionsAgree() throws {
        try #require(SHA256.hardwareAvailable, "this CPU has no SHA extensions; the portable one alone is used")
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed
        }
        for blocks in [1, 1, 2, 3, 7] {
            for _ in 0..<200 {
                let data = (0..<(64 * blocks)).map { _ in UInt8(truncatingIfNeeded: next() >> 33) }
                let words = (0..<8).map { _ in UInt32(truncatingIfNeeded: next() >> 17) }
                let start = SHA256.State(words: (words[0], words[1], words[2], words[3], words[4], words[5],
                                                 words[6], words[7]))
                var hardware = start
                var portable = start
                data.withUnsafeBytes { bytes in
                    SHA256.compress(&hardware, bytes.baseAddress!, blocks: blocks, hardware: true)
                    SHA256.compress(&portable, bytes.baseAddress!, blocks: blocks, hardware: false)
                }
                #expect(hardware == portable)
            }
        }
    }

    @Test(arguments: [false, true])
    func aMillionAs(portable: Bool) {
        var hasher = SHA256(portable: portable)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000)
        for _ in 0..<1_000 { hasher.update(chunk) }
        #expect(hex(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Fed in two pieces split anywhere (across block and padding boundaries), the digest is the one-shot one.
    @Test func piecesSplitAnywhereGiveTheOneShotDigest() {
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 200] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let whole = SHA256.hash(message)
            for split in 0...length {
                var hasher = SHA256()
                hasher.update(message[0..<split])
                hasher.update(message[split...])
                #expect(hasher.finalize() == whole, "length \(length) split at \(split)")
            }
        }
    }
}
