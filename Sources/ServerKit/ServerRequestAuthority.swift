import Authentication
import Wire

extension ServerRequest {
    /// The least role a key needs to send this request to a server with keys (README, "Security").
    var requiredRole: Role {
        switch self {
        case .replicate, .pull, .viewChange: .member
        case .set, .write, .print: .readWrite
        case .get, .getr, .queryAllKeys: .readOnly
        }
    }
}
