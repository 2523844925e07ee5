import ClientKit
import Foundation
import Glibc
import Testing
import Wire

/// The viewleader killed with SIGKILL and restarted loses nothing: epochs never go backwards and the
/// membership it had is not forgotten.
@Suite(.serialized)
struct ViewLeaderRestartTests {
    @Test func restartedViewLeaderKeepsItsEpochMembersAndDenials() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let survivor = try cluster.startServer()
        let doomed = try cluster.startServer()
        _ = try cluster.waitForView { $0.servers.count == 2 }
        doomed.process.kill(SIGKILL)
        let before = try cluster.waitForView { $0.servers.map(\.id) == [survivor.id] }
        #expect(before.epoch == 3)

        try cluster.restartViewLeader()
        let after = try cluster.viewLeaderClient().queryServers()
        #expect(after.epoch == before.epoch, "no epoch is reused or skipped by the restart alone")
        #expect(after.servers.map(\.id) == [survivor.id], "the live server is remembered without rejoining")
        // The survivor keeps heartbeating under the same ID, so the view does not change for several leases.
        Thread.sleep(forTimeInterval: LocalCluster.leaseSeconds * 2)
        let settled = try cluster.viewLeaderClient().queryServers()
        #expect(settled.epoch == before.epoch)
        #expect(settled.servers.map(\.id) == [survivor.id])
        // The expired ID is still denied after the restart.
        let connection = try rawConnection(port: cluster.viewLeaderPort)
        let reply = try connection.call(["cmd": "heartbeat", "port": 1, "requestor": .string(doomed.id)],
                                        timeoutMs: 5_000)
        #expect(reply.objectValue?["status"] == "deny")
        #expect(cluster.viewLeader.log.contains("restored epoch 3 with 1 server(s)"))
    }

    @Test func serversThatDiedWhileTheViewLeaderWasDownExpireAfterItRestarts() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let survivor = try cluster.startServer()
        let server = try cluster.startServer()
        _ = try cluster.waitForView { $0.servers.count == 2 }
        cluster.viewLeader.kill(SIGKILL)
        server.process.kill(SIGKILL)
        try cluster.restartViewLeader()
        let view = try cluster.waitForView { $0.servers.map(\.id) == [survivor.id] }
        #expect(view.epoch == 3)
    }

    @Test func unreadableStateFileStopsStartUpWithAClearMessage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let probe = try Socket.listen(host: "127.0.0.1", port: 0)
        let port = Socket.localPort(probe)
        close(probe)
        try Data("not json".utf8).write(to: directory.appendingPathComponent("viewleader-\(port).json"))
        let result = try runTool("viewleader", ["--port", String(port), "--state-dir", directory.path])
        #expect(result.status == 71)
        #expect(result.stderr.contains("state file"))
        #expect(result.stderr.contains("--state-dir"))
    }
}
