import ClientKit
import Foundation
import Glibc
import Testing
import Wire

/// Real servers killed and paused with real signals: the viewleader's timer expires them and frees their locks.
@Suite(.serialized)
struct MembershipFailureTests {
    @Test func killedServerExpiresAdvancesTheEpochAndLosesItsLocks() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let first = try cluster.startServer()
        let second = try cluster.startServer()
        let view = try cluster.waitForView { $0.servers.count == 2 }
        #expect(view.epoch == 2)
        let locks = cluster.viewLeaderClient()
        #expect(try locks.lockGet("by-id", requestor: first.id) == .granted)
        #expect(try locks.lockGet("by-address", requestor: "127.0.0.1:\(first.port)") == .granted)
        #expect(try locks.lockGet("by-id", requestor: "waiting-client") == .waiting(position: 1))
        #expect(try locks.lockGet("queued", requestor: "someone") == .granted)
        #expect(try locks.lockGet("queued", requestor: first.id) == .waiting(position: 1))

        first.process.kill(SIGKILL)
        // Nobody sends a request meanwhile: the viewleader's own timer must notice.
        Thread.sleep(forTimeInterval: LocalCluster.leaseSeconds + 1.0)
        let after = try locks.queryServers()
        #expect(after.epoch == 3)
        #expect(after.servers.map(\.id) == [second.id])
        #expect(try locks.lockGet("by-id", requestor: "waiting-client") == .granted)
        #expect(try locks.lockGet("by-address", requestor: "newcomer") == .granted)
        #expect(try locks.lockRelease("queued", requestor: first.id) == false, "its place in the queue is gone")
        #expect(cluster.viewLeader.log.contains("epoch 3: server \(first.id)"))
    }

    @Test func serverPausedPastItsLeaseIsDeniedAndRejoinsUnderAFreshID() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        // A bystander heartbeats throughout: the viewleader expires a silent server only while it hears others
        // (total silence reads as its own isolation).
        let bystander = try cluster.startServer()
        let server = try cluster.startServer()
        _ = try cluster.waitForView { Set($0.servers.map(\.id)) == [bystander.id, server.id] }
        server.process.signal(SIGSTOP)
        _ = try cluster.waitForView { $0.servers.map(\.id) == [bystander.id] && $0.epoch == 3 }
        server.process.signal(SIGCONT)
        let freshID = try server.process.waitForLine(prefix: "server id: ", after: 1)
        #expect(freshID != server.id)
        let view = try cluster.waitForView { Set($0.servers.map(\.id)) == [bystander.id, freshID] }
        #expect(view.epoch == 4)
        #expect(server.process.log.contains("denied server \(server.id)"))
    }

    @Test func serverStopsCleanlyOnSIGTERMAndSIGINT() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let byTerm = try cluster.startServer()
        let byInt = try cluster.startServer()
        byTerm.process.signal(SIGTERM)
        byInt.process.signal(SIGINT)
        #expect(byTerm.process.waitForExit() == 0)
        #expect(byInt.process.waitForExit() == 0)
        cluster.viewLeader.signal(SIGTERM)
        #expect(cluster.viewLeader.waitForExit() == 0)
    }

    @Test func epochCountsEveryJoinAndExpiry() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let servers = try (0..<3).map { _ in try cluster.startServer() }
        _ = try cluster.waitForView { $0.servers.count == 3 && $0.epoch == 3 }
        servers[0].process.kill(SIGKILL)
        servers[1].process.kill(SIGKILL)
        let view = try cluster.waitForView { $0.servers.count == 1 }
        #expect(view.epoch == 5)
        #expect(view.servers.map(\.id) == [servers[2].id])
    }
}
