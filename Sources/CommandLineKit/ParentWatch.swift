import Foundation
import Glibc

/// Stops a service whose parent is gone, when the parent asked for that.
///
/// Test harnesses and the fault campaign start servers and viewleaders as children and stop them by PID. If the
/// harness itself crashes, nothing is left to stop them, and they would run (and hold ports) until someone
/// notices. A parent that sets `REPLICATEDKV_EXIT_WITH_PARENT` to its own PID gets them stopped, as if by
/// SIGTERM, within `checkIntervalMs` of its death: once the parent is gone the kernel hands the child to
/// another process, so `getppid()` no longer matches. Without the variable, nothing changes.
public enum ParentWatch {
    public static let environmentKey = "REPLICATEDKV_EXIT_WITH_PARENT"
    public static let checkIntervalMs: UInt32 = 250

    /// Starts watching if the environment asks for it; calls `stop` once when the parent is gone.
    public static func startIfRequested(log: Log, stop: @escaping @Sendable () -> Void) {
        guard let text = ProcessInfo.processInfo.environment[environmentKey], let parent = Int32(text) else { return }
        guard getppid() == parent else {
            log.info("parent \(parent) is already gone; shutting down")
            stop()
            return
        }
        Thread {
            while getppid() == parent { usleep(checkIntervalMs * 1000) }
            log.info("parent \(parent) is gone; shutting down")
            stop()
        }.start()
    }

    /// The environment a parent passes to a child it wants stopped when it dies.
    public static func childEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[environmentKey] = String(getpid())
        return environment
    }
}
