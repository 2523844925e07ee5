import Authentication
import Wire

extension ViewLeaderRequest {
    /// The least role a key needs to send this request to a viewleader with keys (README, "Security").
    var requiredRole: Role {
        switch self {
        case .heartbeat, .suspect: .member
        case .lockGet, .lockRelease: .readWrite
        case .queryServers: .readOnly
        }
    }
}
