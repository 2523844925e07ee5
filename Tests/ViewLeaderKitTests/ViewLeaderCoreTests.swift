import Testing
import Wire
@testable import ViewLeaderKit

struct ViewLeaderCoreTests {
    func request(_ fields: JSONObject) throws -> Request { try Request(fields: fields) }

    @Test func heartbeatRepliesWithEpochAndLease() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        let (reply, effects) = try core.handle(request(["cmd": "heartbeat", "port": 38000, "requestor": 12345]),
                                               peerHost: "127.0.0.1", nowMs: 0)
        #expect(reply == .object(["status": "ok", "epoch": 1, "lease_ms": 1_000, "all_synced_epoch": -1]))
        #expect(effects == [.persist(ViewLeaderState(epoch: 1, members: [.init(id: "12345", address: "127.0.0.1:38000")],
                                                     expiredIDs: [])),
                            .log("epoch 1: server 12345 joined at 127.0.0.1:38000"),
                            .announce(epoch: 1, addresses: ["127.0.0.1:38000"])])
    }

    @Test func heartbeatAddrOverridesThePeerAddress() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        _ = try core.handle(request(["cmd": "heartbeat", "port": 1, "requestor": "a", "addr": "10.0.0.5"]),
                            peerHost: "127.0.0.1", nowMs: 0)
        let (reply, _) = try core.handle(request(["cmd": "query_servers"]), peerHost: "x", nowMs: 0)
        #expect(reply.objectValue?["result"] == .array(["10.0.0.5:1"]))
    }

    @Test func expiryByTickReleasesTheExpiredServersLocks() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 60_000)
        _ = try core.handle(request(["cmd": "heartbeat", "port": 38000, "requestor": "s1"]),
                            peerHost: "127.0.0.1", nowMs: 0)
        _ = try core.handle(request(["cmd": "lock_get", "lockid": "L", "requestor": "s1"]), peerHost: "x", nowMs: 0)
        _ = try core.handle(request(["cmd": "lock_get", "lockid": "M", "requestor": "127.0.0.1:38000"]),
                            peerHost: "x", nowMs: 0)
        _ = try core.handle(request(["cmd": "lock_get", "lockid": "L", "requestor": "c"]), peerHost: "x", nowMs: 0)
        _ = try heartbeat(&core, "z", at: 0)
        let effects = try core.tick(after: 0, through: 1_001, whileHeartbeating: "z")
        #expect(effects.dropFirst().first == .log("epoch 3: server s1 at 127.0.0.1:38000 expired"))
        #expect(core.locks.locks["L"]?.holder == "c")
        #expect(core.locks.locks["M"] == nil)
        let (reply, _) = try core.handle(request(["cmd": "heartbeat", "port": 38000, "requestor": "s1"]),
                                         peerHost: "127.0.0.1", nowMs: 1_002)
        #expect(reply.objectValue?["status"] == "deny")
    }

    @Test func aViewLeaderStoppedPastTheLeaseExtendsLeasesInsteadOfExpiringEveryone() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 60_000)
        for id in ["a", "b"] {
            _ = try core.handle(request(["cmd": "heartbeat", "port": 1, "requestor": .string(id), "addr": .string(id)]),
                                peerHost: "h", nowMs: 0)
        }
        #expect(core.tick(after: 0, through: 500).isEmpty)
        // Stopped from 500 ms to 3000 ms: the heartbeats it could not hear in that time do not count against anyone.
        let (reply, effects) = try core.handle(request(["cmd": "heartbeat", "port": 1, "requestor": "a", "addr": "a"]),
                                               peerHost: "h", nowMs: 3_000)
        #expect(reply.objectValue?["status"] == "ok")
        #expect(effects.count == 1 && effects.first.map { "\($0)".contains("stopped or starved") } == true)
        #expect(core.membership.epoch == 2 && core.membership.members.count == 2)
        // b stays silent while a heartbeats: b expires a lease after its last heartbeat, counting only time the
        // viewleader ran.
        var expiry: [ViewLeaderEffect] = []
        for nowMs in stride(from: Int64(3_100), through: 3_600, by: 100) {
            expiry += try core.handle(request(["cmd": "heartbeat", "port": 1, "requestor": "a", "addr": "a"]),
                                      peerHost: "h", nowMs: nowMs).effects
            if nowMs == 3_500 { #expect(expiry.isEmpty) }
            expiry += core.tick(after: nowMs, through: nowMs + 50)
        }
        #expect(expiry.contains(.log("epoch 3: server b at b:1 expired")))
        #expect(core.membership.members.keys.sorted() == ["a"])
    }

    private func heartbeat(_ core: inout ViewLeaderCore, _ id: String, at nowMs: Int64) throws
        -> (status: String?, effects: [ViewLeaderEffect])
    {
        let (reply, effects) = try core.handle(
            request(["cmd": "heartbeat", "port": 1, "requestor": .string(id), "addr": .string(id)]),
            peerHost: "h", nowMs: nowMs)
        return (reply.objectValue?["status"]?.stringValue, effects)
    }

    /// Found by the real-process campaign: a viewleader cut off from every server expired them one by one and
    /// emptied the view, losing every replica of every key.
    @Test func aViewLeaderCutOffFromEveryServerExpiresNoOneAndRestartsLeasesWhenHeardAgain() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 60_000)
        for id in ["a", "b", "c"] { _ = try heartbeat(&core, id, at: 0) }
        // Cut off from 100 ms to 5,000 ms, ticking all along.
        for id in ["a", "b", "c"] { _ = try heartbeat(&core, id, at: 100) }
        let silence = core.tick(after: 100, through: 5_000)
        #expect(silence.count == 1 && silence.first.map { "\($0)".contains("seems cut off from all 3 members") } == true)
        #expect(core.membership.members.count == 3 && core.membership.epoch == 3)
        // Heard again: a's heartbeat restarts every lease, so b and c get a full lease to get through.
        let (status, effects) = try heartbeat(&core, "a", at: 5_000)
        #expect(status == "ok")
        #expect(effects.count == 1 && effects.first.map { "\($0)".contains("heard a server again") } == true)
        #expect(core.tick(after: 5_000, through: 5_400).isEmpty)
        for id in ["b", "c"] { #expect(try heartbeat(&core, id, at: 5_400).status == "ok") }
        #expect(core.membership.members.count == 3 && core.membership.epoch == 3)
    }

    @Test func serversThatFailWhileAnotherHeartbeatsStillExpire() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 60_000)
        for id in ["a", "b", "c"] { _ = try heartbeat(&core, id, at: 0) }
        // b and c fail at once; a goes on heartbeating, so the viewleader is not the one cut off.
        var effects: [ViewLeaderEffect] = []
        for nowMs in stride(from: Int64(200), through: 1_400, by: 200) {
            effects += try heartbeat(&core, "a", at: nowMs).effects
            effects += core.tick(after: nowMs, through: nowMs + 100)
        }
        #expect(effects.contains(.log("epoch 4: server b at b:1 expired")))
        #expect(effects.contains(.log("epoch 5: server c at c:1 expired")))
        #expect(core.membership.members.keys.sorted() == ["a"])
    }

    /// Simulation seed 895: the sole survivor, holding the last copy of every key, was expired while the
    /// viewleader was cut off.
    @Test func aSoleSilentMemberStaysUntilAnotherServerIsHeardAndThenExpires() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 60_000)
        _ = try heartbeat(&core, "a", at: 0)
        _ = core.tick(after: 0, through: 5_000)
        #expect(core.membership.members.keys.sorted() == ["a"])
        // b joins and heartbeats on; a stays silent, so it expires a lease after the silence ended.
        var effects: [ViewLeaderEffect] = []
        for nowMs in stride(from: Int64(5_000), through: 6_200, by: 200) {
            effects += try heartbeat(&core, "b", at: nowMs).effects
            if nowMs == 5_800 { #expect(core.membership.members.count == 2) }
            effects += core.tick(after: nowMs, through: nowMs + 100)
        }
        #expect(effects.contains(.log("epoch 3: server a at a:1 expired")))
        #expect(core.membership.members.keys.sorted() == ["b"])
    }

    @Test func queryServersKeepsTheClassicFieldsAndAddsAStructuredList() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        _ = try core.handle(request(["cmd": "heartbeat", "port": 2, "requestor": "b"]), peerHost: "h", nowMs: 0)
        _ = try core.handle(request(["cmd": "heartbeat", "port": 1, "requestor": "a"]), peerHost: "h", nowMs: 0)
        let (reply, _) = try core.handle(request(["cmd": "query_servers"]), peerHost: "h", nowMs: 5)
        let fields = try #require(reply.objectValue)
        #expect(fields["result"] == .array(["h:1", "h:2"]))
        #expect(fields["epoch"] == 2)
        #expect(fields["servers"]?.arrayValue?.first?.objectValue?["id"] == "a")
    }

    @Test func lockCommandsAnswerWithTheClassicStatuses() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        let get = { (requestor: String) throws -> JSONValue? in
            try core.handle(self.request(["cmd": "lock_get", "lockid": "L", "requestor": .string(requestor)]),
                            peerHost: "h", nowMs: 0).reply.objectValue?["status"]
        }
        #expect(try get("a") == "granted")
        #expect(try get("b") == "retry")
        let release = try core.handle(request(["cmd": "lock_release", "lockid": "L", "requestor": "zzz"]),
                                      peerHost: "h", nowMs: 0)
        #expect(release.reply == .object(["status": "unknown"]))
    }

    @Test func unknownCommandAndBadFieldsThrowRequestErrors() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        #expect(throws: RequestError.self) { try core.handle(request(["cmd": "frobnicate"]), peerHost: "h", nowMs: 0) }
        #expect(throws: RequestError.missingField("port")) {
            try core.handle(request(["cmd": "heartbeat", "requestor": "a"]), peerHost: "h", nowMs: 0)
        }
        #expect(throws: RequestError.self) {
            try core.handle(request(["cmd": "heartbeat", "port": "x", "requestor": "a"]), peerHost: "h", nowMs: 0)
        }
    }
}

