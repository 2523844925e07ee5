import Durability
import ServerKit
import Testing
import Wire

/// A host that records what the driver asks of it, with a clock the test moves.
final class RecordingHost: ReplicaHost {
    enum Effect: Equatable {
        case answer(responder: Int, ServerReply)
        case callPeer(address: String, ServerRequest)
        case callViewLeader(JSONValue, ViewLeaderCall, timeoutMs: Int64)
        case timer(afterMs: Int64, ReplicaTimer)
        case log(String, warning: Bool)
        case registered(String)
        case writeLog(WriteAheadLog.Batch)
        case stopped(String)
        case writeSnapshot(through: UInt64)
    }

    var nowMs: Int64 = 1_000
    var effects: [Effect] = []
    var peerCalls: [CallID] = []
    var nextServerID = 1

    func answer(_ responder: Int, with reply: ServerReply) { effects.append(.answer(responder: responder, reply)) }

    func callPeer(_ id: CallID, address: String, message: ServerRequest, timeoutMs: Int64) {
        peerCalls.append(id)
        effects.append(.callPeer(address: address, message))
    }

    func callViewLeader(_ message: JSONValue, purpose: ViewLeaderCall, timeoutMs: Int64) {
        effects.append(.callViewLeader(message, purpose, timeoutMs: timeoutMs))
    }

    func startTimer(afterMs delayMs: Int64, _ timer: ReplicaTimer) { effects.append(.timer(afterMs: delayMs, timer)) }

    /// The data directory a denied server saves its next incarnation in; nil: it takes a fresh ID.
    var identityFiles: DataFiles?

    func nextIdentity(after denied: ServerIdentity) throws(DiskError) -> ServerIdentity {
        try IdentityFile.afterDenial(of: denied, in: identityFiles) {
            defer { nextServerID += 1 }
            return "fresh\(nextServerID)"
        }
    }

    func log(_ line: String, _ level: ReplicaLogLevel) {
        effects.append(.log(line, warning: level == .warning))
    }

    func registered(as identity: ServerIdentity) { effects.append(.registered("\(identity)")) }

    func writeLog(_ batch: WriteAheadLog.Batch) { effects.append(.writeLog(batch)) }

    func stopAfterDiskFailure(_ message: String) { effects.append(.stopped(message)) }

    /// Snapshots handed over, in order (also recorded as effects by their sequence).
    var snapshots: [StoreSnapshot] = []

    func writeSnapshot(_ snapshot: StoreSnapshot) {
        snapshots.append(snapshot)
        effects.append(.writeSnapshot(through: snapshot.through))
    }

    /// The effects since the last call, cleared.
    func take() -> [Effect] {
        defer { effects = [] }
        return effects
    }
}

struct ReplicaDriverTests {
    func makeDriver() -> (ReplicaDriver<RecordingHost>, RecordingHost) {
        let host = RecordingHost()
        let driver = ReplicaDriver(host: host, identity: ServerIdentity(id: "s1"), port: 38_000, advertisedHost: nil,
                                   heartbeatIntervalMs: 200)
        return (driver, host)
    }

    @Test func heartbeatsGoOutOnTheTimerAndTheNextIsSetOneIntervalAfterTheAnswer() {
        let (driver, host) = makeDriver()
        driver.start(firstHeartbeatAfterMs: 30)
        #expect(host.take() == [.timer(afterMs: 30, .heartbeat)])
        driver.timerFired(.heartbeat)
        guard case .callViewLeader(let message, .heartbeat(let sentMs), let timeoutMs) = host.take().first else {
            Issue.record("no heartbeat was sent")
            return
        }
        #expect(message.objectValue?["cmd"] == "heartbeat")
        #expect(message.objectValue?["requestor"] == "s1")
        #expect(sentMs == 1_000)
        #expect(timeoutMs == HeartbeatTiming.callTimeoutMs(intervalMs: 200))
        host.nowMs = 1_050
        driver.viewLeaderAnswered(.heartbeat(sentMs: sentMs),
                                  .reply(["status": "ok", "epoch": 3, "lease_ms": 1_000, "all_synced_epoch": -1]))
        let effects = host.take()
        #expect(effects.contains(.log("joined the view as server s1 in epoch 3", warning: false)))
        // A server that has no view yet asks for it.
        #expect(effects.contains { if case .callViewLeader(_, .viewFetch, _) = $0 { true } else { false } })
        #expect(effects.last == .timer(afterMs: 200, .heartbeat))
        #expect(driver.session.epoch == 3)
    }

