import Foundation
import Glibc
import Synchronization
import Testing
import Wire
@testable import Transport

/// Peer channels on real loopback sockets: a "home" frame server's loop calls a peer frame server, or a bare
/// listening socket the test drives by hand.
@Suite(.serialized)
struct PeerChannelTests {
    typealias Outcome = Result<JSONValue, SocketError>

    /// Outcomes of calls in the order their completions ran, and whether any ran inside `call` itself.
    final class Recorder: Sendable {
        let outcomes = Mutex<[Outcome]>([])
        let answeredInsideCallFlag = Atomic<Bool>(false)

        var answeredInsideCall: Bool { answeredInsideCallFlag.load(ordering: .relaxed) }

        /// Waits up to `timeoutMs` for `count` outcomes and returns them.
        func wait(for count: Int, timeoutMs: Int = 10_000) -> [Outcome] {
            let deadline = MonotonicClock.nowMs() + Int64(timeoutMs)
            while outcomes.withLock({ $0.count }) < count && MonotonicClock.nowMs() < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
            return outcomes.withLock { $0 }
        }
    }

    /// Holds the channel between loop-thread closures; only touched on the loop thread.
    final class ChannelBox: @unchecked Sendable {
        var channel: PeerChannel?
        var insideCall = false
    }

    /// Runs a frame server on its own thread for the duration of `body`.
    func withLoop(handler: @escaping @Sendable (Request, Responder) throws(RequestError) -> Void = { _, _ in },
                  _ body: (FrameServer) throws -> Void) throws {
        let server = try FrameServer(host: "127.0.0.1", ports: [0], limits: WireLimits())
        let done = DispatchSemaphore(value: 0)
        Thread {
            server.run(requests: handler)
            done.signal()
        }.start()
        defer {
            server.stop()
            done.wait()
        }
        try body(server)
    }

    /// Issues one call per request on `home`'s loop, all in one loop iteration, recording each outcome.
    func call(_ requests: [JSONValue], on home: FrameServer, to port: Int, box: ChannelBox, recorder: Recorder,
              callTimeoutMs: Int = 5_000) {
        home.execute {
            if box.channel == nil {
                box.channel = PeerChannel(loop: home, host: "127.0.0.1", port: port, callTimeoutMs: callTimeoutMs)
            }
            box.insideCall = true
            for request in requests {
                box.channel!.call(request) { outcome in
                    if box.insideCall { recorder.answeredInsideCallFlag.store(true, ordering: .relaxed) }
                    recorder.outcomes.withLock { $0.append(outcome) }
                }
            }
            box.insideCall = false
        }
    }

    static func numbered(_ range: Range<Int>) -> [JSONValue] {
        range.map { ["cmd": "x", "n": .integer(Int64($0))] }
    }

