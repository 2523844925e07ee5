import ClientKit
import Foundation
import Testing
import Wire

/// Keys and values at their limits go through replication and a rebalance, and one over is refused by name.
@Suite(.serialized)
struct SizeLimitTests {
    /// The finding: a pull page always took the entry in hand, so 1 KB values followed by a 900 KB one made a page
    /// over the frame limit, which the puller refused and asked for again forever; the new server never synced.
    @Test func valuesUpToTheLimitReplicateAndMoveWhenServersJoin() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        for _ in 0..<3 { try cluster.startServer() }
        _ = try cluster.waitUntilSynced(servers: 3)
        let client = cluster.replicatedClient()
        let limits = RecordLimits.standard
        var written: [String: String] = [:]
        for index in 0..<600 { written["small-\(index)"] = String(repeating: "s", count: 1_000) }
        for index in 0..<4 { written["large-\(index)"] = String(repeating: "l", count: 900_000) }
        // Exactly the limit, counted as JSON text: each newline is written as two bytes.
        written["largest"] = String(repeating: "\n", count: 10)
            + String(repeating: "m", count: limits.valueBytesMax - 20)
        written[String(repeating: "k", count: RecordLimits.keyBytesMax)] = "longest key"
        for (key, value) in written { try client.setr(key, value) }
        #expect(throws: ReplicatedError.self) {
            try client.setr("over", String(repeating: "o", count: limits.valueBytesMax + 1))
        }
        #expect(try client.getr("over") == nil, "a refused write changes nothing")

        try cluster.startServer()
        try cluster.startServer()
        let five = try cluster.waitUntilSynced(servers: 5)
        var wrong: [String] = []
        for (key, value) in written where try client.getr(key) != value { wrong.append(String(key.prefix(20))) }
        #expect(wrong.isEmpty, "\(wrong.count) keys read back wrong, first: \(wrong.prefix(5))")
        let problems = try cluster.placementProblems(keys: written.keys, view: five)
        #expect(problems.isEmpty, "\(problems.count) misplaced, first: \(problems.prefix(3))")
    }
}
