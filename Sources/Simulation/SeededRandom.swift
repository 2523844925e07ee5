/// A small, fast, seeded generator (SplitMix64): the same seed gives the same run, on every machine.
///
/// Every random choice in a simulation comes from one of these, never from `SystemRandomNumberGenerator`.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// True with probability `probability` (0...1).
    public mutating func chance(_ probability: Double) -> Bool {
        precondition((0...1).contains(probability), "a probability lies in 0...1")
        return Double.random(in: 0..<1, using: &self) < probability
    }

    /// A whole number of milliseconds in `range`.
    public mutating func ms(in range: ClosedRange<Int64>) -> Int64 {
        Int64.random(in: range, using: &self)
    }
}
