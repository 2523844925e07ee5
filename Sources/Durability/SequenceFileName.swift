/// Names of the files a data directory numbers by a log sequence: a prefix, the sequence as 16 hex digits, a
/// suffix (`wal-0000000000000001.log`, `snap-00000000000003e8.snap`), so names sort as their sequences do.
struct SequenceFileName: Sendable {
    let prefix: String
    let suffix: String

    func name(_ sequence: UInt64) -> String {
        let digits = String(sequence, radix: 16)
        return prefix + String(repeating: "0", count: 16 - digits.count) + digits + suffix
    }

    /// The sequence in `name`, or nil when `name` is not one of these names.
    func sequence(of name: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix),
              name.utf8.count == prefix.utf8.count + 16 + suffix.utf8.count else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.allSatisfy(\.isHexDigit) else { return nil }
        return UInt64(digits, radix: 16)
    }
}
