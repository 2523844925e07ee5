/// Bytes for keys and handshake nonces, from the system's generator: on Linux, getrandom(2), the kernel's
/// cryptographic source. The pure cores never call it; the shells pass its bytes in.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
