import Placement
import Testing
import Wire
@testable import ServerKit

/// The replica node driven by hand: heartbeats, views, peer answers and alarms as plain events.
struct ReplicaNodeTests {
    static let description = ViewDescription(epoch: 1, ringSize: 10_000, servers: ["a", "b", "c"].map {
        ViewDescription.Server(id: $0, address: "h:\($0)", syncedEpoch: -1)
    })

    /// The calls among `actions`, by ID.
    static func calls(_ actions: [ReplicaAction]) -> [(id: CallID, address: String, message: JSONValue)] {
        actions.compactMap {
            if case .call(let id, let address, let message) = $0 { return (id, address, message.json) }
            return nil
        }
    }

    /// Replies as the peer reads them, JSON.
    static func replies(_ actions: [ReplicaAction]) -> [RequestToken: JSONValue] {
        var replies: [RequestToken: JSONValue] = [:]
        for case .reply(let token, let reply) in actions { replies[token] = reply.json }
        return replies
    }

    static let emptyPage: JSONValue = ["status": "ok", "entries": [], "more": false]

    /// Node "a" in epoch 1 of {a, b, c}, synced with everyone, holding a lease until 10 s.
    static func ready() throws -> ReplicaNode {
        var node = ReplicaNode(serverID: "a")
        let first = node.heartbeatAccepted(sentMs: 0, epoch: 1, leaseMs: 10_000, allSyncedEpoch: -1)
        #expect(first == [.publishKnownEpoch(1), .fetchView])
        let last = answerEveryPull(&node, startingWith: node.viewFetched(description, nowMs: 0), epoch: 1)
        #expect(last.first == .publishSyncedEpoch(1))
        // The next heartbeat reply says every member has synced too: moved ranges may be served from now on.
        #expect(node.heartbeatAccepted(sentMs: 0, epoch: 1, leaseMs: 10_000, allSyncedEpoch: 1).isEmpty)
        return node
    }

    /// Answers each pull with an empty page, one peer after another, until none is asked; returns the last actions.
    static func answerEveryPull(_ node: inout ReplicaNode, startingWith actions: [ReplicaAction], epoch: Int64)
        -> [ReplicaAction]
    {
        var last = actions
        var asked: [String] = []
        while let pull = calls(last).first {
            #expect(calls(last).count == 1, "peers are pulled from one at a time")
            asked.append(pull.address)
            last = node.peerAnswered(pull.id, reply: emptyPage, nowMs: 1)
        }
        #expect(asked.sorted() == ["h:b", "h:c"], "every other member is asked once")
        return last
    }

    static func setr(_ key: String, _ value: String) throws -> Request {
        try Request(fields: ["cmd": "setr", "key": .string(key), "val": .string(value), "epoch": 1])
    }

    /// A key node "a" is primary of in epoch 1.
    static let key = (0..<10_000).lazy.map { "k\($0)" }.first {
        ServerView(epoch: 1, addresses: ["a": "", "b": "", "c": ""]).ring.primary(forKey: $0) == "a"
    }!

    /// The simulator found it: a node restarted under a fresh ID went back to the default frame's limits.
    @Test func aRestartedNodeKeepsItsRecordLimits() {
        let limits = RecordLimits(frameBytesMax: RecordLimits.frameBytesMin)
        var node = ReplicaNode(serverID: "a", recordLimits: limits)
        _ = node.restart(as: "b")
        #expect(node.serverID == "b")
        #expect(node.recordLimits == limits)
    }

