import Testing
@testable import Authentication

struct FrameSealTests {
    let key = [UInt8](repeating: 7, count: 32)

    func pair() -> (FrameSeal, FrameSeal) {
        (FrameSeal(sessionKey: key, side: .initiator), FrameSeal(sessionKey: key, side: .responder))
    }

    @Test func framesOpenInOrderWithTheirCodeRemoved() throws {
        var (client, server) = pair()
        for index in 0..<3 {
            let payload = Array("{\"cmd\":\"getr\",\"key\":\"k\(index)\"}".utf8)
            let sealed = client.seal(payload)
            #expect(sealed.count == payload.count + FrameSeal.codeBytes)
            #expect(try server.open(sealed) == payload)
        }
        #expect(client.sentFrames == 3 && server.receivedFrames == 3)
    }

    /// Every single-bit change anywhere in a sealed frame is refused.
    @Test func anAlteredFrameIsRefused() throws {
        var (client, _) = pair()
        let sealed = client.seal(Array("{\"cmd\":\"setr\",\"key\":\"a\",\"val\":\"1\"}".utf8))
        for index in sealed.indices {
            var altered = sealed
            altered[index] ^= 0x01
            var server = FrameSeal(sessionKey: key, side: .responder)
            #expect(throws: SealError.badCode) { _ = try server.open(altered) }
        }
    }

    @Test func aReplayedOrSkippedFrameIsRefused() throws {
        var (client, server) = pair()
        let first = client.seal([1])
        let second = client.seal([2])
        let third = client.seal([3])
        #expect(try server.open(first) == [1])
        #expect(throws: SealError.badCode) { _ = try server.open(first) }
        #expect(throws: SealError.badCode) { _ = try server.open(third) }
        #expect(try server.open(second) == [2])
    }

    /// A frame sent back to its sender is refused: the direction is part of the code.
    @Test func aReflectedFrameIsRefused() throws {
        var (client, _) = pair()
        var otherClient = FrameSeal(sessionKey: key, side: .initiator)
        #expect(throws: SealError.badCode) { _ = try otherClient.open(client.seal([1, 2, 3])) }
    }

    /// A frame of another connection (another session key) is refused.
    @Test func aFrameFromAnotherConnectionIsRefused() throws {
        var client = FrameSeal(sessionKey: key, side: .initiator)
        var otherServer = FrameSeal(sessionKey: [UInt8](repeating: 8, count: 32), side: .responder)
        #expect(throws: SealError.badCode) { _ = try otherServer.open(client.seal([1, 2, 3])) }
        #expect(throws: SealError.tooShort(bytes: 3)) { _ = try otherServer.open([1, 2, 3]) }
    }
}
