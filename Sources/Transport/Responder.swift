import Authentication
import Wire

/// The one way to answer a request: call `reply` exactly once, from any thread.
///
/// Replies on a connection leave in the order its requests arrived, whatever order handlers finish in, so a
/// handler may answer later (after asking other servers) without the peer seeing replies reordered.
public struct Responder: Sendable {
    /// Numeric address of the peer that sent the request, e.g. "127.0.0.1".
    public let peerHost: String
    /// The role of the key the connection authenticated with; nil when this process takes no keys (anyone may do
    /// anything, as the classic protocol has it).
    public let role: Role?
    let server: FrameServer
    let connectionID: UInt64
    let sequence: UInt64

    /// Sends `reply` as the answer to this request.
    public func reply(_ reply: some FrameBody) {
        server.deliver(reply, connectionID: connectionID, sequence: sequence)
    }

    /// Sends a JSON value as the answer (this overload lets literals be written as JSON).
    public func reply(_ reply: JSONValue) {
        server.deliver(reply, connectionID: connectionID, sequence: sequence)
    }
}
