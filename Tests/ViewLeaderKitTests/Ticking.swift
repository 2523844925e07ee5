import Wire
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

extension ViewLeaderCore {
    /// Ticks as `tick(after:through:)` while server `id` (at address "id:1") heartbeats every `everyMs`, so the
    /// viewleader hears someone and does not hold expiry for silence; returns every effect in order.
    mutating func tick(after startMs: Int64, through endMs: Int64, whileHeartbeating id: String,
                       everyMs: Int64 = 200) throws -> [ViewLeaderEffect]
    {
        var effects: [ViewLeaderEffect] = []
        var nowMs = startMs
        while nowMs < endMs {
            let stepEndMs = min(nowMs + everyMs, endMs)
            effects += tick(after: nowMs, through: stepEndMs)
            if stepEndMs < endMs {
                let beat = try Request(fields: ["cmd": "heartbeat", "port": 1, "requestor": .string(id), "addr": .string(id)])
                effects += try handle(beat, peerHost: "h", nowMs: stepEndMs).effects
            }
            nowMs = stepEndMs
        }
        return effects
    }
}
