import Glibc
import Testing
@testable import Transport

/// The one send loop, on a real non-blocking socket pair.
struct OutputBufferTests {
    /// A connected pair of non-blocking stream sockets with small buffers; closed by the caller.
    func makePair() -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        var size: Int32 = 4_096
        setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return (fds[0], fds[1])
    }

    func drain(_ fd: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { return received }
            received += chunk[0..<count]
        }
    }

    @Test func aSmallBufferIsSentWholeAndEmptied() {
        let (writer, reader) = makePair()
        defer { close(writer); close(reader) }
        var output = OutputBuffer()
        output.bytes = Array("hello".utf8)
        #expect(output.send(to: writer) == .drained)
        #expect(!output.hasUnsent && output.bytes.isEmpty && output.sent == 0)
        #expect(drain(reader) == Array("hello".utf8))
    }

    @Test func aFullSocketStopsTheLoopAndTheRestGoesOnceItIsWritable() {
        let (writer, reader) = makePair()
        defer { close(writer); close(reader) }
        var output = OutputBuffer()
        let payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        output.bytes = payload
        #expect(output.send(to: writer) == .wouldBlock)
        #expect(output.hasUnsent && output.sent > 0 && output.unsentCount == payload.count - output.sent)
        var received: [UInt8] = []
        while output.hasUnsent {
            received += drain(reader)
            _ = output.send(to: writer)
        }
        received += drain(reader)
        #expect(received == payload, "every byte arrives once, in order")
    }

    @Test func aClosedPeerIsAFailureNamingTheError() {
        let (writer, reader) = makePair()
        defer { close(writer) }
        close(reader)
        var output = OutputBuffer()
        output.bytes = [1, 2, 3]
        #expect(output.send(to: writer) == .failed(errno: EPIPE))
    }

    @Test func anEmptiedBufferKeepsItsStorageOnlyUpToTheLimit() {
        var output = OutputBuffer()
        output.bytes = [UInt8](repeating: 0, count: 10_000)
        output.reset(capacityKeptMax: 1_000)
        #expect(output.bytes.capacity < 10_000)
        output.bytes = [UInt8](repeating: 0, count: 500)
        output.reset(capacityKeptMax: 1_000)
        #expect(output.bytes.capacity >= 500)
    }
}
