import Glibc

/// A string compared, hashed and ordered by its exact UTF-8 bytes, as Redis and etcd treat keys.
///
/// Swift's `String` compares by Unicode canonical equivalence: "é" (U+00E9) and "e" followed by U+0301 are equal
/// as `String`s, yet they are different keys on the wire, hash to different ring positions and live on different
/// replicas. Every store, the write-ID memory and the lock table key by this type, so two different byte
/// strings are never one key, one lock or one requestor.
public struct ExactString: Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: String

    public init(_ text: String) { self.text = text }
    public init(stringLiteral text: String) { self.text = text }

    public var description: String { text }

    public static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.withBytes { left in
            rhs.withBytes { right in
                guard left.count == right.count else { return false }
                return left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
            }
        }
    }

    public static func < (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Calls `body` with the string's UTF-8 bytes, in place when the string stores them contiguously (native
    /// Swift strings always do).
    private func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }
}
