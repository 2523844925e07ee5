/// HMAC-SHA-256 (RFC 2104), keyed once: the padded key's two blocks are compressed when the key is made, so a
/// code costs the message's blocks plus two more, whatever the key's length.
public struct HMAC: Sendable {
    /// Bytes of an authentication code.
    public static let codeBytes = SHA256.digestBytes

    private let innerState: SHA256.State
    private let outerState: SHA256.State

    public init(key: [UInt8]) {
        var block = key.count > SHA256.blockBytes ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: SHA256.blockBytes - block.count)
        innerState = SHA256.state(afterBlock: block.map { $0 ^ 0x36 })
        outerState = SHA256.state(afterBlock: block.map { $0 ^ 0x5C })
    }

    /// The code of `message`.
    public func code(_ message: some Sequence<UInt8>) -> [UInt8] {
        var inner = start()
        inner.update(message)
        return finish(inner)
    }

    /// A hasher to feed the message to in pieces, then hand to `finish`.
    public func start() -> SHA256 {
        SHA256(state: innerState, totalBytes: UInt64(SHA256.blockBytes))
    }

    /// The code of everything `inner` (from `start`) was fed.
    public func finish(_ inner: consuming SHA256) -> [UInt8] {
        let innerState = inner.finalState()
        var outer = SHA256(state: outerState, totalBytes: UInt64(SHA256.blockBytes))
        withUnsafeTemporaryAllocation(byteCount: SHA256.digestBytes, alignment: 4) { digest in
            SHA256.write(innerState, to: digest)
            outer.update(buffer: UnsafeRawBufferPointer(digest))
        }
        return outer.finalize()
    }

    /// Whether two codes are equal, in time that depends only on their lengths, so a forger learns nothing from
    /// how long a refusal took.
    public static func equal(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}
