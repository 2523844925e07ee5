import ClientKit
import Foundation
import Testing
import Wire

/// `--max-memory`: past it writes are refused by name before any replica applies them, reads and deletes go on,
/// and a drained server takes writes again.
@Suite(.serialized)
struct MemoryQuotaTests {
    @Test func writesPastTheQuotaAreRefusedAndReadsAndDeletesGoOn() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let quota = 16 << 20
        let ports = try (0..<3).map { _ in try cluster.startServer(arguments: ["--max-memory", "\(quota)"]).port }
        _ = try cluster.waitUntilSynced(servers: 3)
        let client = cluster.replicatedClient()
        let value = String(repeating: "m", count: 1_000_000)
        var acknowledged: [String] = []
        var refusal: String?
        // Three servers each hold every key (three replicas), so the quota is reached after about 16 values.
        for index in 0..<40 where refusal == nil {
            do {
                try client.setr("big-\(index)", value)
                acknowledged.append("big-\(index)")
            } catch {
                guard case .errorReply(let reason) = error else { throw error }
                refusal = reason
            }
        }
        let reason = try #require(refusal, "40 MB of writes were all accepted under a 16 MiB quota")
        #expect(reason.contains("out of memory"), "\(reason)")
        #expect(reason.contains("--max-memory"), "\(reason)")
        #expect((10...17).contains(acknowledged.count), "\(acknowledged.count) writes accepted")
        for key in acknowledged { #expect(try client.getr(key) == value, "\(key) is readable") }
        #expect(try client.getr("big-\(acknowledged.count)") == nil, "the refused write was not applied")
        // Classic writes count against the same quota.
        let classic = ServerClient(host: "127.0.0.1", port: ports[0], timeoutMs: 5_000)
        #expect(throws: ClientError.self) { try classic.set("classic", value) }
        // Deleting drains the server, and it takes writes again.
        for key in acknowledged.prefix(5) { try client.delr(key) }
        try client.setr("after-draining", value)
        #expect(try client.getr("after-draining") == value)
    }
}