    @Test func writeIsAnsweredOnlyAfterBothBackupsAccept() throws {
        var node = try Self.ready()
        let token = RequestToken(7)
        let sent = Self.calls(try node.handle(Self.setr(Self.key, "v"), token: token, nowMs: 1))
        #expect(sent.count == 2 && sent.allSatisfy { $0.message.objectValue?["cmd"] == "replicate" })
        #expect(node.peerAnswered(sent[0].id, reply: Reply.ok, nowMs: 1).isEmpty, "one backup is not enough")
        #expect(Self.replies(node.peerAnswered(sent[1].id, reply: Reply.ok, nowMs: 1)) == [token: Reply.ok])
        let read = try node.handle(Request(fields: ["cmd": "getr", "key": .string(Self.key), "epoch": 1]),
                                   token: RequestToken(8), nowMs: 2)
        #expect(Self.replies(read)[RequestToken(8)]?.objectValue?["value"] == "v")
    }

    @Test func aBackupThatDoesNotAnswerMakesTheWriteMaybeApplied() throws {
        var node = try Self.ready()
        let sent = Self.calls(try node.handle(Self.setr(Self.key, "v"), token: RequestToken(1), nowMs: 1))
        _ = node.peerAnswered(sent[0].id, reply: Reply.ok, nowMs: 1)
        let reply = Self.replies(node.peerAnswered(sent[1].id, reply: nil, nowMs: 1))[RequestToken(1)]
        #expect(reply?.objectValue?["status"] == "retry" && reply?.objectValue?["maybe_applied"] == true)
        let read = try node.handle(Request(fields: ["cmd": "getr", "key": .string(Self.key), "epoch": 1]),
                                   token: RequestToken(2), nowMs: 2)
        #expect(Self.replies(read)[RequestToken(2)] == Reply.status("not_found"), "never committed")
    }

