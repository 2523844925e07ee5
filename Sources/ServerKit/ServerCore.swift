import Durability
import Wire

/// The server's decisions for client requests: the unreplicated commands of the classic protocol.
public struct ServerCore: Sendable {
    public private(set) var store = KeyValueStore()
    /// The latest epoch the viewleader told this server; -1 before the first accepted heartbeat.
    public private(set) var epoch: Int64 = -1
    /// The `set`s made since the last `takeJournal()`, in order, while journaling; nil in memory only.
    private var journal: [LogEntry]?

    public init() {}

    /// From now on, records every `set` for `takeJournal()`.
    public mutating func startJournaling() {
        if journal == nil { journal = [] }
    }

    /// The `set`s made since the last call, as log entries, in order; empty when not journaling.
    public mutating func takeJournal() -> [LogEntry] {
        guard let taken = journal, !taken.isEmpty else { return [] }
        journal = []
        return taken
    }

    /// Applies one logged `set`, as recovery replays a log; records nothing.
    public mutating func replay(_ entry: LogEntry) {
        guard case .classicSet(let key, let value) = entry else {
            preconditionFailure("the classic store replays only its own entries")
        }
        store[key] = EncodedString(value)
    }

    /// Answers `print`, `set` and `get`, with a line for the operator's log (`print`'s words); the replicated
    /// requests and `query_all_keys` (which lists both stores) are the caller's. No array is made per request:
    /// this answers every classic `get`.
    public mutating func handle(_ request: ServerRequest) -> (reply: ServerReply, logLine: String?) {
        switch request {
        case .print(let words):
            return (.ok, "print: " + words.joined(separator: " "))
        case .set(let key, let value):
            store[key] = EncodedString(value)
            journal?.append(.classicSet(key: key, value: value))
            return (.ok, nil)
        case .get(let key):
            guard let value = store[key] else { return (.notFound, nil) }
            return (.storedValue(value), nil)
        case .queryAllKeys, .getr, .write, .replicate, .pull, .viewChange:
            preconditionFailure("\(request) is not a classic request")
        }
    }

    /// Records the epoch from an accepted heartbeat; epochs never go backwards here.
    public mutating func observe(epoch newEpoch: Int64) {
        epoch = max(epoch, newEpoch)
    }
}
