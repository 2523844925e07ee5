import Testing
@testable import Wire

/// Frames are fed in every split a socket could produce: one byte at a time, many per read, exact limits.
struct FrameDecoderTests {
    static func frame(_ body: String) -> [UInt8] {
        let bytes = Array(body.utf8)
        let length = UInt32(bytes.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + bytes
    }

    static func header(_ length: Int32) -> [UInt8] {
        let raw = UInt32(bitPattern: length)
        return [UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)]
    }

    @Test func frameSplitAcrossSingleByteReadsIsReassembled() throws {
        var decoder = FrameDecoder(frameBytesMax: 1024)
        let bytes = Self.frame(#"{"cmd":"get","key":"a"}"#)
        for byte in bytes.dropLast() {
            decoder.append([byte])
            #expect(try decoder.nextFrame() == nil)
            #expect(decoder.hasPartialFrame)
        }
        decoder.append([bytes.last!])
        let body = try #require(try decoder.nextFrame())
        #expect(String(decoding: body, as: UTF8.self) == #"{"cmd":"get","key":"a"}"#)
        #expect(!decoder.hasPartialFrame)
    }

    @Test func severalFramesInOneReadComeOutInOrder() throws {
        var decoder = FrameDecoder(frameBytesMax: 1024)
        decoder.append(Self.frame("1") + Self.frame("22") + Self.frame("333") + Array(Self.frame("4444").prefix(5)))
        #expect(try decoder.nextFrame().map { Array($0) } == Array("1".utf8))
        #expect(try decoder.nextFrame().map { Array($0) } == Array("22".utf8))
        #expect(try decoder.nextFrame().map { Array($0) } == Array("333".utf8))
        #expect(try decoder.nextFrame() == nil)
        decoder.append(Array(Self.frame("4444").dropFirst(5)))
        #expect(try decoder.nextFrame().map { Array($0) } == Array("4444".utf8))
    }

    @Test func emptyBodyIsAFrame() throws {
        var decoder = FrameDecoder(frameBytesMax: 16)
        decoder.append(Self.header(0))
        #expect(try decoder.nextFrame()?.isEmpty == true)
    }

    @Test func frameExactlyAtTheLimitIsAccepted() throws {
        var decoder = FrameDecoder(frameBytesMax: 8)
        decoder.append(Self.frame("12345678"))
        #expect(try decoder.nextFrame()?.count == 8)
    }

    @Test func frameOneByteOverTheLimitIsRejectedFromItsHeaderAlone() {
        var decoder = FrameDecoder(frameBytesMax: 8)
        decoder.append(Self.header(9))
        #expect(throws: FrameError.tooLarge(length: 9, frameBytesMax: 8)) { try decoder.nextFrame() }
    }

    @Test func negativeLengthIsRejected() {
        var decoder = FrameDecoder(frameBytesMax: 8)
        decoder.append(Self.header(-1))
        #expect(throws: FrameError.negativeLength(-1)) { try decoder.nextFrame() }
        var minimum = FrameDecoder(frameBytesMax: 8)
        minimum.append(Self.header(Int32.min))
        #expect(throws: FrameError.negativeLength(Int(Int32.min))) { try minimum.nextFrame() }
    }

    @Test func partialHeaderWaitsForMoreBytes() throws {
        var decoder = FrameDecoder(frameBytesMax: 8)
        decoder.append([0, 0])
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.hasPartialFrame)
    }

    @Test func longStreamOfFramesDoesNotGrowTheBufferWithoutBound() throws {
        var decoder = FrameDecoder(frameBytesMax: 1024)
        let one = Self.frame(String(repeating: "x", count: 1000))
        for _ in 0..<10_000 {
            decoder.append(one)
            #expect(try decoder.nextFrame()?.count == 1000)
        }
        #expect(!decoder.hasPartialFrame)
    }

    @Test func encoderWritesBigEndianLengthThenJSON() {
        let bytes = FrameEncoder.encode(.object(["status": "ok"]))
        #expect(Array(bytes.prefix(4)) == [0, 0, 0, 15])
        #expect(String(decoding: bytes.dropFirst(4), as: UTF8.self) == #"{"status":"ok"}"#)
    }
}