    @Test func manyCallsAreInFlightAtOnceAndAnsweredInOrder() throws {
        let inFlight = Mutex(0)
        let mostInFlight = Mutex(0)
        let seen = Mutex<[Int64]>([])
        let peerHandler: @Sendable (Request, Responder) throws(RequestError) -> Void = { request, responder in
            let n = request.fields["n"]?.integerValue ?? -1
            seen.withLock { $0.append(n) }
            let now = inFlight.withLock { count in
                count += 1
                return count
            }
            mostInFlight.withLock { $0 = max($0, now) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 1...5))) {
                inFlight.withLock { $0 -= 1 }
                responder.reply(["status": "ok", "echo": .integer(n)])
            }
        }
        try withLoop(handler: peerHandler) { peer in
            try withLoop { home in
                let box = ChannelBox()
                let recorder = Recorder()
                call(Self.numbered(0..<300), on: home, to: peer.port, box: box, recorder: recorder)
                let outcomes = recorder.wait(for: 300)
                #expect(outcomes.count == 300)
                let echoes = outcomes.map { (try? $0.get())?.objectValue?["echo"]?.integerValue ?? -1 }
                #expect(echoes == (0..<300).map(Int64.init))
                #expect(seen.withLock { $0 } == (0..<300).map(Int64.init))
                // The old one-call-at-a-time link never had more than one request at the peer.
                #expect(mostInFlight.withLock { $0 } > 1)
                #expect(!recorder.answeredInsideCall)
            }
        }
    }

    @Test func aCallToAPortNobodyListensOnFailsWithTheRefusal() throws {
        let probe = try Socket.listen(host: "127.0.0.1", port: 0)
        let deadPort = Socket.localPort(probe)
        close(probe)
        try withLoop { home in
            let box = ChannelBox()
            let recorder = Recorder()
            call(Self.numbered(0..<3), on: home, to: deadPort, box: box, recorder: recorder)
            let outcomes = recorder.wait(for: 3)
            #expect(outcomes.count == 3)
            for outcome in outcomes {
                guard case .failure(.connect(_, let port, let code)) = outcome else {
                    Issue.record("expected a refused connect, got \(outcome)")
                    continue
                }
                #expect(port == deadPort && code == ECONNREFUSED)
            }
            #expect(!recorder.answeredInsideCall)
        }
    }

    @Test func aSilentPeerFailsEveryCallInFlightAtTheDeadlineAndTheNextCallReconnects() throws {
        let peerHandler: @Sendable (Request, Responder) throws(RequestError) -> Void = { request, responder in
            // The first three calls are never answered, as by a stopped process; later ones are.
            if let n = request.fields["n"]?.integerValue, n >= 3 { responder.reply(["status": "ok", "echo": .integer(n)]) }
        }
        try withLoop(handler: peerHandler) { peer in
            try withLoop { home in
                let box = ChannelBox()
                let recorder = Recorder()
                let started = MonotonicClock.nowMs()
                call(Self.numbered(0..<3), on: home, to: peer.port, box: box, recorder: recorder, callTimeoutMs: 200)
                let timedOut = recorder.wait(for: 3)
                let waitedMs = MonotonicClock.nowMs() - started
                #expect(timedOut.count == 3)
                for outcome in timedOut {
                    guard case .failure(.timedOut) = outcome else {
                        Issue.record("expected a timeout, got \(outcome)")
                        continue
                    }
                }
                #expect(waitedMs >= 200 && waitedMs < 2_000)
                call(Self.numbered(3..<4), on: home, to: peer.port, box: box, recorder: recorder)
                let all = recorder.wait(for: 4)
                #expect(all.count == 4)
                #expect((try? all.last?.get())?.objectValue?["echo"] == .integer(3))
            }
        }
    }

    @Test func aPeerClosingMidCallFailsItAsClosedAndTheNextCallReconnects() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        let port = Socket.localPort(listener)
        try withLoop { home in
            let box = ChannelBox()
            let recorder = Recorder()
            call(Self.numbered(0..<2), on: home, to: port, box: box, recorder: recorder)
            let first = try acceptWithin(listener, ms: 5_000)
            close(first)
            let closed = recorder.wait(for: 2)
            #expect(closed.count == 2)
            for outcome in closed {
                guard case .failure = outcome else {
                    Issue.record("expected a failure, got \(outcome)")
                    continue
                }
            }
            call(Self.numbered(2..<3), on: home, to: port, box: box, recorder: recorder)
            let second = try acceptWithin(listener, ms: 5_000)
            defer { close(second) }
            var answer = FrameEncoder.encode(["status": "ok", "echo": 2])
            #expect(send(second, &answer, answer.count, Int32(MSG_NOSIGNAL)) == answer.count)
            let all = recorder.wait(for: 3)
            #expect(all.count == 3)
            #expect((try? all.last?.get())?.objectValue?["echo"] == .integer(2))
        }
    }

    @Test func callsBeyondThePendingLimitFailAtOnceWithoutDisturbingTheRest() throws {
        // A listener that never accepts: connections complete in the kernel's backlog, and nothing answers.
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        try withLoop { home in
            let box = ChannelBox()
            let recorder = Recorder()
            let limit = PeerChannel.pendingCallsMax
            call(Self.numbered(0..<(limit + 1)), on: home, to: Socket.localPort(listener), box: box,
                 recorder: recorder, callTimeoutMs: 1_000)
            let early = recorder.wait(for: 1)
            guard case .failure(.backlogFull(_, _, let calls))? = early.first else {
                Issue.record("expected the call over the limit to fail first, got \(String(describing: early.first))")
                return
            }
            #expect(calls == limit)
            #expect(!recorder.answeredInsideCall)
            let all = recorder.wait(for: limit + 1)
            #expect(all.count == limit + 1)
            #expect(all.dropFirst().allSatisfy { if case .failure(.timedOut) = $0 { true } else { false } })
        }
    }

    /// Accepts one connection on a non-blocking listener, waiting up to `ms`.
    func acceptWithin(_ listener: Int32, ms: Int) throws -> Int32 {
        guard try Socket.waitUntil(fd: listener, events: Int16(POLLIN), timeoutMs: ms) else {
            throw SocketError.timedOut("waiting for the channel to connect")
        }
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { throw SocketError.system("accept", errno) }
        return fd
    }
}
