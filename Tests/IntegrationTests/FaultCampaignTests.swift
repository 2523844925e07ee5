import ClientKit
import Foundation
import Glibc
import Linearizability
import Testing
import Wire

/// A bounded fault campaign on real processes: clients on a few keys while a nemesis SIGKILLs and replaces
/// servers, pauses them past their lease, and restarts the viewleader; the recorded history must be
/// linearizable, and every key must still be readable at the end.
@Suite(.serialized)
struct FaultCampaignTests {
    static let faultRounds = 6

    @Test func historyUnderKillsPausesAndViewLeaderRestartsIsLinearizable() throws {
        let seed = UInt64(MonotonicClock.nowNs() % 1_000_000)
        print("fault campaign seed \(seed)")
        var random = SplitMix64(seed: seed)
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        var live = try (0..<5).map { _ in try cluster.startServer() }
        _ = try cluster.waitUntilSynced(servers: 5)
        let recorder = HistoryRecorder(cluster: cluster, keys: ["a", "b", "c", "d"])
        recorder.start(clients: 3, seed: seed)
        var faults: [String: Int] = [:]
        for _ in 0..<Self.faultRounds {
            Thread.sleep(forTimeInterval: 0.3)
            switch random.next() % 3 {
            case 0:
                let victim = live.remove(at: Int(random.next() % UInt64(live.count)))
                victim.process.kill(SIGKILL)
                _ = try cluster.waitUntilSynced(servers: live.count)
                live.append(try cluster.startServer())
                faults["kill and replace", default: 0] += 1
            case 1:
                let victim = live.remove(at: Int(random.next() % UInt64(live.count)))
                victim.process.signal(SIGSTOP)
                _ = try cluster.waitUntilSynced(servers: live.count)
                victim.process.signal(SIGCONT)
                // It comes back under a fresh ID, as a new member.
                let freshID = try victim.process.waitForLine(prefix: "server id: ", after: 1)
                live.append((victim.process, victim.port, freshID))
                faults["pause past the lease", default: 0] += 1
            default:
                try cluster.restartViewLeader()
                faults["viewleader restart", default: 0] += 1
            }
            _ = try cluster.waitUntilSynced(servers: live.count)
        }
        Thread.sleep(forTimeInterval: 0.3)
        let history = recorder.stop()
        let byOutcome = Dictionary(grouping: history, by: { "\($0.outcome)" }).mapValues(\.count)
        print("fault campaign: operations \(byOutcome), faults \(faults)")
        #expect(history.filter { $0.outcome == .ok }.count > 50, "clients made progress: \(byOutcome)")
        let verdict = LinearizabilityChecker.check(history)
        #expect(verdict == .linearizable, "seed \(seed): \(verdict)")
        let client = cluster.replicatedClient()
        for key in ["a", "b", "c", "d"] { _ = try client.getr(key) }
    }
}
