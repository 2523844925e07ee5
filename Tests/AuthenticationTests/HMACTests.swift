import Testing
@testable import Authentication

struct HMACTests {
    /// RFC 4231's test cases 1-4, 6 and 7 (case 5 truncates; checked below).
    @Test(arguments: [
        (String(repeating: "0b", count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (hex(Array("Jefe".utf8)), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (String(repeating: "aa", count: 20), [UInt8](repeating: 0xDD, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ("0102030405060708090a0b0c0d0e0f10111213141516171819", [UInt8](repeating: 0xCD, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (String(repeating: "aa", count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (String(repeating: "aa", count: 131),
         Array(("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
             + "to be hashed before being used by the HMAC algorithm.").utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func rfc4231(key: String, data: [UInt8], code: String) {
        #expect(hex(HMAC(key: bytes(hex: key)).code(data)) == code)
    }

    @Test func rfc4231TruncatedCase5() {
        let code = HMAC(key: [UInt8](repeating: 0x0C, count: 20)).code(Array("Test With Truncation".utf8))
        #expect(hex(Array(code.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
    }

    /// A message fed in pieces through `start`/`finish` gets the one-shot code, and one key is reusable.
    @Test func piecesGiveTheOneShotCode() {
        let hmac = HMAC(key: Array("a key".utf8))
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        for split in stride(from: 0, through: 300, by: 13) {
            var inner = hmac.start()
            inner.update(message[0..<split])
            inner.update(message[split...])
            #expect(hmac.finish(inner) == hmac.code(message))
        }
    }

    @Test func equalComparesWholeCodes() {
        #expect(HMAC.equal([1, 2, 3], [1, 2, 3]))
        #expect(!HMAC.equal([1, 2, 3], [1, 2, 4]))
        #expect(!HMAC.equal([1, 2, 3], [1, 2]))
        #expect(HMAC.equal([UInt8](), [UInt8]()))
    }
}
