import Dispatch
import Wire

/// A server's connection to one peer, used from the event loop without blocking it.
///
/// Calls run in order on the link's own serial queue over one reused connection; each completion runs on that
/// queue, so callers hop back to their loop with `FrameServer.execute`.
final class PeerLink: @unchecked Sendable {
    static let callTimeoutMs = Int(ReplicaNode.peerCallTimeoutMs)

    let address: String
    private let queue: DispatchQueue
    /// Touched only on `queue`.
    private var connection: FrameConnection?

    init(address: String) {
        self.address = address
        queue = DispatchQueue(label: "peer \(address)")
    }

    func call(_ request: JSONValue, completion: @escaping @Sendable (Result<JSONValue, SocketError>) -> Void) {
        queue.async { [self] in
            completion(attempt(request))
        }
    }

    private func attempt(_ request: JSONValue) -> Result<JSONValue, SocketError> {
        guard let (host, port) = splitAddress(address) else { return .failure(.unresolvable(host: address, reason: "bad address")) }
        do throws(SocketError) {
            if connection == nil || !connection!.isOpen {
                connection = try FrameConnection(host: host, port: port, timeoutMs: Self.callTimeoutMs)
            }
            return .success(try connection!.call(request, timeoutMs: Self.callTimeoutMs))
        } catch {
            connection?.close()
            connection = nil
            return .failure(error)
        }
    }
}
