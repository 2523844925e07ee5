import ClientKit

/// The simulator's random choices, on the seeded generator every seeded part of the project shares: never
/// `SystemRandomNumberGenerator`.
extension SplitMix64 {
    /// True with probability `probability` (0...1).
    mutating func chance(_ probability: Double) -> Bool {
        precondition((0...1).contains(probability), "a probability lies in 0...1")
        return Double.random(in: 0..<1, using: &self) < probability
    }

    /// A whole number of milliseconds in `range`.
    mutating func ms(in range: ClosedRange<Int64>) -> Int64 {
        Int64.random(in: range, using: &self)
    }
}
