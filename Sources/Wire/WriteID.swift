/// Names one logical replicated write across all its attempts: the client instance that issued it and that
/// client's sequence number for it.
///
/// A client retries a write whose outcome it cannot know under the same ID, and the key's replicas remember the
/// IDs of writes that took effect, so a retry is answered from memory instead of being applied a second time
/// (RIFL, Lee et al., SOSP 2015; Raft's client sessions). A client issues one write at a time and only ever
/// retries its latest, so a key needs to remember one ID per client.
public struct WriteID: Hashable, Sendable, CustomStringConvertible {
    /// A random 64-bit number the client chose when it was created; 16 hex digits on the wire.
    public let client: UInt64
    /// Rises with every write the client issues, from 1; at most `sequenceMax`.
    public let sequence: Int64

    /// Largest sequence number: JSON readers that keep numbers as doubles are exact up to 2^53.
    public static let sequenceMax: Int64 = 1 << 53

    public init(client: UInt64, sequence: Int64) {
        precondition((1...Self.sequenceMax).contains(sequence), "a write ID's sequence is in 1...2^53")
        self.client = client
        self.sequence = sequence
    }

    /// The client as the wire writes it: 16 lowercase hex digits.
    public var clientText: String { Self.hex(client) }

    public var description: String { "\(clientText)/\(sequence)" }

    /// Adds `client_id` and `seq` to a `setr`, `delr` or `replicate`.
    public func add(to fields: inout JSONObject) {
        fields["client_id"] = .string(clientText)
        fields["seq"] = .integer(sequence)
    }

    /// The write ID of a request that carries one (`client_id` and `seq`), nil for one without (classic clients).
    public init?(request: Request) throws(RequestError) {
        let client = request.fields["client_id"]
        let sequence = request.fields["seq"]
        if client == nil && sequence == nil { return nil }
        guard client != nil else { throw .missingField("client_id") }
        guard sequence != nil else { throw .missingField("seq") }
        self.init(client: try Self.client(from: request.string("client_id")),
                  sequence: try request.integer("seq", in: 1...Self.sequenceMax))
    }

    /// Reads a client ID written as 16 hex digits.
    public static func client(from text: String) throws(RequestError) -> UInt64 {
        guard text.utf8.count == 16, let value = UInt64(text, radix: 16) else {
            throw .wrongType(field: "client_id", expected: "16 hexadecimal digits")
        }
        return value
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