    /// Partial partitions: a backup that leaves a `replicate` unanswered for a whole call time is reported to the
    /// viewleader (and logged, once per episode); the write's refusal names it; a quick failure (a reset
    /// connection) is not evidence of a cut; an answer ends the episode.
    @Test func aBackupSilentForACallTimeIsReportedAndNamedInTheRefusal() throws {
        var node = try Self.ready()
        func write(_ token: UInt64, at nowMs: Int64) throws -> (silent: CallID, answering: CallID) {
            let sent = Self.calls(try node.handle(Self.setr(Self.key, "v\(token)"), token: RequestToken(token),
                                                  nowMs: nowMs))
            let silent = try #require(sent.first { $0.address == "h:c" })
            let answering = try #require(sent.first { $0.address == "h:b" })
            _ = node.peerAnswered(answering.id, reply: Reply.ok, nowMs: nowMs)
            return (silent.id, answering.id)
        }
        let reset = try write(1, at: 1_000)
        let quick = node.peerAnswered(reset.silent, reply: nil, nowMs: 1_005)
        #expect(!quick.contains { if case .reportSuspect = $0 { true } else { false } }, "a reset is not a cut")
        _ = node.peerAnswered(try write(2, at: 1_010).silent, reply: Reply.ok, nowMs: 1_020)
        let first = try write(3, at: 2_000)
        let timedOut = node.peerAnswered(first.silent, reply: nil, nowMs: 3_000)
        #expect(timedOut.contains(.reportSuspect(peer: "c", epoch: 1, unreachableMs: 1_000)), "\(timedOut)")
        #expect(timedOut.contains {
            if case .log(let line) = $0 { line.hasPrefix("cannot reach peer c") } else { false }
        })
        let refusal = try #require(Self.replies(timedOut)[RequestToken(3)]?.objectValue)
        #expect(refusal["status"] == "retry" && refusal["maybe_applied"] == true)
        #expect(refusal["error"]?.stringValue?.hasPrefix("backup c did not answer within 1000 ms") == true,
                "\(refusal)")
        // Still unreachable: reported again after the interval, without another log line.
        let second = node.peerAnswered(try write(4, at: 3_010).silent, reply: nil, nowMs: 4_010)
        #expect(second.contains(.reportSuspect(peer: "c", epoch: 1, unreachableMs: 2_010)), "\(second)")
        #expect(!second.contains { if case .log = $0 { true } else { false } })
        let healed = node.peerAnswered(try write(5, at: 4_100).silent, reply: Reply.ok, nowMs: 4_110)
        #expect(healed.contains(.log("peer c answers again after 2110 ms unreachable; withdrawing the report")))
        #expect(healed.contains(.reportSuspect(peer: "c", epoch: 1, unreachableMs: 0)), "the report is withdrawn")
        // A call sent before one the peer answered, and failed later (lost, or reset), is no evidence.
        let earlier = try write(6, at: 5_000)
        _ = node.peerAnswered(try write(7, at: 5_100).silent, reply: Reply.ok, nowMs: 5_110)
        let stale = node.peerAnswered(earlier.silent, reply: nil, nowMs: 6_000)
        #expect(!stale.contains { if case .reportSuspect = $0 { true } else { false } }, "\(stale)")
    }

    @Test func pullsFollowPagesRetryAfterAFailureAndTellLaterPeersWhatIsHeld() throws {
        var node = ReplicaNode(serverID: "a")
        _ = node.heartbeatAccepted(sentMs: 0, epoch: 1, leaseMs: 10_000, allSyncedEpoch: -1)
        let first = try #require(Self.calls(node.viewFetched(Self.description, nowMs: 0)).first)
        #expect(first.message.objectValue?["have"] == nil, "an empty store holds nothing to skip")
        let peer = String(first.address.dropFirst(2))
        let page: JSONValue = ["status": "ok", "more": true,
                               "entries": [["key": .string(Self.key), "val": "old", "version": [0, 1]]]]
        let next = Self.calls(node.peerAnswered(first.id, reply: page, nowMs: 1))
        #expect(next.count == 1 && next[0].address == first.address)
        #expect(next[0].message.objectValue?["after"] == JSONValue.string(Self.key))
        // A failed pull is retried, and the first failure from a peer in a sync is logged: a stall is never silent.
        #expect(node.peerAnswered(next[0].id, reply: nil, nowMs: 1) == [
            .log("syncing epoch 1: pull from \(peer) failed (no answer); retrying every 50 ms"),
            .wake(afterMs: ReplicaNode.pullRetryMs, .retryPull(peer: peer, epoch: 1, after: Self.key)),
        ])
        let again = Self.calls(node.wake(.retryPull(peer: peer, epoch: 1, after: Self.key), nowMs: 0))
        #expect(again.map { $0.address } == [first.address])
        let second = Self.calls(node.peerAnswered(again[0].id, reply: Self.emptyPage, nowMs: 1))
        #expect(second.count == 1 && second[0].address != first.address, "then the other peer")
        let position = Int64(HashRing.position(of: Self.key))
        let have = second[0].message.objectValue?["have"]?.arrayValue ?? []
        #expect(have.count == 1 && have.first?.arrayValue?.first == .integer(position) && have.first?.arrayValue?[1] == 1,
                "the next peer hears which position is held already, so it can skip it if it holds the same")
        #expect(node.peerAnswered(second[0].id, reply: Self.emptyPage, nowMs: 1).first == .publishSyncedEpoch(1))
        #expect(node.core.store[Self.key]?.value == "old", "pulled entries are merged as they arrive")
    }

    @Test func aPullWithAMalformedHaveListIsRefusedNamingTheField() throws {
        var node = try Self.ready()
        for have: JSONValue in ["x", [[1, 2]], [[10_000, 1, 5]], [[1, -1, 5]]] {
            let pull = try Request(fields: ["cmd": "pull", "epoch": 1, "ranges": [[0, 9_999]], "have": have])
            #expect(throws: RequestError.self) { try node.handle(pull, token: RequestToken(1), nowMs: 0) }
            do {
                _ = try node.handle(pull, token: RequestToken(1), nowMs: 0)
            } catch {
                #expect(error.description.contains("have"), "\(error)")
            }
        }
    }

    @Test func viewFetchesRequestedWhileOneIsInFlightBecomeOneMore() throws {
        var node = try Self.ready()
        let change = try Request(fields: ["cmd": "view_change", "epoch": 2])
        #expect(try node.handle(change, token: RequestToken(1), nowMs: 0)
            == [.reply(RequestToken(1), .ok), .publishKnownEpoch(2), .fetchView])
        #expect(try node.handle(change, token: RequestToken(2), nowMs: 0) == [.reply(RequestToken(2), .ok)])
        #expect(node.viewFetched(nil, nowMs: 0) == [.wake(afterMs: ReplicaNode.viewFetchRetryMs, .refetchView)])
        #expect(node.wake(.refetchView, nowMs: 0) == [.fetchView])
    }

    @Test func restartAnswersWaitingWritesAsMaybeAppliedAndForgetsEverything() throws {
        var node = try Self.ready()
        let sent = Self.calls(try node.handle(Self.setr(Self.key, "v"), token: RequestToken(3), nowMs: 1))
        let actions = node.restart(as: "z")
        #expect(Self.replies(actions)[RequestToken(3)]?.objectValue?["maybe_applied"] == true)
        #expect(actions.suffix(2) == [.publishSyncedEpoch(-1), .publishView(nil)])
        #expect(node.knownEpoch == 1, "a restart under a fresh ID still knows which epochs exist")
        #expect(node.serverID == "z" && node.core.view.epoch == -1)
        #expect(node.peerAnswered(sent[0].id, reply: Reply.ok, nowMs: 1).isEmpty, "answers to the old incarnation are ignored")
    }

    /// Found by the fault campaign (seed 2000, 76 keys lost): a server denied after a pause restarted as a new
    /// member and numbered its calls from 1 again, so the old incarnation's late pull answers completed the new
    /// incarnation's pulls, and it served ranges it had never copied.
    @Test func answersToTheOldIncarnationNeverCountForTheNewOnesCalls() throws {
        var node = ReplicaNode(serverID: "a")
        _ = node.heartbeatAccepted(sentMs: 0, epoch: 1, leaseMs: 10_000, allSyncedEpoch: -1)
        let oldPulls = Self.calls(node.viewFetched(Self.description, nowMs: 0))
        #expect(oldPulls.count == 1)
        _ = node.restart(as: "z")
        _ = node.heartbeatAccepted(sentMs: 0, epoch: 2, leaseMs: 10_000, allSyncedEpoch: -1)
        let view = ViewDescription(epoch: 2, ringSize: 10_000, servers: ["z", "b", "c"].map {
            ViewDescription.Server(id: $0, address: "h:\($0)", syncedEpoch: -1)
        })
        let newPulls = Self.calls(node.viewFetched(view, nowMs: 0))
        #expect(newPulls.count == 1)
        #expect(Set(newPulls.map(\.id)).isDisjoint(with: oldPulls.map(\.id)), "call IDs never repeat in a process")
        for old in oldPulls { #expect(node.peerAnswered(old.id, reply: Self.emptyPage, nowMs: 1).isEmpty) }
        let next = Self.calls(node.peerAnswered(newPulls[0].id, reply: Self.emptyPage, nowMs: 1))
        #expect(next.count == 1, "one peer has yet to answer")
        #expect(node.peerAnswered(next[0].id, reply: Self.emptyPage, nowMs: 1).first == .publishSyncedEpoch(2))
    }

    static func setr(_ key: String, _ value: String, _ writeID: WriteID, resent: Bool = false) throws -> Request {
        var fields: JSONObject = ["cmd": "setr", "key": .string(key), "val": .string(value), "epoch": 1]
        writeID.add(to: &fields)
        if resent { fields["resent"] = true }
        return try Request(fields: fields)
    }

    @Test func aWritesIDGoesToEveryBackupAndARetryIsAnsweredFromMemory() throws {
        var node = try Self.ready()
        let writeID = WriteID(client: 0xAB, sequence: 5)
        let sent = Self.calls(try node.handle(Self.setr(Self.key, "v", writeID), token: RequestToken(1), nowMs: 1))
        #expect(sent.allSatisfy { $0.message.objectValue?["client_id"] == "00000000000000ab"
            && $0.message.objectValue?["seq"] == 5 })
        let inFlight = try node.handle(Self.setr(Self.key, "v", writeID, resent: true), token: RequestToken(2), nowMs: 2)
        #expect(Self.replies(inFlight)[RequestToken(2)]?.objectValue?["maybe_applied"] == true,
                "a retry while the first attempt replicates waits for it rather than writing twice")
        _ = node.peerAnswered(sent[0].id, reply: Reply.ok, nowMs: 3)
        #expect(Self.replies(node.peerAnswered(sent[1].id, reply: Reply.ok, nowMs: 3)) == [RequestToken(1): Reply.ok])
        let retried = try node.handle(Self.setr(Self.key, "v", writeID, resent: true), token: RequestToken(3), nowMs: 4)
        #expect(Self.calls(retried).isEmpty, "nothing is replicated again")
        #expect(Self.replies(retried) == [RequestToken(3): ["status": "ok", "deduplicated": true]])
    }

    @Test func aBackupRemembersTheIDOfAReplicatedWriteAndAPullCarriesIt() throws {
        var node = try Self.ready()
        let backupKey = (0..<10_000).lazy.map { "k\($0)" }.first {
            ServerView(epoch: 1, addresses: ["a": "", "b": "", "c": ""]).ring.primary(forKey: $0) == "b"
        }!
        var replicate: JSONObject = ["cmd": "replicate", "key": .string(backupKey), "val": "v", "version": [1, 1],
                                     "epoch": 1]
        WriteID(client: 3, sequence: 8).add(to: &replicate)
        #expect(Self.replies(try node.handle(Request(fields: replicate), token: RequestToken(1), nowMs: 1))
            == [RequestToken(1): Reply.ok])
        let pull = try Request(fields: ["cmd": "pull", "epoch": 1, "ranges": [[0, 9_999]]])
        let page = Self.replies(try node.handle(pull, token: RequestToken(2), nowMs: 2))[RequestToken(2)]
        let entry = page?.objectValue?["entries"]?.arrayValue?.first?.objectValue
        #expect(entry?["key"] == .string(backupKey))
        #expect(entry?["write_ids"] == [["0000000000000003", 8, 1, 1]])
    }

    @Test func aPullPageWithAnUnreadableEntryIsAskedForAgainNotMergedWithoutIt() throws {
        var node = ReplicaNode(serverID: "a")
        _ = node.heartbeatAccepted(sentMs: 0, epoch: 1, leaseMs: 10_000, allSyncedEpoch: -1)
        let pull = try #require(Self.calls(node.viewFetched(Self.description, nowMs: 0)).first)
        let page: JSONValue = ["status": "ok", "entries": [["key": "x", "val": "v", "version": [1, 1]],
                                                           ["key": "y", "version": "bad"]], "more": false]
        let actions = node.peerAnswered(pull.id, reply: page, nowMs: 1)
        #expect(actions.contains(.wake(afterMs: ReplicaNode.pullRetryMs, .retryPull(peer: "b", epoch: 1, after: nil)))
            || actions.contains(.wake(afterMs: ReplicaNode.pullRetryMs, .retryPull(peer: "c", epoch: 1, after: nil))))
        #expect(node.core.store.count == 0, "nothing of the page was merged")
    }
}

extension ReplicaNode {
    /// Decodes `request` as a server would, then handles it.
    mutating func handle(_ request: Request, token: RequestToken, nowMs: Int64) throws(RequestError) -> [ReplicaAction] {
        try handle(ServerRequest(request), token: token, nowMs: nowMs)
    }
}
