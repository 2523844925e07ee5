import Foundation

/// Where the processes keep what survives a restart when not told otherwise: the viewleader its state file, a
/// server its data directory. `$XDG_STATE_HOME/replicatedkv`, or `~/.local/state/replicatedkv`.
public enum StateRoot {
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let stateHome = environment["XDG_STATE_HOME"], !stateHome.isEmpty { return stateHome + "/replicatedkv" }
        return (environment["HOME"] ?? ".") + "/.local/state/replicatedkv"
    }
}
