/// A string kept as the JSON text that writes it, quotes and escapes included, so writing it into a reply is one
/// copy. The classic store keeps its values this way: a `get` is answered far more often than its value is set,
/// and escaping the value again for every `get` was the largest cost of a pipelined `get` after the kernel.
public struct EncodedString: Equatable, Sendable {
    /// The JSON string literal: `"`, the escaped UTF-8 bytes, `"`.
    public let json: [UInt8]

    public init(_ text: String) {
        var json: [UInt8] = []
        json.reserveCapacity(text.utf8.count + 2)
        JSONWriter.appendString(text, to: &json)
        self.json = json
    }

    /// The string itself, read back from its JSON.
    public var text: String {
        guard case .string(let text)? = try? JSONParser.parse(json) else {
            preconditionFailure("an EncodedString holds the JSON that JSONWriter wrote for a string")
        }
        return text
    }
}
