import Glibc

/// Exit statuses shared by the three executables; the client adds its own (see `ClientExitCode`).
public enum ToolExit {
    /// Wrong options or arguments (EX_USAGE from sysexits.h).
    public static let usage: Int32 = 64
    /// The process could not start, for example because no port was free.
    public static let startFailure: Int32 = 71
    /// A running server could not write its data directory and stopped (EX_IOERR).
    public static let diskFailure: Int32 = 74
}

/// Prints `message` and a hint to stderr, then exits with `ToolExit.usage`.
public func exitWithUsageError(_ tool: String, _ message: String) -> Never {
    let text = "\(tool): \(message)\nRun '\(tool) --help' for usage.\n"
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(ToolExit.usage)
}

/// Prints `message` to stderr and exits with `status`.
public func exitWithError(_ tool: String, _ message: String, status: Int32) -> Never {
    let text = "\(tool): \(message)\n"
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}
