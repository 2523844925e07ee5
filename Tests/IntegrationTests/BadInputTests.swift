import Foundation
import Testing
import Transport
import Wire

/// Bad input gets a clear error reply, disturbs no other connection, and never stops the process serving.
@Suite(.serialized)
struct BadInputTests {
    static func header(_ length: Int32) -> [UInt8] {
        let raw = UInt32(bitPattern: length)
        return [UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)]
    }

    static func frame(_ body: [UInt8]) -> [UInt8] { header(Int32(body.count)) + body }

    func errorText(_ reply: JSONValue) -> String? {
        guard reply.objectValue?["status"] == "error" else { return nil }
        return reply.objectValue?["error"]?.stringValue
    }

    /// Each malformed request, sent on one connection that must keep working after every one of them.
    @Test(arguments: ["server", "viewleader"])
    func malformedRequestsGetErrorRepliesAndTheConnectionKeepsServing(target: String) throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = target == "server" ? try cluster.startServer().port : cluster.viewLeaderPort
        let connection = try rawConnection(port: port)
        defer { connection.close() }
        let cases: [(body: [UInt8], mentions: String)] = [
            (Array("{not json".utf8), "JSON"),
            ([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], "UTF-8"),
            (Array("[1,2,3]".utf8), "object"),
            (Array("\"just a string\"".utf8), "object"),
            (Array("{}".utf8), "cmd"),
            (Array("{\"cmd\":42}".utf8), "cmd"),
            (Array("{\"cmd\":\"no_such_command\"}".utf8), "unknown command"),
            (Array((target == "server" ? "{\"cmd\":\"set\",\"key\":\"k\"}" : "{\"cmd\":\"lock_get\"}").utf8),
             "missing field"),
            (Array((target == "server" ? "{\"cmd\":\"set\",\"key\":1,\"val\":\"v\"}"
                : "{\"cmd\":\"heartbeat\",\"port\":\"x\",\"requestor\":1}").utf8), "must be"),
            ([], "JSON"),
        ]
        for (body, mentions) in cases {
            try connection.sendRaw(Self.frame(body), timeoutMs: 5_000)
            let reply = try connection.receive(timeoutMs: 5_000)
            let text = try #require(errorText(reply), "expected an error reply to \(body), got \(reply)")
            #expect(text.contains(mentions), "error '\(text)' should mention '\(mentions)'")
        }
        let healthy = try connection.call(["cmd": target == "server" ? "query_all_keys" : "query_servers"],
                                          timeoutMs: 5_000)
        #expect(healthy.objectValue?["result"] != nil)
    }

    @Test func negativeLengthGetsAnErrorAndTheConnectionIsClosed() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer().port
        let connection = try rawConnection(port: port)
        try connection.sendRaw(Self.header(-5), timeoutMs: 5_000)
        #expect(errorText(try connection.receive(timeoutMs: 5_000))?.contains("negative") == true)
        #expect(throws: SocketError.closed) { try connection.receive(timeoutMs: 5_000) }
        #expect(try rawConnection(port: port).call(["cmd": "get", "key": "a"], timeoutMs: 5_000)
            == ["status": "not_found"])
    }

    @Test func overLimitLengthIsRefusedFromItsHeaderAndTheLimitIsConfigurable() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let frameBytes = RecordLimits.frameBytesMin
        let port = try cluster.startServer(arguments: ["--max-frame-bytes", "\(frameBytes)"]).port
        let exact = try rawConnection(port: port)
        let limits = RecordLimits(frameBytesMax: frameBytes)
        let value = String(repeating: "v", count: limits.valueBytesMax)
        #expect(try exact.call(["cmd": "set", "key": "k", "val": .string(value)], timeoutMs: 5_000) == ["status": "ok"])
        let connection = try rawConnection(port: port)
        try connection.sendRaw(Self.header(Int32(frameBytes) + 1), timeoutMs: 5_000)
        let refusal = errorText(try connection.receive(timeoutMs: 5_000))
        #expect(refusal?.contains("exceeds the limit of \(frameBytes)") == true)
        #expect(throws: SocketError.closed) { try connection.receive(timeoutMs: 5_000) }
        let defaultLimit = try cluster.startServer().port
        let huge = try rawConnection(port: defaultLimit)
        try huge.sendRaw(Self.header(Int32(1 << 20) + 1), timeoutMs: 5_000)
        #expect(errorText(try huge.receive(timeoutMs: 5_000))?.contains("exceeds the limit of 1048576") == true)
    }

    /// A value one byte over its limit (counted as JSON text: a control character counts six) is refused with an
    /// error naming the field and the limit, on `set` and on `setr`; the connection stays usable and the
    /// key keeps its value.
    @Test func aValueOrKeyOverItsLimitIsRefusedByNameAndChangesNothing() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let frameBytes = RecordLimits.frameBytesMin
        let port = try cluster.startServer(arguments: ["--max-frame-bytes", "\(frameBytes)"]).port
        let limits = RecordLimits(frameBytesMax: frameBytes)
        let connection = try rawConnection(port: port)
        #expect(try connection.call(["cmd": "set", "key": "k", "val": "kept"], timeoutMs: 5_000) == ["status": "ok"])
        let overByEscape = String(repeating: "v", count: limits.valueBytesMax - 5) + "\u{1}"
        for command in ["set", "setr"] {
            let reply = try connection.call(["cmd": .string(command), "key": "k", "val": .string(overByEscape),
                                             "epoch": 0], timeoutMs: 5_000)
            let text = try #require(errorText(reply))
            #expect(text.contains("\"val\" is \(limits.valueBytesMax + 1) bytes"), "\(text)")
            #expect(text.contains("limit of \(limits.valueBytesMax) bytes"), "\(text)")
        }
        let longKey = String(repeating: "k", count: RecordLimits.keyBytesMax + 1)
        for command in ["get", "getr", "delr"] {
            let reply = try connection.call(["cmd": .string(command), "key": .string(longKey), "epoch": 0],
                                            timeoutMs: 5_000)
            #expect(errorText(reply)?.contains("limit of \(RecordLimits.keyBytesMax) bytes") == true, "\(reply)")
        }
        #expect(try connection.call(["cmd": "get", "key": "k"], timeoutMs: 5_000) == ["status": "ok", "value": "kept"])
    }

    @Test func silentAndHalfFramePeersAreTimedOutWithoutHoldingUpOthers() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer(arguments: ["--request-timeout", "0.5"]).port
        let silent = try rawConnection(port: port)
        let halfFrame = try rawConnection(port: port)
        try halfFrame.sendRaw(Self.header(50) + Array("{\"cmd\":".utf8), timeoutMs: 5_000)
        let started = Date()
        // Meanwhile another peer is served at once, many times over.
        let busy = try rawConnection(port: port)
        for _ in 0..<20 {
            #expect(try busy.call(["cmd": "get", "key": "k"], timeoutMs: 1_000) == ["status": "not_found"])
        }
        #expect(Date().timeIntervalSince(started) < 0.5, "a stalled peer must not delay others")
        #expect(throws: SocketError.closed) { try silent.receive(timeoutMs: 5_000) }
        #expect(throws: SocketError.closed) { try halfFrame.receive(timeoutMs: 5_000) }
        #expect(Date().timeIntervalSince(started) < 4)
    }

    @Test func stalledPeerNeverDelaysHeartbeatsFromOthers() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        // Peers that connect and stall, on the viewleader itself.
        let stalled = try (0..<20).map { _ in try rawConnection(port: cluster.viewLeaderPort) }
        for connection in stalled { try connection.sendRaw(Self.header(1_000), timeoutMs: 1_000) }
        let server = try cluster.startServer()
        _ = try cluster.waitForView(timeoutMs: 5_000) { $0.servers.map(\.id) == [server.id] }
        // The server keeps its lease for several lease lengths while the stalled peers sit there.
        Thread.sleep(forTimeInterval: LocalCluster.leaseSeconds * 2)
        let view = try cluster.viewLeaderClient().queryServers()
        #expect(view.servers.map(\.id) == [server.id])
        #expect(view.epoch == 1)
        withExtendedLifetime(stalled) {}
    }
}
