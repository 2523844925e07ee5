import Testing
@testable import ClientTool
@testable import Wire

/// The bench writes frames by hand; each must decode to exactly the request the protocol describes.
struct BenchRequestEncoderTests {
    static func decode(_ bytes: [UInt8]) throws -> [JSONValue] {
        var decoder = FrameDecoder(frameBytesMax: 1 << 20)
        decoder.append(bytes)
        var values: [JSONValue] = []
        while let frame = try decoder.nextFrame() { values.append(try JSONParser.parse(frame)) }
        return values
    }

    @Test func everyKindDecodesToTheProtocolsMessage() throws {
        let encoder = BenchRequestEncoder(value: Array("abc".utf8))
        var buffer: [UInt8] = []
        encoder.append(.set, key: 0, epoch: -1, client: 0, to: &buffer)
        encoder.append(.get, key: 12, epoch: -1, client: 0, to: &buffer)
        encoder.append(.setr, key: 99_999, epoch: 7, client: 0, to: &buffer)
        encoder.append(.getr, key: 5, epoch: 1_234_567_890_123, client: 0, to: &buffer)
        encoder.append(.lockGet, key: 3, epoch: -1, client: 17, to: &buffer)
        encoder.append(.lockRelease, key: 3, epoch: -1, client: 17, to: &buffer)
        let expected: [JSONValue] = [
            ["cmd": "set", "key": "key-0", "val": "abc"],
            ["cmd": "get", "key": "key-12"],
            ["cmd": "setr", "key": "key-99999", "val": "abc", "epoch": 7],
            ["cmd": "getr", "key": "key-5", "epoch": .integer(1_234_567_890_123)],
            ["cmd": "lock_get", "lockid": "key-3", "requestor": "bench-17"],
            ["cmd": "lock_release", "lockid": "key-3", "requestor": "bench-17"],
        ]
        #expect(try Self.decode(buffer) == expected)
    }

    @Test func theBytesAreWhatTheProjectsJSONWriterWouldWrite() {
        let encoder = BenchRequestEncoder(value: Array("xyz".utf8))
        var buffer: [UInt8] = []
        encoder.append(.setr, key: 42, epoch: 3, client: 0, to: &buffer)
        let reference = FrameEncoder.encode(["cmd": "setr", "key": "key-42", "val": "xyz", "epoch": 3])
        #expect(buffer == reference)
    }

    @Test func anEmptyValueAndKeyZeroAreStillValidRequests() throws {
        let encoder = BenchRequestEncoder(value: [])
        var buffer: [UInt8] = []
        encoder.append(.set, key: 0, epoch: 0, client: 0, to: &buffer)
        #expect(try Self.decode(buffer) == [["cmd": "set", "key": "key-0", "val": ""]])
    }
}
