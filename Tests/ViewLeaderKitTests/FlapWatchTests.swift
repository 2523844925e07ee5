import Testing
import Wire
@testable import ViewLeaderKit

struct FlapWatchTests {
    @Test func thirdJoinWithinAMinuteIsReportedOncePerWindow() {
        var watch = FlapWatch()
        #expect(watch.joined(address: "a:1", nowMs: 0) == nil)
        #expect(watch.joined(address: "a:1", nowMs: 10_000) == nil)
        #expect(watch.joined(address: "b:1", nowMs: 15_000) == nil, "another address counts on its own")
        #expect(watch.joined(address: "a:1", nowMs: 20_000) == 3)
        #expect(watch.joined(address: "a:1", nowMs: 30_000) == nil, "reported once per window")
        #expect(watch.joined(address: "a:1", nowMs: 70_000) == nil)
        #expect(watch.joined(address: "a:1", nowMs: 80_000) == 3, "still flapping a window after the report")
        #expect(watch.joined(address: "c:1", nowMs: 0) == nil)
        #expect(watch.joined(address: "c:1", nowMs: 61_000) == nil, "joins a minute apart are not flapping")
        #expect(watch.joined(address: "c:1", nowMs: 122_000) == nil)
    }

    @Test func addressesRememberedAreBounded() {
        var watch = FlapWatch()
        for index in 0...FlapWatch.addressesMax { _ = watch.joined(address: "h\(index):1", nowMs: Int64(index)) }
        // The first address was forgotten: its next two joins are the only ones known.
        #expect(watch.joined(address: "h0:1", nowMs: 2_000) == nil)
        #expect(watch.joined(address: "h0:1", nowMs: 2_001) == nil, "its first join was forgotten")
        #expect(watch.joined(address: "h0:1", nowMs: 2_002) == 3)
    }

    /// Through the core: one address whose server expires and joins again under a new ID, three times in a
    /// minute, is reported with the lease and the likely causes.
    @Test func theViewLeaderReportsAServerThatKeepsJoining() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 60_000)
        var logs: [String] = []
        var nowMs: Int64 = 0
        _ = try core.handle(Request(fields: ["cmd": "heartbeat", "port": 1, "requestor": "z", "addr": "z"]),
                            peerHost: "h", nowMs: 0)
        for life in 0..<3 {
            let beat = try Request(fields: ["cmd": "heartbeat", "port": 38_000, "requestor": .string("s\(life)")])
            let (_, effects) = try core.handle(beat, peerHost: "127.0.0.1", nowMs: nowMs)
            logs += effects.compactMap { if case .log(let line) = $0 { line } else { nil } }
            let ticked = try core.tick(after: nowMs, through: nowMs + 3_000, whileHeartbeating: "z")
            logs += ticked.compactMap { if case .log(let line) = $0 { line } else { nil } }
            nowMs += 3_000
        }
        let reports = logs.filter { $0.contains("(flapping)") }
        #expect(reports == [FlapWatch.report(address: "127.0.0.1:38000", count: 3, leaseMs: 1_000)], "\(logs)")
        #expect(reports.first?.hasPrefix("server at 127.0.0.1:38000 joined 3 times in 60 s (flapping)") == true)
    }
}
