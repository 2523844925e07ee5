import Durability
import Testing
import Wire
@testable import ServerKit

struct HeartbeatSessionTests {
    @Test func requestCarriesPortIDAndAdvertisedHost() {
        let session = HeartbeatSession(identity: ServerIdentity(id: "abc"), port: 38000, advertisedHost: "127.0.0.1")
        #expect(session.request == .object(["cmd": "heartbeat", "port": 38000, "requestor": "abc",
                                            "addr": "127.0.0.1"]))
    }

    @Test func firstAcceptanceIsAJoinAndLaterOnesTrackTheEpoch() {
        var session = HeartbeatSession(identity: ServerIdentity(id: "abc"), port: 1, advertisedHost: nil)
        #expect(session.receive(.object(["status": "ok", "epoch": 1, "lease_ms": 500]))
            == .accepted(epoch: 1, joined: true, epochChanged: true))
        #expect(session.leaseMs == 500)
        #expect(session.receive(.object(["status": "ok", "epoch": 1]))
            == .accepted(epoch: 1, joined: false, epochChanged: false))
        #expect(session.receive(.object(["status": "ok", "epoch": 4]))
            == .accepted(epoch: 4, joined: false, epochChanged: true))
    }

    @Test func denialAsksForAFreshIDAndRejoins() {
        var session = HeartbeatSession(identity: ServerIdentity(id: "old"), port: 1, advertisedHost: nil)
        _ = session.receive(.object(["status": "ok", "epoch": 1]))
        guard case .denied = session.receive(.object(["status": "deny"])) else {
            Issue.record("expected a denial")
            return
        }
        session.restart(as: ServerIdentity(id: "new"))
        #expect(session.request.objectValue?["requestor"] == "new")
        #expect(session.request.objectValue?["incarnation"] == nil, "incarnation 0 is not sent: classic heartbeat")
        #expect(session.receive(.object(["status": "ok", "epoch": 3]))
            == .accepted(epoch: 3, joined: true, epochChanged: true))
    }

    @Test func aServerWithADataDirectoryRejoinsAsItsNextIncarnation() {
        var session = HeartbeatSession(identity: ServerIdentity(id: "kept", incarnation: 2), port: 1,
                                       advertisedHost: nil)
        #expect(session.request.objectValue?["incarnation"] == 2)
        _ = session.receive(.object(["status": "ok", "epoch": 1]))
        _ = session.receive(.object(["status": "deny"]))
        session.restart(as: ServerIdentity(id: "kept", incarnation: 3))
        #expect(session.request.objectValue?["requestor"] == "kept")
        #expect(session.request.objectValue?["incarnation"] == 3)
        #expect(session.receive(.object(["status": "ok", "epoch": 3]))
            == .accepted(epoch: 3, joined: true, epochChanged: true))
    }

    @Test func malformedRepliesAreReportedNotTrusted() {
        var session = HeartbeatSession(identity: ServerIdentity(id: "a"), port: 1, advertisedHost: nil)
        guard case .malformed = session.receive(.array([])) else {
            Issue.record("expected malformed")
            return
        }
        guard case .malformed = session.receive(.object(["status": "ok"])) else {
            Issue.record("expected malformed for a missing epoch")
            return
        }
        #expect(!session.isMember)
    }

    @Test func heartbeatsReportTheHighestEpochTheServerKnows() {
        var session = HeartbeatSession(identity: ServerIdentity(id: "a"), port: 1, advertisedHost: nil)
        #expect(session.request(syncedEpoch: -1, knownEpoch: -1, view: nil).objectValue?["epoch"] == nil,
                "a fresh server knows of no epoch")
        _ = session.receive(["status": "ok", "epoch": 3])
        #expect(session.request(syncedEpoch: -1, knownEpoch: 2, view: nil).objectValue?["epoch"] == 3)
        #expect(session.request(syncedEpoch: -1, knownEpoch: 9, view: nil).objectValue?["epoch"] == 9,
                "a view or a peer can make it know a later one than the viewleader said")
    }

    @Test func aRecoveringViewleaderIsSentTheViewTheServerServes() {
        var session = HeartbeatSession(identity: ServerIdentity(id: "a"), port: 1, advertisedHost: nil)
        let view = ViewDescription(epoch: 5, ringSize: 10_000, servers: [
            .init(id: "a", address: "h:1", syncedEpoch: 5), .init(id: "b", address: "h:2", syncedEpoch: 4),
        ])
        #expect(session.request(syncedEpoch: 5, knownEpoch: 5, view: view).objectValue?["view"] == nil)
        _ = session.receive(["status": "retry", "error": "recovering", "report_view": true])
        #expect(session.request(syncedEpoch: 5, knownEpoch: 5, view: view).objectValue?["view"]
            == ["epoch": 5, "members": [["a", "h:1"], ["b", "h:2"]]])
        _ = session.receive(["status": "ok", "epoch": 6])
        #expect(session.request(syncedEpoch: 5, knownEpoch: 6, view: view).objectValue?["view"] == nil)
    }
}
