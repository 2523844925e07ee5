import Seeded

/// Names of the keys (and locks) a run draws from: "key-0" ... "key-(N-1)".
enum BenchKeys {
    static let prefix = "key-"

    static func name(_ index: Int) -> String { prefix + String(index) }
}

/// The sequence of (request kind, key) one load-generator thread sends.
///
/// Pure: the same operation, key count, order and seed give the same sequence, so a run's requests follow from
/// `--seed`. A timed run draws keys uniformly at random; a prefill writes each key of a range once, in order.
/// Lock runs get only `lockGet` here: the loop sends the matching `lockRelease` on the same connection.
struct BenchWorkload: Sendable {
    enum KeyOrder: Equatable, Sendable {
        case random
        /// Each key of the range once, from its lower bound up; `next` returns nil when all are used.
        case sequential(Range<Int>)
    }

    let operation: BenchOperation
    let keys: Int
    let order: KeyOrder
    private var generator: SplitMix64
    private var nextSequentialKey: Int

    init(operation: BenchOperation, keys: Int, order: KeyOrder, seed: UInt64) {
        precondition(keys > 0 && keys <= Int(UInt32.max), "key count must fit in 32 bits")
        if case .sequential(let range) = order {
            precondition(range.lowerBound >= 0 && range.upperBound <= keys, "prefill range outside the keys")
        }
        self.operation = operation
        self.keys = keys
        self.order = order
        generator = SplitMix64(seed: seed)
        if case .sequential(let range) = order { nextSequentialKey = range.lowerBound } else { nextSequentialKey = 0 }
    }

    /// The seed of thread `thread`'s workload: distinct per thread, fixed by the run's seed.
    static func threadSeed(runSeed: UInt64, thread: Int) -> UInt64 {
        var mixer = SplitMix64(seed: runSeed ^ (UInt64(thread) &* 0xD1B5_4A32_D192_ED03))
        return mixer.next()
    }

    /// A key index in 0..<keys, uniform (multiply-shift on 32 random bits; bias below 2^-32 per key).
    mutating func randomKey() -> Int {
        Int((UInt64(keys) &* (generator.next() >> 32)) >> 32)
    }

    /// The next request, or nil when a sequential run has used every key of its range.
    mutating func next() -> (kind: BenchRequestKind, key: Int)? {
        let key: Int
        switch order {
        case .sequential(let range):
            guard nextSequentialKey < range.upperBound else { return nil }
            key = nextSequentialKey
            nextSequentialKey += 1
        case .random:
            key = randomKey()
        }
        return (kind(), key)
    }

    private mutating func kind() -> BenchRequestKind {
        switch operation {
        case .set: return .set
        case .get: return .get
        case .setr: return .setr
        case .getr: return .getr
        case .lock: return .lockGet
        case .mixed(let readPercent): return generator.next() % 100 < UInt64(readPercent) ? .getr : .setr
        }
    }

    /// A value of `bytes` lowercase letters drawn from `seed`: no JSON escaping needed, not trivially compressible.
    static func value(bytes: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed ^ 0x5EED_0F7A_1E00)
        return (0..<bytes).map { _ in UInt8(ascii: "a") + UInt8(generator.next() % 26) }
    }
}
