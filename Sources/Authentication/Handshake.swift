/// The challenge–response that opens an authenticated connection without sending a key: each side sends a fresh
/// nonce, each proves it holds the named key by an HMAC over both nonces, and both derive the connection's session
/// key from the same inputs under another label.
///
///     initiator → responder   hello:     key name, initiator nonce
///     responder → initiator   challenge: responder nonce, responder proof
///     initiator → responder   proof:     initiator proof
///
/// The responder proves itself first, so an initiator never answers a party that does not hold the key; every
/// value is bound to both nonces, so nothing recorded from one connection is accepted on another. Pure: nonces
/// come in from the caller (random in production, seeded in tests), and messages are values the codec frames.
public enum Handshake {
    /// Bytes of a nonce.
    public static let nonceBytes = 32

    public struct Hello: Sendable, Equatable {
        public let keyName: String
        public let nonce: [UInt8]
        public init(keyName: String, nonce: [UInt8]) {
            self.keyName = keyName
            self.nonce = nonce
        }
    }

    public struct Challenge: Sendable, Equatable {
        public let nonce: [UInt8]
        public let proof: [UInt8]
        public init(nonce: [UInt8], proof: [UInt8]) {
            self.nonce = nonce
            self.proof = proof
        }
    }

    public struct Proof: Sendable, Equatable {
        public let proof: [UInt8]
        public init(proof: [UInt8]) { self.proof = proof }
    }

    /// What both sides end with: the key's role (what the initiator may do) and the connection's seal.
    public struct Session: Sendable {
        public let keyName: String
        public let role: Role
        public let seal: FrameSeal
    }

    /// The value of `label` under `key` for the connection of these two nonces.
    static func derive(_ label: String, key: Key, initiatorNonce: [UInt8], responderNonce: [UInt8]) -> [UInt8] {
        var message = Array("replicatedkv \(label)".utf8) + [0]
        message += Array(key.name.utf8) + [0]
        message += initiatorNonce + responderNonce
        return HMAC(key: key.secret).code(message)
    }

    /// The initiator's side: hello, then check the challenge and answer with a proof.
    public struct Initiator: Sendable {
        private let key: Key
        private let nonce: [UInt8]

        public init(key: Key, nonce: [UInt8]) {
            precondition(nonce.count == Handshake.nonceBytes, "a nonce is \(Handshake.nonceBytes) bytes")
            self.key = key
            self.nonce = nonce
        }

        public var hello: Hello { Hello(keyName: key.name, nonce: nonce) }

        /// Checks the responder's proof; returns the proof to send and the session.
        public func answer(_ challenge: Challenge) throws(HandshakeError) -> (Proof, Session) {
            guard challenge.nonce.count == Handshake.nonceBytes else { throw .malformed("a nonce is 32 bytes") }
            guard challenge.nonce != nonce else { throw .malformed("the responder's nonce repeats ours") }
            let expected = derive("responder proof", key: key, initiatorNonce: nonce, responderNonce: challenge.nonce)
            guard HMAC.equal(expected, challenge.proof) else { throw .responderProofFailed }
            let proof = derive("initiator proof", key: key, initiatorNonce: nonce, responderNonce: challenge.nonce)
            let sessionKey = derive("session", key: key, initiatorNonce: nonce, responderNonce: challenge.nonce)
            return (Proof(proof: proof), Session(keyName: key.name, role: key.role,
                                                 seal: FrameSeal(sessionKey: sessionKey, side: .initiator)))
        }
    }

    /// The responder's side: look the key up and challenge, then check the initiator's proof.
    public struct Responder: Sendable {
        private let keys: KeyFile
        private let nonce: [UInt8]
        /// Set once a hello named a known key.
        private var accepted: (key: Key, initiatorNonce: [UInt8])?

        public init(keys: KeyFile, nonce: [UInt8]) {
            precondition(nonce.count == Handshake.nonceBytes, "a nonce is \(Handshake.nonceBytes) bytes")
            self.keys = keys
            self.nonce = nonce
        }

        public mutating func challenge(_ hello: Hello) throws(HandshakeError) -> Challenge {
            precondition(accepted == nil, "one hello per connection")
            guard hello.nonce.count == Handshake.nonceBytes else { throw .malformed("a nonce is 32 bytes") }
            guard hello.nonce != nonce else { throw .malformed("the initiator's nonce repeats ours") }
            guard let key = keys.key(named: hello.keyName) else { throw .unknownKey }
            accepted = (key, hello.nonce)
            return Challenge(nonce: nonce,
                             proof: derive("responder proof", key: key, initiatorNonce: hello.nonce,
                                           responderNonce: nonce))
        }

        public func verify(_ proof: Proof) throws(HandshakeError) -> Session {
            guard let (key, initiatorNonce) = accepted else { preconditionFailure("a proof before a hello") }
            let expected = derive("initiator proof", key: key, initiatorNonce: initiatorNonce, responderNonce: nonce)
            guard HMAC.equal(expected, proof.proof) else { throw .initiatorProofFailed }
            let sessionKey = derive("session", key: key, initiatorNonce: initiatorNonce, responderNonce: nonce)
            return Session(keyName: key.name, role: key.role, seal: FrameSeal(sessionKey: sessionKey, side: .responder))
        }
    }
}

/// Why a handshake failed. The connection is closed after it; the message never says more than which step.
public enum HandshakeError: Error, Equatable, CustomStringConvertible {
    /// The hello names a key this process does not accept.
    case unknownKey
    /// The initiator's proof does not match: it does not hold the key it named.
    case initiatorProofFailed
    /// The responder's proof does not match: it does not hold the key (a wrong key file, or not our cluster).
    case responderProofFailed
    /// A field is missing or of the wrong size.
    case malformed(String)
    /// The other side refused, saying why.
    case refused(String)

    public var description: String {
        switch self {
        case .unknownKey: "authentication failed: the key named is not accepted here"
        case .initiatorProofFailed: "authentication failed: wrong key"
        case .responderProofFailed: "authentication failed: the other side does not hold our key (wrong key file?)"
        case .malformed(let problem): "authentication failed: \(problem)"
        case .refused(let reason): reason
        }
    }
}
