import ClientKit
import Foundation
import Glibc
import Testing
import Transport
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

    @Test func anUnwritableStateDirectoryStopsStartUpAtOnceWithTheReason() throws {
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("kv-file-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: blocker) }
        try Data("a file, not a directory".utf8).write(to: blocker)
        let result = try runTool("viewleader", ["--port", "0", "--state-dir", blocker.appendingPathComponent("x").path])
        #expect(result.status == 71)
        #expect(result.stderr.contains("cannot create the state directory"), "\(result.stderr)")
        #expect(result.stderr.contains("--state-dir"))
        #expect(!result.stdout.contains("listening on"), "it never served")
    }

    /// Writes `count` keys through the library; returns each key's value.
    func writeKeys(_ cluster: LocalCluster, count: Int, prefix: String) throws -> [String: String] {
        let client = cluster.replicatedClient()
        var written: [String: String] = [:]
        for index in 0..<count {
            try client.setr("\(prefix)-\(index)", "value-\(index)")
            written["\(prefix)-\(index)"] = "value-\(index)"
        }
        return written
    }

    func expectReadBack(_ written: [String: String], _ cluster: LocalCluster) throws {
        let client = cluster.replicatedClient()
        let wrong = try written.sorted { $0.key < $1.key }.filter { try client.getr($0.key) != $0.value }.map(\.key)
        #expect(wrong.isEmpty, "\(wrong.count) acknowledged keys lost, first: \(wrong.prefix(5))")
    }

    /// Waits for a synced view of `count` servers whose epoch is above `epoch`.
    func waitUntilAbove(_ epoch: Int64, servers count: Int, _ cluster: LocalCluster) throws -> ViewDescription {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let view = try cluster.waitUntilSynced(servers: count)
            if view.epoch > epoch { return view }
            usleep(50_000)
        }
        throw HarnessError.timedOut("the view never rose above epoch \(epoch):\n\(cluster.viewLeader.log)")
    }

    /// Started with an empty --state-dir while the servers of its earlier life run on: the viewleader hears them
    /// report a later epoch, moves above it, and the cluster serves every acknowledged key again by itself.
    @Test func aViewLeaderRestartedWithoutItsStateMovesAboveTheClustersEpochAndLosesNothing() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<4 { try cluster.startServer() }
        let before = try cluster.waitUntilSynced(servers: 4)
        try cluster.waitUntilServing(before)
        let written = try writeKeys(cluster, count: 200, prefix: "empty")

        let emptyState = cluster.directory.appendingPathComponent("empty-state")
        try cluster.restartViewLeader(stateDirectory: emptyState)
        let after = try waitUntilAbove(before.epoch, servers: 4, cluster)
        #expect(Set(after.servers.map(\.id)) == Set(before.servers.map(\.id)), "the same servers, data and all")
        try expectReadBack(written, cluster)
        try cluster.replicatedClient().setr("after-restart", "ok")
        #expect(cluster.viewLeader.log.contains("older than the cluster's"), "the log says plainly what happened")
    }

    /// Restarted from a state file older than the cluster (epoch 2 of a cluster at epoch 5), the viewleader does the
    /// same: no epoch is handed out twice, and no acknowledged write is lost.
    @Test func aViewLeaderRestartedFromAnOlderStateFileMovesAboveTheClustersEpochAndLosesNothing() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let first = try cluster.startServer()
        try cluster.startServer()
        _ = try cluster.waitUntilSynced(servers: 2)
        let older = try Data(contentsOf: cluster.stateFile)
        try cluster.startServer()
        try cluster.startServer()
        _ = try cluster.waitUntilSynced(servers: 4)
        first.process.kill(SIGKILL)
        let before = try cluster.waitUntilSynced(servers: 3)
        try cluster.waitUntilServing(before)
        #expect(before.epoch == 5)
        let written = try writeKeys(cluster, count: 200, prefix: "older")

        let olderState = cluster.directory.appendingPathComponent("older-state")
        try FileManager.default.createDirectory(at: olderState, withIntermediateDirectories: true)
        try older.write(to: olderState.appendingPathComponent(cluster.stateFile.lastPathComponent))
        try cluster.restartViewLeader(stateDirectory: olderState)
        let after = try waitUntilAbove(before.epoch, servers: 3, cluster)
        #expect(Set(after.servers.map(\.id)) == Set(before.servers.map(\.id)))
        try expectReadBack(written, cluster)
        try cluster.replicatedClient().setr("after-restart", "ok")
        #expect(cluster.viewLeader.log.contains("older than the cluster's"))
    }
}
