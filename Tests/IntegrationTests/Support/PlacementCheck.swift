import ClientKit
import Foundation
import Glibc
import Placement
import Transport
import Wire

extension LocalCluster {
    /// The raw view, with each server's synced epoch.
    func viewDescription() throws -> ViewDescription {
        let connection = try rawConnection(port: viewLeaderPort)
        defer { connection.close() }
        return try ViewDescription(reply: connection.call(["cmd": "query_servers"], timeoutMs: 5_000))
    }

    /// Waits until `count` servers are live and every one has synced the current epoch.
    func waitUntilSynced(servers count: Int, timeoutMs: Int = 20_000) throws -> ViewDescription {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        var last: ViewDescription?
        while Date() < deadline {
            if let view = try? viewDescription() {
                last = view
                if view.servers.count == count && view.everyoneSyncedTo == view.epoch { return view }
            }
            usleep(50_000)
        }
        throw HarnessError.timedOut("cluster never settled with \(count) synced servers; last view: "
            + "\(String(describing: last))")
    }

    /// Waits until every server of `view` serves the keys it is primary for. A moved range is served only once
    /// every server's next heartbeat has told it that all of them synced, a moment after `waitUntilSynced`; a
    /// read routed to each primary, retried by the client library until served, waits for exactly that.
    func waitUntilServing(_ view: ViewDescription) throws {
        let ring = HashRing(memberIDs: view.servers.map(\.id), ringSize: view.ringSize)
        let client = replicatedClient()
        for server in view.servers {
            guard let key = (0..<10_000).lazy.map({ "probe-\($0)" }).first(where: { ring.primary(forKey: $0) == server.id })
            else { continue }
            _ = try client.getr(key)
        }
    }

    /// Every server's `query_all_keys`, by server ID.
    func keysByServer(_ view: ViewDescription) throws -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for server in view.servers {
            let (host, port) = splitAddress(server.address)!
            let connection = try FrameConnection(host: host, port: port, timeoutMs: 5_000)
            defer { connection.close() }
            let reply = try connection.call(["cmd": "query_all_keys"], timeoutMs: 5_000)
            result[server.id] = Set(reply.objectValue?["result"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        return result
    }

    /// Waits until each key sits on exactly its replicas in the settled view (leftovers are dropped a heartbeat
    /// after everyone syncs); returns the problems still seen at the deadline, empty when placement is exact.
    func placementProblems(keys: some Collection<String>, view: ViewDescription, timeoutMs: Int = 10_000) throws
        -> [String]
    {
        let ring = HashRing(memberIDs: view.servers.map(\.id), ringSize: view.ringSize)
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        var problems: [String] = []
        repeat {
            problems = []
            let held = try keysByServer(view)
            for key in keys {
                let expected = Set(ring.replicaSet(forKey: key))
                let actual = Set(held.filter { $0.value.contains(key) }.keys)
                if expected != actual { problems.append("\(key): on \(actual.sorted()), expected \(expected.sorted())") }
            }
            if problems.isEmpty { return [] }
            usleep(100_000)
        } while Date() < deadline
        return problems
    }

    func replicatedClient() -> ReplicatedClient {
        ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: viewLeaderPort, timeoutMs: 2_000,
                         retryBudgetMs: 20_000)
    }
}
