/// The error replies of a process with keys to a request it will not serve, in words that say what is missing.
/// Each begins `authentication required:`, which the client turns into its own exit status.
public enum AuthorityRefusal {
    /// The prefix every such reply begins with.
    public static let prefix = "authentication required:"
    /// The prefix of every handshake or seal failure (`HandshakeError`, `SealError` as reported).
    public static let failedPrefix = "authentication failed:"

    /// Whether an error reply's `message` is a refusal of this connection's key or role: the wire says so by
    /// these prefixes (PROTOCOL.md, "Authentication"), and a client reads it once, where it decodes the reply,
    /// into an outcome of its own (`ClientError.refused`, `ReplicatedError.refused`). Retrying cannot help.
    public static func isRefusal(_ message: String) -> Bool {
        message.hasPrefix(prefix) || message.hasPrefix(failedPrefix)
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
