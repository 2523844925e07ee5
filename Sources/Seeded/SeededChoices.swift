/// Random choices on the seeded generator every seeded part of the project shares (the simulator, the campaign,
/// the bench): never `SystemRandomNumberGenerator`.
extension SplitMix64 {
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
