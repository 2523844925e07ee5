import Authentication
import ClientKit
import Foundation
import Testing
import Transport
import Wire

/// A cluster started with `--cluster-key-file`: who may do what, and the attacks of issue 16 refused.
@Suite(.serialized)
struct AuthenticationTests {
    static func key(_ name: String, _ role: Role, _ byte: UInt8) -> Key {
        Key(name: name, role: role, secret: [UInt8](repeating: byte, count: Key.secretBytes))
    }

    let member = Self.key("cluster", .member, 1)
    let writer = Self.key("ops", .readWrite, 2)
    let reader = Self.key("dash", .readOnly, 3)
    /// The writer's name with another secret: what someone guessing at the key holds.
    let impostor = Self.key("ops", .readWrite, 9)

    /// A keyed cluster of a viewleader and three servers; every server in the view.
    func keyedCluster() throws -> (LocalCluster, keyFile: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let keyFile = directory.appendingPathComponent("cluster.keys").path
        try KeyFile(keys: [member, writer, reader]).text.write(toFile: keyFile, atomically: true, encoding: .utf8)
        let cluster = try LocalCluster(viewLeaderArguments: ["--cluster-key-file", keyFile])
        cluster.clientKey = reader
        for _ in 0..<3 { try cluster.startServer(arguments: ["--cluster-key-file", keyFile]) }
        _ = try cluster.waitForView { $0.servers.count == 3 }
        return (cluster, keyFile)
    }

