/// The ring's size is part of the protocol: every member and client must place keys on the same ring.
public enum RingSize {
    /// The classic design's ring, positions 0..<10000: what a view that does not announce `ring_size` uses.
    public static let classic = 10_000
    /// The ring sizes a view may announce.
    public static let allowed = 1...(1 << 24)
}
