import CSHA256

/// SHA-256 (FIPS 180-4), the hash under every key check and frame MAC.
///
/// Blocks are compressed by the CPU's SHA extensions where it has them (`CSHA256`, about 3x faster here: every
/// sealed frame is hashed), and by the portable Swift below otherwise; the tests run both on the same vectors.
///
/// Written here because the project takes no package dependencies and Foundation on Linux has none. Every
/// authenticated frame is hashed twice (HMAC), so the hot path allocates nothing on the heap: blocks are
/// compressed straight from the caller's bytes, and the padding and message schedule live in stack buffers.
public struct SHA256: Sendable {
    /// Bytes per block the compression function consumes.
    public static let blockBytes = 64
    /// Bytes of a digest.
    public static let digestBytes = 32
    /// 32-bit words in the expanded message schedule of one block.
    static let scheduleWords = 64

    /// The eight 32-bit chaining words.
    struct State: Sendable, Equatable {
        var words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

        static func == (lhs: State, rhs: State) -> Bool { lhs.array == rhs.array }

        var array: [UInt32] {
            [words.0, words.1, words.2, words.3, words.4, words.5, words.6, words.7]
        }
    }

    static let initialState = State(words: (0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A,
                                            0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19))

    /// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
    static let roundConstants: [UInt32] = [
        0x428A_2F98, 0x7137_4491, 0xB5C0_FBCF, 0xE9B5_DBA5, 0x3956_C25B, 0x59F1_11F1, 0x923F_82A4, 0xAB1C_5ED5,
        0xD807_AA98, 0x1283_5B01, 0x2431_85BE, 0x550C_7DC3, 0x72BE_5D74, 0x80DE_B1FE, 0x9BDC_06A7, 0xC19B_F174,
        0xE49B_69C1, 0xEFBE_4786, 0x0FC1_9DC6, 0x240C_A1CC, 0x2DE9_2C6F, 0x4A74_84AA, 0x5CB0_A9DC, 0x76F9_88DA,
        0x983E_5152, 0xA831_C66D, 0xB003_27C8, 0xBF59_7FC7, 0xC6E0_0BF3, 0xD5A7_9147, 0x06CA_6351, 0x1429_2967,
        0x27B7_0A85, 0x2E1B_2138, 0x4D2C_6DFC, 0x5338_0D13, 0x650A_7354, 0x766A_0ABB, 0x81C2_C92E, 0x9272_2C85,
        0xA2BF_E8A1, 0xA81A_664B, 0xC24B_8B70, 0xC76C_51A3, 0xD192_E819, 0xD699_0624, 0xF40E_3585, 0x106A_A070,
        0x19A4_C116, 0x1E37_6C08, 0x2748_774C, 0x34B0_BCB5, 0x391C_0CB3, 0x4ED8_AA4A, 0x5B9C_CA4F, 0x682E_6FF3,
        0x748F_82EE, 0x78A5_636F, 0x84C8_7814, 0x8CC7_0208, 0x90BE_FFFA, 0xA450_6CEB, 0xBEF9_A3F7, 0xC671_78F2,
    ]

    /// 64 bytes held inline, so a hasher allocates nothing.
    struct Block: Sendable {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// Whether this CPU has the SHA extensions.
    static let hardwareAvailable = kv_sha256_hardware_available() != 0

    /// Whether this hasher compresses with the SHA extensions.
    private let hardware: Bool
    private var state = SHA256.initialState
    /// Bytes received but not yet compressed: the first `pendingCount` bytes of `pending`, fewer than a block.
    private var pending = Block()
    private var pendingCount = 0
    private var totalBytes: UInt64 = 0

    public init() {
        hardware = Self.hardwareAvailable
    }

    /// A hasher that uses the portable compression even where the CPU has SHA extensions: for tests.
    init(portable: Bool) {
        hardware = !portable && Self.hardwareAvailable
    }

