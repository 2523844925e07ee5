import Foundation
import Glibc
import Synchronization
import Testing
import Transport
import Wire
@testable import ClientKit

/// What the transport tells a caller about a request that got no reply, on real loopback sockets: a request is
/// resent behind the caller's back only when repeating it is harmless, and "never sent" is said only when the
/// server cannot have acted.
@Suite(.serialized)
struct EndpointClientTests {
    /// What the scripted peer does with each connection, in order; connections past the script are answered.
    enum Move: Sendable {
        /// Answers every request with `{"status": "ok", "n": COUNT}` until the client closes.
        case answer
        /// Answers one request, then closes the connection while it sits idle.
        case answerOnceThenClose
        /// Reads one whole request, then closes without replying.
        case readThenClose
        /// Answers one request, then reads the next and closes without replying.
        case answerThenDropTheNext
    }

    /// A peer on an ephemeral loopback port that follows `script`, counting the whole requests it read.
    final class ScriptedPeer: @unchecked Sendable {
        let port: Int
        let requestsRead = Atomic<Int>(0)
        private let fd: Int32
        private let script: Mutex<[Move]>
        private let stopping = Atomic<Bool>(false)
        private let done = DispatchSemaphore(value: 0)

        init(_ script: [Move]) throws {
            fd = try Socket.listen(host: "127.0.0.1", port: 0)
            port = Socket.localPort(fd)
            self.script = Mutex(script)
            Thread { [self] in
                serve()
                done.signal()
            }.start()
        }

        func stop() {
            stopping.store(true, ordering: .relaxed)
            done.wait()
            close(fd)
        }

        private func serve() {
            while !stopping.load(ordering: .relaxed) {
                guard (try? Socket.waitUntil(fd: fd, events: Int16(POLLIN), timeoutMs: 50)) == true else { continue }
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else { continue }
                let move = script.withLock { $0.isEmpty ? .answer : $0.removeFirst() }
                handle(connection, move)
                close(connection)
            }
        }

        private func handle(_ connection: Int32, _ move: Move) {
            var decoder = FrameDecoder(frameBytesMax: 1 << 20)
            var buffer = [UInt8](repeating: 0, count: 4_096)
            var answered = false
            while !stopping.load(ordering: .relaxed) {
                if let frame = try? decoder.nextFrame() {
                    let count = requestsRead.add(1, ordering: .relaxed).newValue
                    if case .readThenClose = move { return }
                    if case .answerThenDropTheNext = move, answered { return }
                    answered = true
                    _ = Array(frame)
                    let reply = FrameEncoder.encode(["status": "ok", "n": .integer(Int64(count))])
                    _ = reply.withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if case .answerOnceThenClose = move { return }
                    continue
                }
                var entry = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, 50) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { read(connection, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
        }
    }

    static let request: JSONValue = ["cmd": "set", "key": "k", "val": "v"]

    @Test func aRequestToAPortNothingListensOnWasNeverSent() throws {
        let probe = try Socket.listen(host: "127.0.0.1", port: 0)
        let port = Socket.localPort(probe)
        close(probe)
        let client = EndpointClient(host: "127.0.0.1", candidatePorts: [port], timeoutMs: 1_000)
        guard case .neverSent = client.send(Self.request) else {
            Issue.record("a refused connection carried nothing")
            return
        }
        #expect(throws: ClientError.self) { try client.call(Self.request) }
    }

    @Test func aRequestReadWithoutAReplyMayHaveArrived() throws {
        let peer = try ScriptedPeer([.readThenClose])
        defer { peer.stop() }
        let client = EndpointClient(host: "127.0.0.1", candidatePorts: [peer.port], timeoutMs: 1_000)
        guard case .mayHaveArrived = client.send(Self.request) else {
            Issue.record("the whole request was written: the server may have acted on it")
            return
        }
        #expect(peer.requestsRead.load(ordering: .relaxed) == 1)
    }

    @Test func aConnectionThePeerClosedWhileIdleIsReplacedBeforeAnythingIsWrittenToIt() throws {
        let peer = try ScriptedPeer([.answerOnceThenClose, .answer])
        defer { peer.stop() }
        let client = EndpointClient(host: "127.0.0.1", candidatePorts: [peer.port], timeoutMs: 1_000)
        #expect(try client.call(Self.request).objectValue?["n"] == 1)
        usleep(100_000)  // the peer's close reaches the client's socket
        // Not idempotent, so no resend would be allowed: the stale connection must be noticed before writing.
        #expect(try client.call(Self.request).objectValue?["n"] == 2)
        #expect(peer.requestsRead.load(ordering: .relaxed) == 2, "each request reached the peer exactly once")
    }

    @Test func aRequestThatMayHaveArrivedIsNeverResentUnlessIdempotent() throws {
        let peer = try ScriptedPeer([.readThenClose, .readThenClose, .answer])
        defer { peer.stop() }
        let client = EndpointClient(host: "127.0.0.1", candidatePorts: [peer.port], timeoutMs: 1_000)
        #expect(throws: ClientError.self) { try client.call(Self.request) }
        #expect(peer.requestsRead.load(ordering: .relaxed) == 1, "a write with an unknown outcome is not sent again")
        do {
            _ = try client.call(Self.request)
            Issue.record("the second connection also closes without a reply")
        } catch {
            guard case .noReply = error else {
                Issue.record("a request the peer read is not 'unreachable': \(error)")
                return
            }
        }
        #expect(peer.requestsRead.load(ordering: .relaxed) == 2)
    }

    /// The bug this replaces: a request that failed on a reused connection was sent again on a fresh one, and a
    /// failure of that second attempt was reported as "not sent" although the first may have taken effect.
    @Test func aWriteIsNotSentAgainWhenAReusedConnectionBreaksUnderIt() throws {
        let peer = try ScriptedPeer([.answerThenDropTheNext, .answer])
        defer { peer.stop() }
        let client = EndpointClient(host: "127.0.0.1", candidatePorts: [peer.port], timeoutMs: 1_000)
        #expect(try client.call(Self.request).objectValue?["n"] == 1)
        do {
            _ = try client.call(Self.request)
            Issue.record("the write may have taken effect: the caller must hear so, not get a second attempt's answer")
        } catch {
            guard case .noReply = error else {
                Issue.record("expected noReply, got \(error)")
                return
            }
        }
        #expect(peer.requestsRead.load(ordering: .relaxed) == 2, "the write reached the peer once, and was not resent")
    }

    @Test func anIdempotentRequestIsSentOnceMoreWhenAReusedConnectionBreaks() throws {
        let peer = try ScriptedPeer([.answerThenDropTheNext, .answer])
        defer { peer.stop() }
        let client = EndpointClient(host: "127.0.0.1", candidatePorts: [peer.port], timeoutMs: 1_000)
        #expect(try client.call(["cmd": "get", "key": "k"], idempotent: true).objectValue?["n"] == 1)
        #expect(try client.call(["cmd": "get", "key": "k"], idempotent: true).objectValue?["n"] == 3,
                "the read was dropped once, then answered on a fresh connection")
    }
}
