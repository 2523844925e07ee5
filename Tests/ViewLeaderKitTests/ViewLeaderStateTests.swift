import Foundation
import Testing
import Wire
@testable import ViewLeaderKit

struct ViewLeaderStateTests {
    func request(_ fields: JSONObject) throws -> Request { try Request(fields: fields) }

    func heartbeat(_ id: String, port: Int64) throws -> Request {
        try Request(fields: ["cmd": "heartbeat", "port": .integer(port), "requestor": .string(id)])
    }

    @Test func viewChangesAskToPersistBeforeAnythingElseAndPlainHeartbeatsDoNot() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        let (_, joinEffects) = try core.handle(heartbeat("a", port: 1), peerHost: "h", nowMs: 0)
        guard case .persist(let state) = joinEffects.first else {
            Issue.record("a join must be persisted first, got \(joinEffects)")
            return
        }
        #expect(state.epoch == 1)
        #expect(state.members == [.init(id: "a", address: "h:1")])
        #expect(joinEffects.last == .announce(epoch: 1, addresses: ["h:1"]), "every live server is told at once")
        let (_, repeatEffects) = try core.handle(heartbeat("a", port: 1), peerHost: "h", nowMs: 10)
        #expect(repeatEffects.isEmpty)
        // A bystander z heartbeats on, so a's silence is a's failure, not this viewleader's isolation.
        _ = try core.handle(try request(["cmd": "heartbeat", "port": 1, "requestor": "z", "addr": "z"]), peerHost: "h",
                            nowMs: 10)
        let expiry = try core.tick(after: 10, through: 5_000, whileHeartbeating: "z")
        #expect(expiry.first == .persist(ViewLeaderState(epoch: 3, members: [.init(id: "z", address: "z:1")],
                                                         expiredIDs: ["a"])))
        #expect(try core.tick(after: 5_000, through: 6_000, whileHeartbeating: "z").isEmpty)
    }

    @Test func restoredCoreContinuesTheEpochRemembersMembersAndDenies() throws {
        let saved = ViewLeaderState(epoch: 7, members: [.init(id: "live", address: "h:1")], expiredIDs: ["gone"])
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000, restoring: saved, nowMs: 50_000)
        #expect(core.membership.epoch == 7)
        let (reply, effects) = try core.handle(heartbeat("live", port: 1), peerHost: "h", nowMs: 50_100)
        #expect(reply.objectValue?["epoch"] == 7, "the only restored member confirmed the view, so it is renewed")
        #expect(effects == [.log("restored view of epoch 7 confirmed: 1 server(s) heard since the restart, none at a "
            + "later epoch")])
        let (denied, _) = try core.handle(heartbeat("gone", port: 2), peerHost: "h", nowMs: 50_200)
        #expect(denied.objectValue?["status"] == "deny")
        let (joined, _) = try core.handle(heartbeat("new", port: 3), peerHost: "h", nowMs: 50_300)
        #expect(joined.objectValue?["epoch"] == 8)
    }

    @Test func restoredMembersGetAFreshLeaseThenExpireIfSilent() throws {
        let saved = ViewLeaderState(epoch: 3, members: [.init(id: "s", address: "h:1"), .init(id: "z", address: "z:1")],
                                    expiredIDs: [])
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000, restoring: saved, nowMs: 10_000)
        #expect(try core.tick(after: 10_000, through: 10_900, whileHeartbeating: "z")
            == [.log("restored view of epoch 3 confirmed: 1 server(s) heard since the restart, none at a later epoch")],
            "half a lease after the restart, with z heard and no one ahead, the restored view stands")
        #expect(try core.tick(after: 10_900, through: 11_001, whileHeartbeating: "z").first
            == .persist(ViewLeaderState(epoch: 4, members: [.init(id: "z", address: "z:1")], expiredIDs: ["s"])))
    }

    @Test func stateFileRoundTripsAndRejectsGarbage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = StateFile(directory: directory.path, port: 39_000)
        #expect(try file.load() == nil)
        let state = ViewLeaderState(epoch: 12, members: [.init(id: "a", address: "h:1"), .init(id: "b", address: "h:2")],
                                    expiredIDs: ["x", "y"])
        try file.save(state)
        #expect(try file.load() == state)
        // Incarnations of servers that keep their ID, for members and for expired IDs alike; an ID may be a member
        // again as a later incarnation than the one that expired.
        let restarted = ViewLeaderState(epoch: 13, members: [.init(id: "a", address: "h:1", incarnation: 4)],
                                        expiredIDs: [.init(id: "a", incarnation: 3), "x",
                                                     .init(id: "y", incarnation: 9)])
        try file.save(restarted)
        #expect(try file.load() == restarted)
        try Data("{\"epoch\": -1}".utf8).write(to: URL(fileURLWithPath: file.path))
        #expect(throws: StateFileError.self) { try file.load() }
    }

    /// Every invariant the viewleader relies on is checked at load, and the error names the file and the problem.
    @Test(arguments: [
        (#"[]"#, "expected an object"),
        (#"{"epoch": "7", "members": [], "expired_ids": []}"#, "\"epoch\" must be an integer"),
        (#"{"epoch": -1, "members": [], "expired_ids": []}"#, "out of range"),
        (#"{"epoch": 1, "members": {}, "expired_ids": []}"#, "\"members\" must be a list"),
        (#"{"epoch": 1, "members": []}"#, "\"expired_ids\" must be a list"),
        (#"{"epoch": 1, "members": [{"id": "a"}], "expired_ids": []}"#, "lacks a string id or address"),
        (#"{"epoch": 1, "members": [{"id": "", "address": "h:1"}], "expired_ids": []}"#, "invalid id"),
        (#"{"epoch": 1, "members": [{"id": "a", "address": "no port"}], "expired_ids": []}"#, "invalid address"),
        (#"{"epoch": 1, "members": [{"id": "a", "address": "h:1"}, {"id": "a", "address": "h:2"}], "expired_ids": []}"#,
         "appears twice"),
        (#"{"epoch": 1, "members": [{"id": "a", "address": "h:1"}, {"id": "b", "address": "h:1"}], "expired_ids": []}"#,
         "share the address"),
        (#"{"epoch": 1, "members": [{"id": "a", "address": "h:1"}], "expired_ids": ["a"]}"#, "both a member and expired"),
        (#"{"epoch": 1, "members": [], "expired_ids": [7]}"#, "not a valid server ID"),
        (#"{"epoch": 1, "members": [{"id": "a", "address": "h:1", "incarnation": 2}], "expired_ids": ["a"], "#
            + #""expired_incarnations": {"a": 2}}"#, "both a member and expired"),
        (#"{"epoch": 1, "members": [{"id": "a", "address": "h:1", "incarnation": -1}], "expired_ids": []}"#,
         "incarnation that is not an integer of 0 or more"),
        (#"{"epoch": 1, "members": [], "expired_ids": ["a"], "expired_incarnations": {"b": 1}}"#,
         "which is not an expired ID"),
        (#"{"epoch": 1, "members": [], "expired_ids": ["a"], "expired_incarnations": {"a": "1"}}"#,
         "invalid incarnation"),
        (#"{"epoch": 1, "members": [], "expired_ids": ["a", "a"]}"#, "appears twice"),
        (#"{"epoch": 1, "members": [], "#, "the state file is not viewleader state"),
    ])
    func aStateFileThatBreaksAnInvariantIsRefusedByName(_ text: String, _ problem: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = StateFile(directory: directory.path, port: 39_000)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file.path))
        do {
            _ = try file.load()
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(file.path), "\(error)")
            #expect(error.description.contains(problem), "\(error)")
        }
    }

    @Test func aStateDirectoryThatCannotBeWrittenIsFoundAtStartUp() throws {
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("kv-file-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: blocker) }
        try Data("not a directory".utf8).write(to: blocker)
        let file = StateFile(directory: blocker.appendingPathComponent("state").path, port: 39_000)
        #expect(throws: StateFileError.self) { try file.checkWritable() }
        let writable = StateFile(directory: FileManager.default.temporaryDirectory
            .appendingPathComponent("kv-state-\(UUID().uuidString)").path, port: 39_000)
        defer { try? FileManager.default.removeItem(atPath: (writable.path as NSString).deletingLastPathComponent) }
        try writable.checkWritable()
        #expect(try writable.load() == nil, "the probe leaves nothing behind")
    }

    @Test func queryServersReportsRingPositionsAndTheRingSize() throws {
        var core = ViewLeaderCore(leaseMs: 1_000, lockWaiterTimeoutMs: 1_000)
        _ = try core.handle(heartbeat("server-a", port: 1), peerHost: "h", nowMs: 0)
        let (reply, _) = try core.handle(Request(fields: ["cmd": "query_servers"]), peerHost: "h", nowMs: 0)
        #expect(reply.objectValue?["ring_size"] == 10_000)
        #expect(reply.objectValue?["servers"]?.arrayValue?.first?.objectValue?["position"] == 6_170)
    }
}
