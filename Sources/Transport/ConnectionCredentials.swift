import Authentication
import Synchronization

/// The key this process authenticates its outgoing connections with, if it has one: set once at start-up from
/// `--key-file` (a client) or `--cluster-key-file` (a viewleader or server), read by every connection it opens.
public enum ConnectionCredentials {
    private static let current = Mutex<Key?>(nil)

    public static var key: Key? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