    /// Issue 17's misconfiguration: a heartbeat interval too long for the lease made a server flap. At the first
    /// accepted heartbeat the interval is shortened to a third of the lease, said once with both settings; an
    /// interval that fits is left alone.
    @Test func aHeartbeatIntervalTooLongForTheLeaseIsShortenedAndSaidOnce() {
        let host = RecordingHost()
        let driver = ReplicaDriver(host: host, identity: ServerIdentity(id: "s1"), port: 38_000, advertisedHost: nil,
                                   heartbeatIntervalMs: 5_000)
        var effects: [RecordingHost.Effect] = []
        for _ in 0..<2 {
            driver.timerFired(.heartbeat)
            _ = host.take()
            driver.viewLeaderAnswered(.heartbeat(sentMs: host.nowMs),
                                      .reply(["status": "ok", "epoch": 3, "lease_ms": 3_000, "all_synced_epoch": -1]))
            effects += host.take()
        }
        let warnings = effects.filter { if case .log(_, warning: true) = $0 { true } else { false } }
        #expect(warnings == [.log("--heartbeat-interval 5 s is too long for the viewleader's 3 s lease (--lease): a "
            + "lease must hold at least 3 heartbeats, or this server expires between them and flaps. Heartbeating "
            + "every 1 s instead; start it with --heartbeat-interval 1 or less, or the viewleader with --lease 15 "
            + "or more", warning: true)])
        #expect(effects.filter { $0 == .timer(afterMs: 1_000, .heartbeat) }.count == 2)
        #expect(driver.effectiveHeartbeatIntervalMs == 1_000 && driver.heartbeatIntervalMs == 5_000)

        let (fitting, fittingHost) = makeDriver()
        fitting.viewLeaderAnswered(.heartbeat(sentMs: 1_000), .reply(["status": "ok", "epoch": 3, "lease_ms": 1_500]))
        #expect(fittingHost.take().last == .timer(afterMs: 200, .heartbeat))
        #expect(fitting.effectiveHeartbeatIntervalMs == 200)
        #expect(HeartbeatTiming.intervalMs(configured: 700, leaseMs: 1_500) == 500)
        #expect(HeartbeatTiming.intervalMs(configured: 700, leaseMs: nil) == 700, "a classic viewleader sends none")
    }

    @Test func anUnreachableViewLeaderIsLoggedOnceAndHeartbeatsGoOn() {
        let (driver, host) = makeDriver()
        for _ in 0..<3 {
            driver.viewLeaderAnswered(.heartbeat(sentMs: host.nowMs), .failed("connection refused"))
        }
        let effects = host.take()
        #expect(effects.filter { if case .log = $0 { true } else { false } }
            == [.log("cannot reach the viewleader: connection refused; will keep trying", warning: true)])
        #expect(effects.filter { $0 == .timer(afterMs: 200, .heartbeat) }.count == 3)
        driver.viewLeaderAnswered(.heartbeat(sentMs: host.nowMs), .reply(["status": "retry", "error": "busy"]))
        #expect(host.take().first == .log("viewleader reachable again", warning: false))
    }

    /// The finding: while the viewleader was at its connection limit, servers read its refusal as a view. An
    /// error reply is a refusal, logged as one once, and changes neither the epoch nor the view.
    @Test func aViewLeaderRefusalIsNeverReadAsAViewOrAnEpoch() {
        let (driver, host) = makeDriver()
        driver.viewLeaderAnswered(.heartbeat(sentMs: 1_000), .reply(["status": "ok", "epoch": 3, "lease_ms": 1_000]))
        _ = host.take()
        let refusal: JSONValue = ["status": "error", "error": "viewleader is at its limit of 4096 connections"]
        for _ in 0..<3 { driver.viewLeaderAnswered(.heartbeat(sentMs: 1_200), .reply(refusal)) }
        let logs = host.take().filter { if case .log = $0 { true } else { false } }
        #expect(logs == [.log("the viewleader refused the heartbeat: viewleader is at its limit of 4096 connections; "
            + "heartbeating on", warning: true)])
        #expect(driver.session.epoch == 3)
        driver.viewLeaderAnswered(.viewFetch, .reply(refusal))
        #expect(host.take().contains(.log("the viewleader refused to describe the view: viewleader is at its limit "
            + "of 4096 connections; retrying", warning: true)))
        #expect(driver.adoptedView == nil)
    }

    @Test func aDeniedServerRegistersAgainUnderAFreshIDWithNothingInMemory() throws {
        let (driver, host) = makeDriver()
        driver.viewLeaderAnswered(.heartbeat(sentMs: 1_000), .reply(["status": "ok", "epoch": 1, "lease_ms": 1_000]))
        _ = host.take()
        driver.viewLeaderAnswered(.heartbeat(sentMs: 1_200), .reply(["status": "deny", "error": "lease expired"]))
        let effects = host.take()
        #expect(effects.contains(.registered("fresh1")))
        #expect(driver.serverID == "fresh1")
        #expect(driver.session.serverID == "fresh1")
        driver.timerFired(.heartbeat)
        guard case .callViewLeader(let message, _, _) = host.take().first else {
            Issue.record("no heartbeat after the denial")
            return
        }
        #expect(message.objectValue?["requestor"] == "fresh1")
    }

    /// With a data directory the ID is kept: a denied server saves its next incarnation there before it heartbeats
    /// under it.
    @Test func aDeniedServerWithADataDirectoryRegistersAgainAsItsNextIncarnation() throws {
        let host = RecordingHost()
        let files = SimulatedFiles()
        host.identityFiles = files
        let identity = try IdentityFile.start(in: files, idBytesMax: 256) { "kept" }
        let driver = ReplicaDriver(host: host, identity: identity, port: 38_000, advertisedHost: nil,
                                   heartbeatIntervalMs: 200)
        driver.viewLeaderAnswered(.heartbeat(sentMs: 1_000), .reply(["status": "ok", "epoch": 1, "lease_ms": 1_000]))
        driver.viewLeaderAnswered(.heartbeat(sentMs: 1_200), .reply(["status": "deny", "error": "lease expired"]))
        #expect(host.take().contains(.registered("kept (incarnation 2)")))
        #expect(driver.serverID == "kept")
        #expect(try IdentityFile.read(files, idBytesMax: 256) == ServerIdentity(id: "kept", incarnation: 2))
        driver.timerFired(.heartbeat)
        guard case .callViewLeader(let message, _, _) = host.take().first else {
            Issue.record("no heartbeat after the denial")
            return
        }
        #expect(message.objectValue?["requestor"] == "kept")
        #expect(message.objectValue?["incarnation"] == 2)
    }

    @Test func classicAndReplicatedRequestsAreAnsweredThroughTheHost() {
        let (driver, host) = makeDriver()
        driver.receive(.set(key: "k", value: "v"), from: 1)
        driver.receive(.get(key: "k"), from: 2)
        driver.receive(.queryAllKeys, from: 3)
        // No view yet: a replicated read is refused with a retry, not dropped.
        driver.receive(.getr(key: "k", epoch: 0), from: 4)
        let answers = host.take().compactMap { effect -> Int? in
            if case .answer(let responder, _) = effect { return responder } else { return nil }
        }
        #expect(answers == [1, 2, 3, 4])
        #expect(driver.allKeys == ["k"])
    }
}
