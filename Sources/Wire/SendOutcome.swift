/// What became of one request sent over a connection, as far as the sender can know.
///
/// Only the first case proves the request had no effect: a server acts on a request once its whole frame has
/// arrived, so a connection that failed before the last byte was handed to the kernel carried nothing it could
/// act on. Once the whole frame is out, a broken connection or a missing reply says nothing about whether the
/// server acted. Callers decide what to do from this type, never from the text of an error.
public enum SendOutcome: Equatable, Sendable {
    /// The request certainly did not reach the server: no connection, or it broke before the whole frame was
    /// written. Carries what happened, for messages.
    case neverSent(String)
    /// The whole request was written but no reply came (the connection broke, the reply was unreadable, or the
    /// deadline passed): the server may have acted on it.
    case mayHaveArrived(String)
    /// The server replied.
    case answered(JSONValue)
    /// The peer refused this connection's key before any request was sent (or the key is the other side's
    /// refusal: not ours, or not accepted): nothing arrived, and trying again with the same key cannot help.
    case refused(String)
}
