/// What a key lets its holder do.
public enum Role: String, Sendable, CaseIterable, Comparable {
    /// Read only: `get`, `getr`, `query_servers`, `hash`.
    case readOnly = "read-only"
    /// A client's writes and locks besides reads.
    case readWrite = "read-write"
    /// A viewleader or server of the cluster: member messages (`heartbeat`, `replicate`, `pull`, `view_change`)
    /// besides everything a client may do.
    case member

    /// Roles in order of authority: each may do everything the ones before it may.
    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
