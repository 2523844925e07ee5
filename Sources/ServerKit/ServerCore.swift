import Wire

/// Something the server's shell must carry out.
public enum ServerEffect: Equatable, Sendable {
    /// A line for the operator's log (stderr); `print` requests produce these.
    case log(String)
}

/// The server's decisions for client requests: the unreplicated commands of the classic protocol.
public struct ServerCore: Sendable {
    public static let commands = ["print", "set", "get", "query_all_keys", "setr", "getr", "delr"]

    public private(set) var store = KeyValueStore()
    /// The latest epoch the viewleader told this server; -1 before the first accepted heartbeat.
    public private(set) var epoch: Int64 = -1

    public init() {}

    public mutating func handle(_ request: Request) throws(RequestError) -> (reply: JSONValue, effects: [ServerEffect]) {
        switch request.command {
        case "print":
            let words = try request.strings("text")
            return (Reply.ok, [.log("print: " + words.joined(separator: " "))])
        case "set":
            store[try request.string("key")] = try request.string("val")
            return (Reply.ok, [])
        case "get":
            guard let value = store[try request.string("key")] else { return (Reply.status("not_found"), []) }
            return (.object(["status": "ok", "value": .string(value)]), [])
        case "query_all_keys":
            return (.object(["result": .array(store.keys.map { .string($0) })]), [])
        default:
            throw .unknownCommand(request.command, known: Self.commands)
        }
    }

    /// Records the epoch from an accepted heartbeat; epochs never go backwards here.
    public mutating func observe(epoch newEpoch: Int64) {
        epoch = max(epoch, newEpoch)
    }
}