struct SyncedEpochTests {
    @Test func heartbeatsReportSyncProgressAndTheViewShowsIt() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        var nowMs: Int64 = 0
        let beat = { (id: String, port: Int64, synced: Int64) throws -> JSONValue in
            try core.handle(Request(fields: ["cmd": "heartbeat", "port": .integer(port), "requestor": .string(id),
                                             "synced_epoch": .integer(synced)]), peerHost: "h", nowMs: nowMs).reply
        }
        _ = try beat("a", 1, -1)
        #expect(try beat("b", 2, 2).objectValue?["all_synced_epoch"] == -1,
                "for a lease after the viewleader starts, no epoch counts as synced by everyone")
        nowMs = 1_000
        _ = try beat("a", 1, -1)
        _ = try beat("b", 2, -1)
        #expect(try beat("a", 1, 2).objectValue?["all_synced_epoch"] == -1, "b has not synced yet")
        #expect(try beat("b", 2, 2).objectValue?["all_synced_epoch"] == 2)
        #expect(try beat("b", 2, 9).objectValue?["all_synced_epoch"] == 2, "nobody syncs past the current epoch")
        let (view, _) = try core.handle(Request(fields: ["cmd": "query_servers"]), peerHost: "h", nowMs: nowMs)
        #expect(view.objectValue?["servers"]?.arrayValue?.map { $0.objectValue?["synced_epoch"] } == [2, 2])
    }
}

