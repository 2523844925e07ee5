import Foundation
import Glibc
import Synchronization
import Testing
import Wire
@testable import Transport

/// The frame server on real loopback sockets, with limits shrunk so each one can be reached in a test.
@Suite(.serialized)
struct FrameServerTests {
    /// Runs a server on an ephemeral port on its own thread for the duration of `body`.
    func withServer(limits: WireLimits = WireLimits(), ports: [Int] = [0],
                    onLimitReached: ((String) -> Void)? = nil,
                    isMemberRequest: ((ArraySlice<UInt8>) -> Bool)? = nil,
                    handler: @escaping @Sendable (Request, Responder) throws(RequestError) -> Void,
                    _ body: (FrameServer) throws -> Void) throws {
        let server = try FrameServer(host: "127.0.0.1", ports: ports, limits: limits)
        server.onLimitReached = onLimitReached
        server.isMemberRequest = isMemberRequest
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            server.run(requests: handler)
            done.signal()
        }
        thread.start()
        defer {
            server.stop()
            done.wait()
        }
        try body(server)
    }

    static func echo(_ request: Request, _ responder: Responder) throws(RequestError) {
        responder.reply(["status": "ok", "echo": request.fields["n"] ?? .null])
    }

    @Test func repliesAnsweredLaterFromOtherThreadsLeaveInRequestOrder() throws {
        let handler: @Sendable (Request, Responder) throws(RequestError) -> Void = { request, responder in
            let delayMs = Int.random(in: 0...20)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMs)) {
                responder.reply(["status": "ok", "echo": request.fields["n"] ?? .null])
            }
        }
        try withServer(handler: handler) { server in
            let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            var batch: [UInt8] = []
            for index in 0..<100 { FrameEncoder.append(["cmd": "x", "n": .integer(Int64(index))], to: &batch) }
            try connection.sendRaw(batch, timeoutMs: 5_000)
            for index in 0..<100 {
                #expect(try connection.receive(timeoutMs: 5_000).objectValue?["echo"] == .integer(Int64(index)))
            }
        }
    }

    @Test func pipelineDeeperThanTheLimitIsThrottledNotDropped() throws {
        var limits = WireLimits()
        limits.pipelineDepthMax = 4
        let inFlight = Mutex(0)
        let maxSeen = Mutex(0)
        let handler: @Sendable (Request, Responder) throws(RequestError) -> Void = { request, responder in
            let now = inFlight.withLock { count in
                count += 1
                return count
            }
            maxSeen.withLock { $0 = max($0, now) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) {
                inFlight.withLock { $0 -= 1 }
                responder.reply(["status": "ok", "echo": request.fields["n"] ?? .null])
            }
        }
        try withServer(limits: limits, handler: handler) { server in
            let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            var batch: [UInt8] = []
            for index in 0..<200 { FrameEncoder.append(["cmd": "x", "n": .integer(Int64(index))], to: &batch) }
            try connection.sendRaw(batch, timeoutMs: 5_000)
            for index in 0..<200 {
                #expect(try connection.receive(timeoutMs: 5_000).objectValue?["echo"] == .integer(Int64(index)))
            }
        }
        #expect(maxSeen.withLock { $0 } <= 4)
    }

    @Test func connectionBeyondTheLimitGetsAnErrorAndIsClosed() throws {
        var limits = WireLimits()
        limits.connectionsMax = 2
        try withServer(limits: limits, handler: Self.echo) { server in
            let first = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            let second = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            #expect(try first.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
            #expect(try second.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
            let third = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            let refusal = try third.receive(timeoutMs: 5_000)
            #expect(refusal.objectValue?["error"]?.stringValue?.contains("limit of 2 connections") == true)
            #expect(throws: SocketError.closed) { try third.receive(timeoutMs: 5_000) }
            first.close()
            Thread.sleep(forTimeInterval: 0.1)
            let fourth = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            #expect(try fourth.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
        }
    }

    @Test func idleConnectionIsClosedAfterTheIdleTimeout() throws {
        var limits = WireLimits()
        limits.idleTimeoutMs = 200
        try withServer(limits: limits, handler: Self.echo) { server in
            let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            #expect(try connection.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
            let started = Date()
            #expect(throws: SocketError.closed) { try connection.receive(timeoutMs: 5_000) }
            #expect(Date().timeIntervalSince(started) >= 0.15)
        }
    }

    /// Runs a server that answers every request with a 60 KB value, opens one connection and sends it `requests`
    /// requests in one write, then runs `body` on it; returns what the server said about its limits.
    @discardableResult
    func withLargeReplies(_ limits: WireLimits, requests: Int, onRequest: @escaping @Sendable () -> Void = {},
                          _ body: (FrameConnection) throws -> Void) throws -> [String] {
        let big = String(repeating: "v", count: Self.largeReplyBytes)
        let handler: @Sendable (Request, Responder) throws(RequestError) -> Void = { _, responder in
            onRequest()
            responder.reply(["status": "ok", "value": .string(big)])
        }
        let notices = Mutex<[String]>([])
        try withServer(limits: limits, onLimitReached: { line in notices.withLock { $0.append(line) } },
                       handler: handler) { server in
            let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            var batch: [UInt8] = []
            for _ in 0..<requests { FrameEncoder.append(["cmd": "x"], to: &batch) }
            try connection.sendRaw(batch, timeoutMs: 5_000)
            try body(connection)
        }
        return notices.withLock { $0 }
    }

    static let largeReplyBytes = 60_000

    /// Whether `reply` is one of `withLargeReplies`'s.
    static func isLargeReply(_ reply: JSONValue) -> Bool {
        reply.objectValue?["value"]?.stringValue?.count == largeReplyBytes
    }

    @Test func slowReaderIsThrottledByTheOutputLimitAndStillGetsEveryReply() throws {
        var limits = WireLimits()
        limits.frameBytesMax = 64 * 1024
        limits.outputBytesMax = 128 * 1024
        try withLargeReplies(limits, requests: 100) { connection in
            Thread.sleep(forTimeInterval: 0.2)
            for _ in 0..<100 {
                let reply = try connection.receive(timeoutMs: 5_000)
                #expect(Self.isLargeReply(reply))
            }
        }
    }

    /// The finding: a thousand small requests for a large reply, sent in one write and never read, grew a server
    /// by a gigabyte, because the output limit was checked between reads, not between requests. Now requests wait
    /// in the socket once the unsent replies reach the limit, and are served as the reader catches up.
    @Test func requestsReadInOneGoAreServedOnlyAsFastAsTheirRepliesLeave() throws {
        var limits = WireLimits()
        limits.frameBytesMax = 64 * 1024
        limits.outputBytesMax = 128 * 1024
        let handled = Mutex(0)
        let notices = try withLargeReplies(limits, requests: 1_000, onRequest: { handled.withLock { $0 += 1 } }) {
            connection in
            Thread.sleep(forTimeInterval: 0.5)
            // 60 MB of replies were asked for; the kernel's socket buffers (at most about 10 MB on Linux by
            // default) and the 128 KiB output limit hold a small share of them.
            let early = handled.withLock { $0 }
            #expect(early < 400, "\(early) of 1000 requests were served with nobody reading the replies")
            for _ in 0..<1_000 {
                let reply = try connection.receive(timeoutMs: 5_000)
                #expect(Self.isLargeReply(reply))
            }
            #expect(handled.withLock { $0 } == 1_000)
        }
        #expect(notices.first?.hasPrefix("stopped reading requests from 127.0.0.1") == true)
    }

    /// The finding: sockets that each sent a byte now and then held every slot and locked clients out for as
    /// long as they liked. At the limit, a new connection takes the slot of one stalled for `stalledSlotMs`; while
    /// every connection is making progress, the new one is refused with an error.
    @Test func atTheLimitANewConnectionTakesTheSlotOfAStalledOne() throws {
        var limits = WireLimits()
        limits.connectionsMax = 20
        limits.stalledSlotMs = 200
        let notices = Mutex<[String]>([])
        try withServer(limits: limits, onLimitReached: { line in notices.withLock { $0.append(line) } },
                       handler: Self.echo) { server in
            var stalled: [FrameConnection] = []
            for _ in 0..<limits.connectionsMax {
                let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
                try connection.sendRaw([0], timeoutMs: 5_000)
                stalled.append(connection)
            }
            // Fresh connections are not stalled yet: the next is refused, by an error no reader takes for a reply.
            let early = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            let refusal = try early.receive(timeoutMs: 5_000)
            #expect(refusal.objectValue?["status"] == "error")
            #expect(refusal.objectValue?["error"]?.stringValue?.contains("limit of 20 connections") == true)
            Thread.sleep(forTimeInterval: 0.4)
            let client = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            #expect(try client.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
            withExtendedLifetime(stalled) {}
        }
        let told = notices.withLock { $0 }
        #expect(told.contains { $0.hasPrefix("refused a connection from 127.0.0.1") }, "\(told)")
        #expect(told.contains { $0.hasPrefix("gave the slot of a stalled connection from 127.0.0.1") }, "\(told)")
    }

    /// One address may hold at most `connectionsPerHostMax` connections, so one host cannot take every slot.
    @Test func oneAddressCannotTakeMoreThanItsShareOfConnections() throws {
        var limits = WireLimits()
        limits.connectionsMax = 20
        limits.connectionsPerHostMax = 5
        limits.stalledSlotMs = 60_000
        try withServer(limits: limits, handler: Self.echo) { server in
            let held = try (0..<5).map { _ in
                let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
                #expect(try connection.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
                return connection
            }
            let sixth = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            let refusal = try sixth.receive(timeoutMs: 5_000)
            #expect(refusal.objectValue?["status"] == "error")
            #expect(refusal.objectValue?["error"]?.stringValue?.contains("5 connections from 127.0.0.1") == true)
            held[0].close()
            usleep(100_000)
            let again = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            #expect(try again.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok",
                    "a closed connection gives its slot back")
            withExtendedLifetime(held) {}
        }
    }

    /// Clients holding every slot cannot lock the cluster's own members out: a connection the client limits would
    /// refuse is let in on the member reserve, kept if its first request is a member's, and refused with the
    /// client limit's error otherwise; the reserve has its own bound.
    @Test func membersKeepReservedSlotsWhenClientsHoldEveryOther() throws {
        var limits = WireLimits()
        limits.connectionsMax = 5
        limits.memberConnectionsReserved = 2
        limits.stalledSlotMs = 60_000
        let isMember: (ArraySlice<UInt8>) -> Bool = { frame in (try? Request(frame: frame))?.command == "member" }
        try withServer(limits: limits, isMemberRequest: isMember, handler: Self.echo) { server in
            func connect() throws -> FrameConnection {
                try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            }
            let clients = try (0..<5).map { _ in
                let connection = try connect()
                #expect(try connection.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok")
                return connection
            }
            let client = try connect()
            let refusal = try client.call(["cmd": "x"], timeoutMs: 5_000)
            #expect(refusal.objectValue?["error"]?.stringValue?.contains("limit of 5 connections") == true, "\(refusal)")
            let members = try (0..<2).map { _ in
                let connection = try connect()
                #expect(try connection.call(["cmd": "member"], timeoutMs: 5_000).objectValue?["status"] == "ok")
                #expect(try connection.call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok",
                        "once kept, a member's connection carries any request")
                return connection
            }
            let third = try connect()
            let full = try third.receive(timeoutMs: 5_000)
            #expect(full.objectValue?["error"]?.stringValue?.contains("limit of 5 connections") == true,
                    "the reserve is full: refused before any request")
            members[0].close()
            usleep(100_000)
            let again = try connect()
            #expect(try again.call(["cmd": "member"], timeoutMs: 5_000).objectValue?["status"] == "ok",
                    "a closed member connection gives its reserved slot back")
            clients[0].close()
            usleep(100_000)
            #expect(try connect().call(["cmd": "x"], timeoutMs: 5_000).objectValue?["status"] == "ok",
                    "members on the reserve do not take clients' slots")
            withExtendedLifetime((clients, members, again)) {}
        }
    }

    /// Each connection's unsent replies are bounded, and so is their total: peers that ask for large replies and
    /// read none hold at most the total limit and one reply each, not the per-connection limit each. A peer that
    /// reads its replies is still served meanwhile, and the held peers get every reply once they read.
    @Test func theTotalOfUnsentRepliesIsBoundedAndReadersAreStillServed() throws {
        var limits = WireLimits()
        limits.frameBytesMax = 64 * 1024
        limits.outputBytesMax = 1 << 20
        limits.outputBytesTotalMax = 2 << 20
        let requests = 300
        let big = String(repeating: "v", count: Self.largeReplyBytes)
        let handler: @Sendable (Request, Responder) throws(RequestError) -> Void = { request, responder in
            responder.reply(request.command == "small" ? ["status": "ok"] : ["status": "ok", "value": .string(big)])
        }
        let notices = Mutex<[String]>([])
        try withServer(limits: limits, onLimitReached: { line in notices.withLock { $0.append(line) } },
                       handler: handler) { server in
            var batch: [UInt8] = []
            for _ in 0..<requests { FrameEncoder.append(["cmd": "x"], to: &batch) }
            let nonReaders = try (0..<8).map { _ in
                let connection = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
                try connection.sendRaw(batch, timeoutMs: 5_000)
                return connection
            }
            Thread.sleep(forTimeInterval: 0.5)
            let unsent = Mutex(0)
            let read = DispatchSemaphore(value: 0)
            server.execute {
                unsent.withLock { $0 = server.unsentOutputBytes }
                read.signal()
            }
            read.wait()
            let bound = limits.outputBytesTotalMax + nonReaders.count * limits.frameBytesMax
            #expect(unsent.withLock { $0 } <= bound, "without the total limit each would hold about 1 MiB")
            let reader = try FrameConnection(host: "127.0.0.1", port: server.port, timeoutMs: 5_000)
            for _ in 0..<20 {
                #expect(try reader.call(["cmd": "small"], timeoutMs: 5_000).objectValue?["status"] == "ok")
            }
            for connection in nonReaders {
                for _ in 0..<requests { #expect(Self.isLargeReply(try connection.receive(timeoutMs: 5_000))) }
            }
        }
        #expect(notices.withLock { $0 }.contains { $0.hasPrefix("stopped reading requests from every connection") })
    }

    /// A peer that asked for replies and reads none of them holds their memory only for a request timeout: then
    /// the connection is closed, and the server says so. (Before, it held them until the idle timeout, 300 s.)
    @Test func aPeerThatReadsNoneOfItsRepliesIsClosedAfterTheRequestTimeout() throws {
        var limits = WireLimits()
        limits.frameBytesMax = 64 * 1024
        limits.outputBytesMax = 64 << 20
        limits.requestTimeoutMs = 500
        // 24 MB of replies: more than the kernel's socket buffers hold, so most wait in the server.
        let notices = try withLargeReplies(limits, requests: 400) { connection in
            Thread.sleep(forTimeInterval: 2)
            var received = 0
            while (try? connection.receive(timeoutMs: 5_000)) != nil { received += 1 }
            #expect(received < 400, "the connection was closed before every reply was sent")
        }
        #expect(notices.contains { $0.hasPrefix("closed a connection from 127.0.0.1 that read none") })
    }

    @Test func firstFreeCandidatePortIsTaken() throws {
        let occupied = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { close(occupied) }
        let busyPort = Socket.localPort(occupied)
        let probe = try Socket.listen(host: "127.0.0.1", port: 0)
        let freePort = Socket.localPort(probe)
        close(probe)
        try withServer(ports: [busyPort, freePort], handler: Self.echo) { server in
            #expect(server.port == freePort)
        }
        #expect(throws: SocketError.addressInUse(host: "127.0.0.1", port: busyPort)) {
            try FrameServer(host: "127.0.0.1", ports: [busyPort], limits: WireLimits())
        }
    }

    @Test func oneShotTimersFireOnceInDueOrderAndMaySetMoreTimers() throws {
        let fired = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        try withServer(handler: Self.echo) { server in
            server.execute {
                server.after(ms: 40) { fired.withLock { $0.append("late") } }
                server.after(ms: 5) {
                    fired.withLock { $0.append("early") }
                    // Set from inside a timer's action: runs too, once.
                    server.after(ms: 60) {
                        fired.withLock { $0.append("chained") }
                        done.signal()
                    }
                }
            }
            #expect(done.wait(timeout: .now() + 10) == .success)
            // Long enough for a timer that wrongly repeats to fire again.
            usleep(200_000)
        }
        #expect(fired.withLock { $0 } == ["early", "late", "chained"])
    }

    @Test func limitsThatContradictEachOtherAreRejected() {
        var limits = WireLimits()
        #expect(throws: Never.self) { try limits.validate() }
        limits.outputBytesMax = limits.frameBytesMax - 1
        #expect(throws: WireLimitsError.self) { try limits.validate() }
    }
}
