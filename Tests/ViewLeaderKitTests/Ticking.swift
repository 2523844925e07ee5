@testable import ViewLeaderKit

extension ViewLeaderCore {
    /// Ticks as the shell's timer does, every `tickIntervalMs` after `startMs` and once more at `endMs`; returns
    /// every effect in order. A single tick long after the last event would read as a stall of this process.
    mutating func tick(after startMs: Int64, through endMs: Int64) -> [ViewLeaderEffect] {
        let stepMs = Self.tickIntervalMs(leaseMs: membership.leaseMs)
        var effects: [ViewLeaderEffect] = []
        for nowMs in stride(from: startMs + stepMs, to: endMs, by: Int(stepMs)) { effects += tick(nowMs: nowMs) }
        return effects + tick(nowMs: endMs)
    }
}
