import ClientKit
import Foundation
import Testing
import Transport
import Wire

/// The real executables answer the classic course messages, one request per connection or many.
@Suite(.serialized)
struct ClassicProtocolTests {
    /// One connection, one request, one reply, close: what the classic clients do.
    func oneShot(_ port: Int, _ request: JSONValue) throws -> JSONValue {
        let connection = try rawConnection(port: port)
        defer { connection.close() }
        return try connection.call(request, timeoutMs: 5_000)
    }

    @Test func serverAnswersEveryClassicCommandOneRequestPerConnection() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer().port
        #expect(try oneShot(port, ["cmd": "print", "text": ["hello", "classic"]]) == ["status": "ok"])
        #expect(try oneShot(port, ["cmd": "set", "key": "k", "val": "v"]) == ["status": "ok"])
        #expect(try oneShot(port, ["cmd": "get", "key": "k"]) == ["status": "ok", "value": "v"])
        #expect(try oneShot(port, ["cmd": "get", "key": "missing"]) == ["status": "not_found"])
        #expect(try oneShot(port, ["cmd": "query_all_keys"]) == ["result": ["k"]])
        let log = cluster.servers[0].log
        #expect(log.contains("hello classic"))
    }

    @Test func viewLeaderAnswersEveryClassicCommandOneRequestPerConnection() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = cluster.viewLeaderPort
        let joined = try oneShot(port, ["cmd": "heartbeat", "port": 45_678, "requestor": 987_654_321])
        #expect(joined.objectValue?["status"] == "ok")
        #expect(joined.objectValue?["epoch"] == 1)
        let view = try oneShot(port, ["cmd": "query_servers"])
        #expect(view.objectValue?["result"] == ["127.0.0.1:45678"])
        #expect(view.objectValue?["epoch"] == 1)
        let taken = try oneShot(port, ["cmd": "heartbeat", "port": 45_678, "requestor": 5])
        #expect(taken.objectValue?["status"] == "retry")
        #expect(try oneShot(port, ["cmd": "lock_get", "lockid": "L", "requestor": "a"]) == ["status": "granted"])
        #expect(try oneShot(port, ["cmd": "lock_get", "lockid": "L", "requestor": "b"]).objectValue?["status"]
            == "retry")
        #expect(try oneShot(port, ["cmd": "lock_release", "lockid": "L", "requestor": "a"]) == ["status": "ok"])
        #expect(try oneShot(port, ["cmd": "lock_get", "lockid": "L", "requestor": "b"]) == ["status": "granted"])
        #expect(try oneShot(port, ["cmd": "lock_release", "lockid": "L", "requestor": "a"]) == ["status": "unknown"])
    }

    /// The classic course server's exact heartbeat, as Python's json.dumps writes it: its requestor is
    /// `random.random()`, a float. It joins, is listed under the float's text, and stays one member.
    @Test func theClassicServersFloatRequestorJoinsAndStaysOneMember() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let heartbeat = Array(#"{"cmd": "heartbeat", "port": 38000, "requestor": 0.8444218515250481}"#.utf8)
        var frame: [UInt8] = withUnsafeBytes(of: Int32(heartbeat.count).bigEndian) { Array($0) }
        frame += heartbeat
        for round in 0..<2 {
            let connection = try rawConnection(port: cluster.viewLeaderPort)
            defer { connection.close() }
            try connection.sendRaw(frame, timeoutMs: 5_000)
            let reply = try connection.receive(timeoutMs: 5_000)
            #expect(reply.objectValue?["status"] == "ok" && reply.objectValue?["epoch"] == 1, "round \(round): \(reply)")
        }
        let view = try cluster.viewLeaderClient().queryServers()
        #expect(view.servers.map(\.id) == ["0.8444218515250481"] && view.epoch == 1)
    }

    @Test func manyRequestsOnOneConnectionAreAnsweredInOrder() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer().port
        let connection = try rawConnection(port: port)
        defer { connection.close() }
        for index in 0..<200 {
            let reply = try connection.call(["cmd": "set", "key": .string("k\(index)"), "val": .string("\(index)")],
                                            timeoutMs: 5_000)
            #expect(reply == ["status": "ok"])
        }
        // Pipelined: every request written at once, replies read afterwards, in the order sent.
        var batch: [UInt8] = []
        for index in 0..<200 { FrameEncoder.append(["cmd": "get", "key": .string("k\(index)")], to: &batch) }
        try connection.sendRaw(batch, timeoutMs: 5_000)
        for index in 0..<200 {
            #expect(try connection.receive(timeoutMs: 5_000) == ["status": "ok", "value": .string("\(index)")])
        }
    }

    @Test func peerThatShutsItsSendingSideStillGetsItsReply() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer().port
        let connection = try rawConnection(port: port)
        defer { connection.close() }
        try connection.send(["cmd": "set", "key": "a", "val": "b"], timeoutMs: 5_000)
        connection.shutdownSending()
        #expect(try connection.receive(timeoutMs: 5_000) == ["status": "ok"])
    }

    @Test func clientLibraryFindsAServerByTryingCandidatePortsInOrder() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let port = try cluster.startServer().port
        // A port nothing listens on: bind an ephemeral one and close it again.
        let unused = try Socket.listen(host: "127.0.0.1", port: 0)
        let deadPort = Socket.localPort(unused)
        close(unused)
        let endpoint = EndpointClient(host: "127.0.0.1", candidatePorts: [deadPort, port], timeoutMs: 5_000)
        #expect(try endpoint.call(["cmd": "get", "key": "x"]) == ["status": "not_found"])
        #expect(endpoint.endpointDescription == "127.0.0.1:\(port)")
    }
}
