import Testing
@testable import Authentication

struct HandshakeTests {
    let clusterKey = Key(name: "cluster", role: .member, secret: [UInt8](repeating: 1, count: 32))
    let writerKey = Key(name: "writer", role: .readWrite, secret: [UInt8](repeating: 2, count: 32))

    func nonce(_ seed: UInt8) -> [UInt8] { (0..<UInt8(Handshake.nonceBytes)).map { $0 &* 7 &+ seed } }

    /// Both sides of one handshake, run to the end: the initiator's and responder's sessions.
    func connect(with key: Key, accepting keys: [Key], initiatorNonce: UInt8 = 1, responderNonce: UInt8 = 2) throws
        -> (Handshake.Session, Handshake.Session)
    {
        let initiator = Handshake.Initiator(key: key, nonce: nonce(initiatorNonce))
        var responder = Handshake.Responder(keys: KeyFile(keys: keys), nonce: nonce(responderNonce))
        let challenge = try responder.challenge(initiator.hello)
        let (proof, initiatorSession) = try initiator.answer(challenge)
        return (initiatorSession, try responder.verify(proof))
    }

    @Test func bothSidesEndWithTheKeysRoleAndMatchingSeals() throws {
        let (client, server) = try connect(with: writerKey, accepting: [clusterKey, writerKey])
        #expect(server.role == .readWrite && server.keyName == "writer" && client.role == .readWrite)
        var clientSeal = client.seal
        var serverSeal = server.seal
        for index in 0..<5 {
            let request = Array("request \(index)".utf8)
            #expect(try serverSeal.open(clientSeal.seal(request)) == request)
            let reply = Array("reply \(index)".utf8)
            #expect(try clientSeal.open(serverSeal.seal(reply)) == reply)
        }
    }

    /// No message of the handshake carries the secret, or anything from which it is read off directly.
    @Test func theSecretIsNeverSent() throws {
        let initiator = Handshake.Initiator(key: writerKey, nonce: nonce(1))
        var responder = Handshake.Responder(keys: KeyFile(keys: [writerKey]), nonce: nonce(2))
        let hello = initiator.hello
        let challenge = try responder.challenge(hello)
        let (proof, _) = try initiator.answer(challenge)
        let sent = Array(hello.keyName.utf8) + hello.nonce + challenge.nonce + challenge.proof + proof.proof
        let secret = writerKey.secret
        #expect(!(0...(sent.count - secret.count)).contains { Array(sent[$0..<$0 + secret.count]) == secret })
    }

    @Test func anUnknownKeyNameIsRefused() throws {
        var responder = Handshake.Responder(keys: KeyFile(keys: [clusterKey]), nonce: nonce(2))
        #expect(throws: HandshakeError.unknownKey) {
            _ = try responder.challenge(Handshake.Initiator(key: writerKey, nonce: nonce(1)).hello)
        }
    }

    /// A key of the right name with the wrong secret fails on both sides: the initiator refuses the responder's
    /// proof, and a responder given a forged proof refuses it.
    @Test func aWrongSecretFailsBothWays() throws {
        let impostor = Key(name: "writer", role: .readWrite, secret: [UInt8](repeating: 9, count: 32))
        #expect(throws: HandshakeError.responderProofFailed) {
            _ = try connect(with: impostor, accepting: [writerKey])
        }
        var responder = Handshake.Responder(keys: KeyFile(keys: [writerKey]), nonce: nonce(2))
        _ = try responder.challenge(Handshake.Initiator(key: impostor, nonce: nonce(1)).hello)
        #expect(throws: HandshakeError.initiatorProofFailed) {
            _ = try responder.verify(Handshake.Proof(proof: [UInt8](repeating: 0, count: 32)))
        }
    }

    /// A proof recorded on one connection is refused on another: the responder's nonce differs.
    @Test func aRecordedProofIsRefusedOnAnotherConnection() throws {
        let initiator = Handshake.Initiator(key: writerKey, nonce: nonce(1))
        var first = Handshake.Responder(keys: KeyFile(keys: [writerKey]), nonce: nonce(2))
        let (recorded, _) = try initiator.answer(try first.challenge(initiator.hello))
        var second = Handshake.Responder(keys: KeyFile(keys: [writerKey]), nonce: nonce(3))
        _ = try second.challenge(initiator.hello)
        #expect(throws: HandshakeError.initiatorProofFailed) { _ = try second.verify(recorded) }
    }

    @Test func aNonceOfTheWrongSizeOrEchoedIsRefused() throws {
        var responder = Handshake.Responder(keys: KeyFile(keys: [writerKey]), nonce: nonce(2))
        #expect(throws: HandshakeError.self) {
            _ = try responder.challenge(Handshake.Hello(keyName: "writer", nonce: [1, 2, 3]))
        }
        #expect(throws: HandshakeError.self) {
            _ = try responder.challenge(Handshake.Hello(keyName: "writer", nonce: nonce(2)))
        }
        let initiator = Handshake.Initiator(key: writerKey, nonce: nonce(1))
        #expect(throws: HandshakeError.self) {
            _ = try initiator.answer(Handshake.Challenge(nonce: nonce(1), proof: []))
        }
    }
}
