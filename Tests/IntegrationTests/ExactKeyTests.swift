import ClientKit
import Foundation
import Testing
import Wire

/// Keys are byte strings end to end: "é" as one code point and as "e" plus a combining accent are two keys in
/// the classic store and in the replicated store, and both are listed.
@Suite(.serialized)
struct ExactKeyTests {
    static let composed = "caf\u{E9}"
    static let decomposed = "cafe\u{301}"

    @Test func canonicallyEquivalentKeysAreTwoKeysInBothStores() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let ports = try (0..<3).map { _ in try cluster.startServer().port }
        _ = try cluster.waitUntilSynced(servers: 3)
        let classic = ServerClient(host: "127.0.0.1", port: ports[0], timeoutMs: 5_000)
        try classic.set(Self.composed, "classic composed")
        try classic.set(Self.decomposed, "classic decomposed")
        #expect(try classic.get(Self.composed) == "classic composed")
        #expect(try classic.get(Self.decomposed) == "classic decomposed")
        let client = cluster.replicatedClient()
        try client.setr(Self.composed, "replicated composed")
        try client.setr(Self.decomposed, "replicated decomposed")
        #expect(try client.getr(Self.composed) == "replicated composed")
        #expect(try client.getr(Self.decomposed) == "replicated decomposed")
        let listed = try classic.queryAllKeys().map { Array($0.utf8) }
        #expect(listed.contains(Array(Self.composed.utf8)) && listed.contains(Array(Self.decomposed.utf8)))
    }
}