    /// Continues from `state` after `totalBytes` bytes (whole blocks) were compressed: HMAC's saved pads.
    init(state: State, totalBytes: UInt64) {
        precondition(totalBytes % UInt64(Self.blockBytes) == 0, "a saved state ends on a block boundary")
        hardware = Self.hardwareAvailable
        self.state = state
        self.totalBytes = totalBytes
    }

    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ update(buffer: UnsafeRawBufferPointer($0)) }) != nil { return }
        Array(bytes).withUnsafeBytes { update(buffer: $0) }
    }

    /// Hashes `buffer`, compressing whole blocks in place once `pending` is empty.
    public mutating func update(buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        var offset = 0
        totalBytes += UInt64(buffer.count)
        if pendingCount > 0 {
            let taken = min(Self.blockBytes - pendingCount, buffer.count)
            keepPending(base, count: taken)
            offset = taken
            guard pendingCount == Self.blockBytes else { return }
            var block = pending
            withUnsafeBytes(of: &block.words) { Self.compress(&state, $0.baseAddress!, blocks: 1, hardware: hardware) }
            pendingCount = 0
        }
        let wholeBlocks = (buffer.count - offset) / Self.blockBytes
        if wholeBlocks > 0 {
            Self.compress(&state, base + offset, blocks: wholeBlocks, hardware: hardware)
            offset += wholeBlocks * Self.blockBytes
        }
        if offset < buffer.count { keepPending(base + offset, count: buffer.count - offset) }
    }

    /// Copies `count` bytes at `source` after the pending ones.
    private mutating func keepPending(_ source: UnsafeRawPointer, count: Int) {
        let start = pendingCount
        withUnsafeMutableBytes(of: &pending.words) { block in
            (block.baseAddress! + start).copyMemory(from: source, byteCount: count)
        }
        pendingCount += count
    }

    public consuming func finalize() -> [UInt8] {
        Self.digest(finalState())
    }

    /// The state after padding: the digest's words.
    consuming func finalState() -> State {
        var state = state
        var block = pending
        let count = pendingCount
        withUnsafeBytes(of: &block.words) { bytes in
            Self.compressTail(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), totalBytes: totalBytes,
                              into: &state, hardware: hardware)
        }
        return state
    }

    /// The state after compressing exactly one block: HMAC's pads.
    static func state(afterBlock block: [UInt8]) -> State {
        precondition(block.count == blockBytes, "one whole block")
        var state = initialState
        block.withUnsafeBytes { compress(&state, $0.baseAddress!, blocks: 1, hardware: hardwareAvailable) }
        return state
    }

    /// Pads the last partial block (fewer than 64 bytes) with the message length and compresses it.
    private static func compressTail(_ tail: UnsafeRawBufferPointer, totalBytes: UInt64, into state: inout State,
                                     hardware: Bool) {
        precondition(tail.count < blockBytes, "the tail is a partial block")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * blockBytes) { padded in
            padded.initialize(repeating: 0)
            for index in 0..<tail.count { padded[index] = tail[index] }
            padded[tail.count] = 0x80
            let paddedBytes = tail.count < blockBytes - 8 ? blockBytes : 2 * blockBytes
            let bitLength = totalBytes &* 8
            for index in 0..<8 {
                padded[paddedBytes - 1 - index] = UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * index))
            }
            compress(&state, UnsafeRawPointer(padded.baseAddress!), blocks: paddedBytes / blockBytes,
                     hardware: hardware)
        }
    }

    static func digest(_ state: State) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: digestBytes) { buffer, count in
            write(state, to: UnsafeMutableRawBufferPointer(buffer))
            count = digestBytes
        }
    }

    /// Writes the digest of `state` (32 bytes, big-endian words) to `buffer`.
    static func write(_ state: State, to buffer: UnsafeMutableRawBufferPointer) {
        let words = state.words
        for (index, word) in [words.0, words.1, words.2, words.3, words.4, words.5, words.6, words.7].enumerated() {
            buffer.storeBytes(of: word.bigEndian, toByteOffset: 4 * index, as: UInt32.self)
        }
    }

    /// Compresses `blocks` blocks of 64 bytes at `data` into `state`.
    static func compress(_ state: inout State, _ data: UnsafeRawPointer, blocks: Int, hardware: Bool) {
        guard hardware else {
            for index in 0..<blocks { compressPortably(&state, data + index * blockBytes) }
            return
        }
        withUnsafeMutableBytes(of: &state.words) { words in
            kv_sha256_blocks(words.baseAddress!.assumingMemoryBound(to: UInt32.self),
                             data.assumingMemoryBound(to: UInt8.self), blocks)
        }
    }

    /// Compresses the 64 bytes at `block` into `state`, in portable Swift.
    private static func compressPortably(_ state: inout State, _ block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: scheduleWords) { words in
            for index in 0..<16 {
                words[index] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
            }
            for index in 16..<scheduleWords {
                let w15 = words[index - 15]
                let w2 = words[index - 2]
                let sigma0 = rotateRight(w15, 7) ^ rotateRight(w15, 18) ^ (w15 >> 3)
                let sigma1 = rotateRight(w2, 17) ^ rotateRight(w2, 19) ^ (w2 >> 10)
                words[index] = words[index - 16] &+ sigma0 &+ words[index - 7] &+ sigma1
            }
            var (a, b, c, d, e, f, g, h) = state.words
            roundConstants.withUnsafeBufferPointer { constants in
                for index in 0..<scheduleWords {
                    let sum1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
                    let choice = (e & f) ^ (~e & g)
                    let temp1 = h &+ sum1 &+ choice &+ constants[index] &+ words[index]
                    let sum0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let temp2 = sum0 &+ majority
                    (h, g, f, e, d, c, b, a) = (g, f, e, d &+ temp1, c, b, a, temp1 &+ temp2)
                }
            }
            let old = state.words
            state.words = (old.0 &+ a, old.1 &+ b, old.2 &+ c, old.3 &+ d, old.4 &+ e, old.5 &+ f, old.6 &+ g,
                           old.7 &+ h)
        }
    }

    private static func rotateRight(_ value: UInt32, _ count: UInt32) -> UInt32 {
        value >> count | value << (32 - count)
    }
}