    func writeKeyFile(_ keys: [Key], in cluster: LocalCluster, named name: String) throws -> String {
        let path = cluster.directory.appendingPathComponent(name).path
        try KeyFile(keys: keys).text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func keysDecideWhoMayReadAndWrite() throws {
        let (cluster, _) = try keyedCluster()
        defer { cluster.stop() }
        let port = cluster.viewLeaderPort
        let writing = ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: port, key: writer)
        try writing.setr("color", "blue")
        #expect(try writing.getr("color") == "blue")
        let reading = ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: port, key: reader)
        #expect(try reading.getr("color") == "blue")
        #expect(throws: ReplicatedError.refused("authentication required: a read-write request, which needs a "
            + "read-write key; this connection's key is read-only")) { try reading.setr("color", "red") }

        let started = Date()
        for key in [nil, impostor] {
            let refused = ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: port, key: key)
            #expect {
                _ = try refused.getr("color")
            } throws: { error in
                guard case ReplicatedError.refused(let message) = error else { return false }
                return AuthorityRefusal.isRefusal(message)
            }
        }
        #expect(Date().timeIntervalSince(started) < 10, "a refused key is reported at once, not retried")
        #expect(try writing.getr("color") == "blue", "nothing refused took effect")

        // The command line: a documented exit status of its own.
        let writerFile = try writeKeyFile([writer], in: cluster, named: "ops.key")
        let readerFile = try writeKeyFile([reader], in: cluster, named: "dash.key")
        let viewLeader = "127.0.0.1:\(port)"
        let ok = try runTool("client", ["--viewleader", viewLeader, "--key-file", writerFile, "setr", "size", "L"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let readOnly = try runTool("client", ["--viewleader", viewLeader, "--key-file", readerFile,
                                              "setr", "size", "S"])
        #expect(readOnly.status == 5 && readOnly.stderr.contains("needs a read-write key"), "\(readOnly.stderr)")
        let none = try runTool("client", ["--viewleader", viewLeader, "getr", "size"])
        #expect(none.status == 5 && none.stderr.contains("authentication required"), "\(none.stderr)")
        let read = try runTool("client", ["--viewleader", viewLeader, "--key-file", readerFile, "getr", "size"])
        #expect(read.status == 0 && read.stdout == "L\n", "\(read.stderr)")
        let impostorFile = try writeKeyFile([impostor], in: cluster, named: "impostor.key")
        let wrong = try runTool("client", ["--viewleader", viewLeader, "--key-file", impostorFile, "getr", "size"])
        #expect(wrong.status == 5 && wrong.stderr.contains("does not hold our key"), "\(wrong.stderr)")
    }

    /// Issue 16's member-message attacks: a forged `replicate` to a key's primary, a forged heartbeat to the
    /// viewleader, `pull` of every key, `view_change` and `lock_release`, each sent without a key and with a client
    /// key: every one is refused, and neither the store nor the view changes.
    @Test func forgedMemberMessagesAreRefusedAndChangeNothing() throws {
        let (cluster, _) = try keyedCluster()
        defer { cluster.stop() }
        let writing = ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: cluster.viewLeaderPort,
                                       key: writer)
        try writing.setr("account:alice", "100")
        let view = try cluster.viewLeaderClient().queryServers()
        let primary = try #require(view.ring.primary(forKey: "account:alice").flatMap { view.address(of: $0) })
        let primaryPort = try #require(Int(primary.split(separator: ":").last!))
        let forgeries: [(port: Int, request: JSONValue)] = [
            (primaryPort, ["cmd": "replicate", "key": "account:alice", "val": "FORGED",
                           "version": [1_000_000_000_000_000, 0], "epoch": .integer(view.epoch)]),
            (primaryPort, ["cmd": "pull", "epoch": .integer(view.epoch), "ranges": [[0, 9_999]]]),
            (primaryPort, ["cmd": "view_change", "epoch": .integer(view.epoch + 100)]),
            (cluster.viewLeaderPort, ["cmd": "heartbeat", "requestor": .string(view.servers[0].id),
                                      "host": "127.0.0.1", "port": 1, "synced_epoch": 999]),
            (cluster.viewLeaderPort, ["cmd": "lock_release", "lockid": "payroll", "requestor": "alice"]),
        ]
        for (port, request) in forgeries {
            for key in [nil, writer] where !(key != nil && request.objectValue?["cmd"] == "lock_release") {
                let connection = try FrameConnection(host: "127.0.0.1", port: port, timeoutMs: 5_000, key: key)
                let reply = try connection.call(request, timeoutMs: 5_000)
                let message = Reply.errorMessage(in: reply) ?? ""
                #expect(message.hasPrefix(AuthorityRefusal.prefix),
                        "\(request) with \(key?.name ?? "no key"): \(reply)")
            }
        }
        #expect(try writing.getr("account:alice") == "100")
        #expect(cluster.viewLeader.log.contains("refused a connection from 127.0.0.1: authentication required"),
                "refusals are logged")
        let after = try cluster.viewLeaderClient().queryServers()
        #expect(after.epoch == view.epoch, "the view did not change")
        #expect(after.servers.map { "\($0.id) \($0.address) \($0.syncedEpoch)" }
            == view.servers.map { "\($0.id) \($0.address) \($0.syncedEpoch)" })
    }

    /// A sealed frame altered, replayed, or moved to another connection is refused with one error reply, and the
    /// connection closes; the server goes on serving others.
    @Test func alteredReplayedAndMovedFramesAreRefused() throws {
        let (cluster, _) = try keyedCluster()
        defer { cluster.stop() }
        let port = cluster.viewLeaderPort
        let request: JSONValue = ["cmd": "query_servers"]

        var (first, firstSeal) = try handshake(port: port, key: reader)
        let sealed = sealedFrame(request, with: &firstSeal)
        try first.sendRaw(sealed, timeoutMs: 5_000)
        #expect(Reply.errorMessage(in: try openReply(first, &firstSeal)) == nil)
        try first.sendRaw(sealed, timeoutMs: 5_000)
        #expect(try refusal(first, &firstSeal).contains("authentication code does not match"), "a replay")

        var (second, secondSeal) = try handshake(port: port, key: reader)
        var altered = sealedFrame(request, with: &secondSeal)
        altered[10] ^= 0x01
        try second.sendRaw(altered, timeoutMs: 5_000)
        #expect(try refusal(second, &secondSeal).contains("authentication code does not match"), "an alteration")

        var (third, thirdSeal) = try handshake(port: port, key: reader)
        var (_, fourthSeal) = try handshake(port: port, key: reader)
        try third.sendRaw(sealedFrame(request, with: &fourthSeal), timeoutMs: 5_000)
        #expect(try refusal(third, &thirdSeal).contains("authentication code does not match"), "a moved frame")

        #expect(try cluster.viewLeaderClient().queryServers().servers.count == 3, "others are still served")
    }

    /// Issue 16: a newline in a heartbeat's requestor injected a fake `epoch 999: ... expired` line into the
    /// viewleader's log. Every logged field is escaped, keys or not.
    @Test func aLoggedFieldCannotForgeALogLine() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let forged = "evil\n2026-12-02T00:00:00.000Z viewleader info: epoch 999: server s2 expired"
        let connection = try FrameConnection(host: "127.0.0.1", port: cluster.viewLeaderPort, timeoutMs: 5_000,
                                             key: nil)
        _ = try connection.call(["cmd": "heartbeat", "requestor": .string(forged), "host": "127.0.0.1",
                                 "port": 45_678], timeoutMs: 5_000)
        _ = try cluster.waitForView { $0.servers.contains { $0.id == forged } }
        let lines = cluster.viewLeader.log.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("2026-12-02T00:00:00.000Z") }, "\(cluster.viewLeader.log)")
        #expect(lines.contains { $0.contains("evil\\n2026-12-02T00:00:00.000Z viewleader info: epoch 999") })
    }

    @Test func protectedModeRefusesToListenBeyondLoopbackWithoutKeys() throws {
        for executable in ["viewleader", "server"] {
            let result = try runTool(executable, ["--bind", "0.0.0.0", "--port", "0"])
            #expect(result.status == 64, "\(executable): \(result.stderr)")
            #expect(result.stderr.contains("refusing to listen on 0.0.0.0 without keys (protected mode)"))
            #expect(result.stderr.contains("--cluster-key-file") && result.stderr.contains("--insecure"))
        }
        let badFile = try runTool("server", ["--cluster-key-file", "/nonexistent/keys", "--port", "0"])
        #expect(badFile.status == 64 && badFile.stderr.contains("cannot use --cluster-key-file /nonexistent/keys"),
                "\(badFile.stderr)")
    }

    // MARK: Raw connections

    /// A connection that went through the handshake by hand, and its seal, for sending crafted frames.
    func handshake(port: Int, key: Key) throws -> (FrameConnection, FrameSeal) {
        let connection = try FrameConnection(host: "127.0.0.1", port: port, timeoutMs: 5_000, key: nil)
        let initiator = Handshake.Initiator(key: key, nonce: FrameServer.randomNonce())
        let challenge = try HandshakeMessages.challenge(
            in: connection.call(HandshakeMessages.encode(initiator.hello), timeoutMs: 5_000))
        let (proof, session) = try initiator.answer(challenge)
        try connection.send(HandshakeMessages.encode(proof), timeoutMs: 5_000)
        var seal = session.seal
        try HandshakeMessages.checkWelcome(try openReply(connection, &seal))
        return (connection, seal)
    }

    func sealedFrame(_ request: JSONValue, with seal: inout FrameSeal) -> [UInt8] {
        var bytes: [UInt8] = []
        FrameEncoder.append(request, to: &bytes) { body in seal.nextCode(for: body) }
        return bytes
    }

    func openReply(_ connection: FrameConnection, _ seal: inout FrameSeal) throws -> JSONValue {
        try JSONParser.parse(try seal.open(connection.receiveFrame(timeoutMs: 5_000))[...])
    }

    /// The error a refused frame got, after which the server closed the connection.
    func refusal(_ connection: FrameConnection, _ seal: inout FrameSeal) throws -> String {
        let message = Reply.errorMessage(in: try openReply(connection, &seal)) ?? "(no error)"
        #expect(throws: SocketError.closed) { _ = try connection.receiveFrame(timeoutMs: 5_000) }
        return message
    }
}
