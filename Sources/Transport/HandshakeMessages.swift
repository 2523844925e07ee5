import Authentication
import Wire

/// The handshake's messages as JSON frames (PROTOCOL.md, "Authentication"). The first three travel unsealed;
/// the welcome is the first sealed frame from the accepting side.
///
///     {"cmd": "auth", "key": NAME, "nonce": HEX}              hello
///     {"status": "ok", "nonce": HEX, "proof": HEX}            challenge
///     {"cmd": "auth_proof", "proof": HEX}                     proof
///     {"status": "ok", "key": NAME, "role": ROLE}             welcome (sealed)
///
/// A refusal at any step is `{"status": "error", "error": "authentication failed: ..."}`, then the connection
/// closes.
public enum HandshakeMessages {
    public static let helloCommand = "auth"
    public static let proofCommand = "auth_proof"
    /// Bytes of a proof (a whole HMAC-SHA-256).
    static let proofBytes = HMAC.codeBytes

    public static func encode(_ hello: Handshake.Hello) -> JSONValue {
        ["cmd": .string(helloCommand), "key": .string(hello.keyName), "nonce": .string(Hex.encode(hello.nonce))]
    }

    public static func encode(_ challenge: Handshake.Challenge) -> JSONValue {
        ["status": "ok", "nonce": .string(Hex.encode(challenge.nonce)), "proof": .string(Hex.encode(challenge.proof))]
    }

    public static func encode(_ proof: Handshake.Proof) -> JSONValue {
        ["cmd": .string(proofCommand), "proof": .string(Hex.encode(proof.proof))]
    }

    public static func welcome(_ session: Handshake.Session) -> JSONValue {
        ["status": "ok", "key": .string(session.keyName), "role": .string(session.role.rawValue)]
    }

    /// The hello in `frame`, or nil when the frame is not one (a request sent without authenticating).
    public static func hello(in frame: ArraySlice<UInt8>) throws(HandshakeError) -> Handshake.Hello? {
        guard let object = try? JSONParser.parse(frame).objectValue,
              object["cmd"]?.stringValue == helloCommand else { return nil }
        guard let name = object["key"]?.stringValue, Key.isValidName(name) else {
            throw .malformed("the hello names no valid key")
        }
        return Handshake.Hello(keyName: name, nonce: try bytes(object["nonce"], count: Handshake.nonceBytes))
    }

    public static func proof(in frame: ArraySlice<UInt8>) throws(HandshakeError) -> Handshake.Proof {
        guard let object = try? JSONParser.parse(frame).objectValue,
              object["cmd"]?.stringValue == proofCommand else { throw .malformed("expected auth_proof") }
        return Handshake.Proof(proof: try bytes(object["proof"], count: proofBytes))
    }

    /// The challenge in a reply, or the refusal it carries.
    public static func challenge(in reply: JSONValue) throws(HandshakeError) -> Handshake.Challenge {
        let object = reply.objectValue
        guard object?["status"]?.stringValue == "ok" else {
            let reason = object?["error"]?.stringValue ?? "\(reply)"
            guard AuthorityRefusal.isRefusal(reason) else {
                throw .refused(AuthorityRefusal.failedPrefix + " the other side takes no keys (it answered the hello: "
                    + "\(reason)); drop the key file, or start it with --cluster-key-file")
            }
            throw .refused(reason)
        }
        return Handshake.Challenge(nonce: try bytes(object?["nonce"], count: Handshake.nonceBytes),
                                   proof: try bytes(object?["proof"], count: proofBytes))
    }

    /// Checks a welcome; throws the refusal a failed proof got instead.
    public static func checkWelcome(_ reply: JSONValue) throws(HandshakeError) {
        let object = reply.objectValue
        guard object?["status"]?.stringValue == "ok" else {
            throw .refused(object?["error"]?.stringValue ?? "the other side did not accept the proof")
        }
    }

    private static func bytes(_ field: JSONValue?, count: Int) throws(HandshakeError) -> [UInt8] {
        guard let text = field?.stringValue, let bytes = Hex.decode(text), bytes.count == count else {
            throw .malformed("expected \(count) bytes in hex")
        }
        return bytes
    }
}