/// Partial partitions end to end through the core: a report, the exclusion (no lease renewed), the expiry a lease
/// later, and the quarantine of the address.
struct ViewLeaderSuspicionTests {
    static let leaseMs: Int64 = 1_000

    func beat(_ core: inout ViewLeaderCore, _ id: String, address: String, at nowMs: Int64) throws -> JSONValue {
        try core.handle(Request(fields: ["cmd": "heartbeat", "port": 1, "requestor": .string(id),
                                         "addr": .string(address)]), peerHost: "h", nowMs: nowMs).reply
    }

    @Test func aReportedMemberStopsBeingRenewedLeavesWithinALeaseAndWaitsOutItsQuarantine() throws {
        var core = ViewLeaderCore(leaseMs: Self.leaseMs, lockWaiterTimeoutMs: 1_000)
        for id in ["a", "b", "c"] { _ = try beat(&core, id, address: id, at: 0) }
        let epoch = core.membership.epoch
        let report = try core.handle(Request(fields: ["cmd": "suspect", "requestor": "a", "peer": "b",
                                                      "epoch": .integer(epoch), "unreachable_ms": 1_000]),
                                     peerHost: "h", nowMs: 100)
        #expect(report.reply == ["status": "ok", "noted": true])
        let stale = try core.handle(Request(fields: ["cmd": "suspect", "requestor": "a", "peer": "c",
                                                     "epoch": .integer(epoch - 1), "unreachable_ms": 1_000]),
                                    peerHost: "h", nowMs: 100)
        #expect(stale.reply.objectValue?["noted"] == false, "a report for another epoch is set aside")
        var log: [String] = []
        var nowMs: Int64 = 100
        var excludedReplies: [String] = []
        while core.membership.members["b"] != nil && nowMs < 5_000 {
            nowMs += 50
            for id in ["a", "c"] { _ = try beat(&core, id, address: id, at: nowMs) }
            let reply = try beat(&core, "b", address: "b", at: nowMs)
            excludedReplies.append(reply.objectValue?["status"]?.stringValue ?? "")
            log += core.tick(nowMs: nowMs).compactMap { if case .log(let line) = $0 { line } else { nil } }
        }
        #expect(log.contains { $0.hasPrefix("server a cannot reach server b") && $0.contains("excluding b at b:1") },
                "\(log)")
        #expect(excludedReplies.contains("retry") && !excludedReplies.dropFirst(5).contains("ok"),
                "once excluded, its heartbeats renew nothing: \(excludedReplies)")
        #expect(core.membership.members["b"] == nil && core.membership.epoch == epoch + 1)
        #expect(nowMs <= 100 + core.suspicions.gatherMs + Self.leaseMs + 2 * ViewLeaderCore.tickIntervalMs(
            leaseMs: Self.leaseMs), "it leaves once its last renewed lease has run out: \(nowMs) ms")
        // Denied under its old ID, it comes back under a new one: quarantined first, then let in.
        #expect(try beat(&core, "b", address: "b", at: nowMs + 10).objectValue?["status"] == "deny")
        let quarantined = try beat(&core, "b2", address: "b", at: nowMs + 20)
        #expect(quarantined.objectValue?["status"] == "retry")
        #expect(quarantined.objectValue?["error"]?.stringValue?.contains("quarantined") == true, "\(quarantined)")
        let untilMs = try #require(core.suspicions.quarantinedUntil("b:1", nowMs: nowMs))
        for id in ["a", "c"] { _ = try beat(&core, id, address: id, at: untilMs) }
        #expect(try beat(&core, "b2", address: "b", at: untilMs).objectValue?["status"] == "ok")
    }
}
