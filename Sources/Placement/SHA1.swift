/// SHA-1 (FIPS 180-4), used only to place keys and servers on the ring, never for security.
///
/// Written here because the project takes no package dependencies and Foundation on Linux has no SHA-1. Every
/// request hashes its key, so the one-shot path (`hash`, `remainder`) allocates nothing on the heap: blocks are
/// compressed straight from the caller's bytes, and the padding and message schedule live in stack buffers.
public struct SHA1: Sendable {
    /// Bytes per block the compression function consumes.
    static let blockBytes = 64
    /// 32-bit words in the expanded message schedule of one block.
    static let scheduleWords = 80

    /// The five 32-bit chaining words.
    typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32)
    static let initialState: State = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)

    private var state: State = SHA1.initialState
    /// Bytes received but not yet compressed; fewer than `blockBytes`.
    private var pending: [UInt8] = []
    private var totalBytes: UInt64 = 0

    public init() {
        pending.reserveCapacity(Self.blockBytes)
    }

    /// The 20-byte digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        digestBytes(oneShotState(bytes))
    }

    /// The digest of `bytes` read as a 160-bit big-endian integer, modulo `modulus`; allocates nothing.
    public static func remainder(of bytes: some Sequence<UInt8>, modulo modulus: Int) -> Int {
        precondition(modulus > 0 && modulus <= 1 << 40, "the modulus must be positive and small enough not to overflow")
        let state = oneShotState(bytes)
        var remainder = 0
        func fold(_ word: UInt32) {
            for shift in stride(from: 24, through: 0, by: -8) {
                remainder = (remainder * 256 + Int(UInt8(truncatingIfNeeded: word >> UInt32(shift)))) % modulus
            }
        }
        fold(state.0)
        fold(state.1)
        fold(state.2)
        fold(state.3)
        fold(state.4)
        return remainder
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            pending.append(byte)
            totalBytes += 1
            if pending.count == Self.blockBytes {
                pending.withUnsafeBufferPointer { Self.compress(&state, $0.baseAddress!) }
                pending.removeAll(keepingCapacity: true)
            }
        }
    }

    public consuming func finalize() -> [UInt8] {
        pending.withUnsafeBufferPointer { Self.compressTail($0, totalBytes: totalBytes, into: &state) }
        return Self.digestBytes(state)
    }

    // MARK: One-shot and shared steps

    private static func oneShotState(_ bytes: some Sequence<UInt8>) -> State {
        if let state = bytes.withContiguousStorageIfAvailable(oneShotState(buffer:)) { return state }
        return Array(bytes).withUnsafeBufferPointer(oneShotState(buffer:))
    }

    private static func oneShotState(buffer: UnsafeBufferPointer<UInt8>) -> State {
        var state = initialState
        let wholeBlocks = buffer.count / blockBytes
        for block in 0..<wholeBlocks { compress(&state, buffer.baseAddress! + block * blockBytes) }
        let tail = UnsafeBufferPointer(rebasing: buffer[(wholeBlocks * blockBytes)...])
        compressTail(tail, totalBytes: UInt64(buffer.count), into: &state)
        return state
    }

    /// Pads the last partial block (fewer than 64 bytes) with the message length and compresses it.
    private static func compressTail(_ tail: UnsafeBufferPointer<UInt8>, totalBytes: UInt64, into state: inout State) {
        precondition(tail.count < blockBytes, "the tail is a partial block")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * blockBytes) { padded in
            _ = padded.initialize(repeating: 0)
            for index in 0..<tail.count { padded[index] = tail[index] }
            padded[tail.count] = 0x80
            let paddedBytes = tail.count < blockBytes - 8 ? blockBytes : 2 * blockBytes
            let bitLength = totalBytes &* 8
            for index in 0..<8 {
                padded[paddedBytes - 1 - index] = UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * index))
            }
            for start in stride(from: 0, to: paddedBytes, by: blockBytes) {
                compress(&state, UnsafePointer(padded.baseAddress! + start))
            }
        }
    }

    private static func digestBytes(_ state: State) -> [UInt8] {
        var digest: [UInt8] = []
        digest.reserveCapacity(20)
        for word in [state.0, state.1, state.2, state.3, state.4] {
            for shift in stride(from: 24, through: 0, by: -8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    /// Compresses the 64 bytes at `block` into `state`.
    private static func compress(_ state: inout State, _ block: UnsafePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: scheduleWords) { words in
            for index in 0..<16 {
                words[index] = UInt32(block[4 * index]) << 24 | UInt32(block[4 * index + 1]) << 16
                    | UInt32(block[4 * index + 2]) << 8 | UInt32(block[4 * index + 3])
            }
            for index in 16..<scheduleWords {
                words[index] = rotateLeft(words[index - 3] ^ words[index - 8] ^ words[index - 14] ^ words[index - 16], 1)
            }
            var (a, b, c, d, e) = state
            for index in 0..<scheduleWords {
                let (f, k): (UInt32, UInt32)
                switch index {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = rotateLeft(a, 5) &+ f &+ e &+ k &+ words[index]
                (e, d, c, b, a) = (d, c, rotateLeft(b, 30), a, temp)
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
        }
    }

    private static func rotateLeft(_ value: UInt32, _ count: UInt32) -> UInt32 {
        value << count | value >> (32 - count)
    }
}
