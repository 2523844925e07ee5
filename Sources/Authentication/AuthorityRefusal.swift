/// The error replies of a process with keys to a request it will not serve, in words that say what is missing.
/// Each begins `authentication required:`, which the client turns into its own exit status.
public enum AuthorityRefusal {
    /// The prefix every such reply begins with.
    public static let prefix = "authentication required:"
    /// The prefix of every handshake or seal failure (`HandshakeError`, `SealError` as reported).
    public static let failedPrefix = "authentication failed:"

    /// Whether `text` reports a refusal for lack of a key or role, or a failed authentication: nothing a retry
    /// can change.
    public static func isAuthenticationFailure(_ text: String) -> Bool {
        reason(in: text) != nil
    }

    /// The refusal within `text` (from its prefix on), without what wrapped it on the way back; nil if none.
    public static func reason(in text: String) -> String? {
        guard let start = [prefix, failedPrefix].compactMap({ firstIndex(of: $0, in: text) }).min() else {
            return nil
        }
        return String(text[start...])
    }

    /// Where `needle` first occurs in `text` (this module has no Foundation).
    private static func firstIndex(of needle: String, in text: String) -> String.Index? {
        let bytes = text.utf8
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if bytes[index...].starts(with: needle.utf8) { return index }
            bytes.formIndex(after: &index)
        }
        return nil
    }

    /// To a connection that sent a request without the handshake.
    public static let keyRequired = prefix + " this process accepts only connections authenticated with a key; "
        + "give the client a key file (client --key-file FILE, or REPLICATEDKV_KEY_FILE) made with `client genkey`"

    /// The refusal of a request that needs `needed` on a connection whose key has only `held`; nil when allowed.
    public static func refusal(needed: Role, held: Role?) -> String? {
        guard let held, held < needed else { return nil }
        let what = needed == .member ? "a member's message, which needs the cluster key"
            : "a \(needed.rawValue) request, which needs a \(needed.rawValue) key"
        return "\(prefix) \(what); this connection's key is \(held.rawValue)"
    }
}
