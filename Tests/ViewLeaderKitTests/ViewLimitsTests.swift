import Testing
import Wire
@testable import ViewLeaderKit

/// The per-field limits compose: the largest view the viewleader can admit fits in one default frame, both as a
/// `query_servers` reply and as the view a heartbeat reports back while the viewleader recovers.
struct ViewLimitsTests {
    /// A distinct maximal server ID and host for member `index`.
    static func id(_ index: Int) -> String {
        String(repeating: "i", count: ViewLeaderRequest.serverIDBytesMax - 4) + String(1000 + index)
    }

    static func host(_ index: Int) -> String {
        // An IPv6-looking host is written in brackets: the longest address form.
        String(repeating: ":", count: ViewLeaderRequest.hostBytesMax - 4) + String(1000 + index)
    }

    @Test func theLargestViewFitsInOneFrameAsAQueryServersReply() throws {
        var core = ViewLeaderCore(leaseMs: 60_000, lockWaiterTimeoutMs: 1_000)
        for index in 0..<ViewLeaderRequest.membersMax {
            let (reply, _) = try core.handle(
                Request(fields: ["cmd": "heartbeat", "port": 65_535, "requestor": .string(Self.id(index)),
                                 "addr": .string(Self.host(index)), "synced_epoch": .integer(Int64.max)]),
                peerHost: "127.0.0.1", nowMs: 0)
            #expect(reply.objectValue?["status"] == "ok")
        }
        let (reply, _) = try core.handle(Request(fields: ["cmd": "query_servers"]), peerHost: "x", nowMs: 0)
        #expect(reply.objectValue?["servers"]?.arrayValue?.count == ViewLeaderRequest.membersMax)
        let bytes = JSONWriter.encode(reply).count
        #expect(bytes <= WireLimits().frameBytesMax, "a full view's query_servers reply is \(bytes) bytes")
        // One more member is refused, so the view cannot grow past what was measured.
        let (refused, _) = try core.handle(
            Request(fields: ["cmd": "heartbeat", "port": 1, "requestor": "one-more", "addr": "10.0.0.1"]),
            peerHost: "127.0.0.1", nowMs: 0)
        #expect(refused.objectValue?["status"] == "retry")
    }

    /// With partial partitions: a full view, the longest ID being excluded and as many of the longest quarantined
    /// addresses as a reply lists (more are cut) still fit.
    @Test func theLargestViewWithQuarantinesFitsInOneFrame() {
        let servers = (0..<ViewLeaderRequest.membersMax).map { index in
            ViewDescription.Server(id: Self.id(index), address: "[\(Self.host(index))]:65535", syncedEpoch: .max,
                                   position: 9_999_999, lastHeartbeatAgeMs: .max)
        }
        let quarantined = (0..<(2 * ViewDescription.quarantinesListedMax)).map { index in
            ViewDescription.Quarantine(address: "[\(Self.host(index))]:65535", remainingMs: .max - Int64(index))
        }
        let view = ViewDescription(epoch: .max, ringSize: 10_000, servers: servers, quarantined: quarantined,
                                   excluding: Self.id(0), suspicions: .max)
        #expect(view.quarantined.count == ViewDescription.quarantinesListedMax)
        let bytes = JSONWriter.encode(view.json).count
        #expect(bytes <= WireLimits().frameBytesMax, "\(bytes) bytes")
    }

    @Test func theLargestReportedViewFitsInOneHeartbeatFrame() throws {
        let members = (0..<ViewLeaderRequest.membersMax).map { index in
            ViewLeaderRequest.ReportedView.Member(id: Self.id(index), address: "[\(Self.host(index))]:65535")
        }
        #expect(members.allSatisfy { $0.address.utf8.count <= ViewLeaderRequest.addressBytesMax })
        let heartbeat = ViewLeaderRequest.heartbeat(.init(
            port: 65_535, requestor: Self.id(0), host: Self.host(0), syncedEpoch: Int64.max, epoch: Int64.max,
            view: .init(epoch: Int64.max, members: members)))
        let bytes = JSONWriter.encode(heartbeat.json).count
        #expect(bytes <= WireLimits().frameBytesMax, "a heartbeat reporting a full view is \(bytes) bytes")
        guard let fields = heartbeat.json.objectValue else { return }
        #expect(try ViewLeaderRequest(Request(fields: fields)) == heartbeat, "and it is accepted")
    }
}
