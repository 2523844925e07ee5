import CommandLineKit
import Foundation
import Glibc

/// One of the project's executables running as a real child process, stopped by PID with real signals.
///
/// Its stdout is collected line by line, so callers can wait for start-up lines ("listening on HOST:PORT");
/// stderr goes to a log file that a failing test or campaign prints. Given a network namespace, it runs under
/// `ip netns exec`, which execs the program in place: the PID signalled is the program's own.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let process = Process()
    public let logURL: URL
    private let output = Pipe()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = Data()

    public init(executableURL: URL, arguments: [String], name: String, logDirectory: URL,
                networkNamespace: String? = nil) throws
    {
        self.name = name
        logURL = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        if let networkNamespace {
            process.executableURL = try SystemTool.url("ip")
            process.arguments = ["netns", "exec", networkNamespace, executableURL.path] + arguments
        } else {
            process.executableURL = executableURL
            process.arguments = arguments
        }
        process.environment = ParentWatch.childEnvironment()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.append(data)
        }
        try process.run()
    }

    deinit { kill(SIGKILL) }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    private func append(_ data: Data) {
        lock.withLock {
            partial.append(data)
            while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
                partial.removeSubrange(partial.startIndex...newline)
            }
        }
    }

    public var stdoutLines: [String] { lock.withLock { lines } }

    /// Waits for a stdout line starting with `prefix`; returns the rest of the latest such line, once more than
    /// `count` such lines were printed.
    public func waitForLine(prefix: String, timeoutMs: Int = 15_000, after count: Int = 0) throws(ChildProcessError)
        -> String
    {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            let matching = stdoutLines.filter { $0.hasPrefix(prefix) }
            if matching.count > count, let line = matching.last {
                return String(line.dropFirst(prefix.count))
            }
            guard process.isRunning else { break }
            usleep(10_000)
        }
        throw .timedOut("\(name) never printed '\(prefix)'; log:\n\(log)")
    }

    /// The port from the "listening on HOST:PORT" start-up line.
    public func listeningPort() throws(ChildProcessError) -> Int {
        let address = try waitForLine(prefix: "listening on ")
        guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw .unexpected("cannot parse a port from '\(address)'")
        }
        return port
    }

    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) {
        if process.isRunning { Glibc.kill(pid, number) }
    }

    /// Sends `number` (after SIGCONT, so a paused process can act on it) and waits for the process to exit.
    public func kill(_ number: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGCONT)
        Glibc.kill(pid, number)
        process.waitUntilExit()
    }

    /// Waits for the process to exit on its own; returns its status, or nil on timeout.
    public func waitForExit(timeoutMs: Int = 10_000) -> Int32? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case timedOut(String)
    case unexpected(String)

    public var description: String {
        switch self {
        case .timedOut(let text), .unexpected(let text): return text
        }
    }
}

/// Programs of the operating system the campaign drives (`ip`), found where Debian installs them.
enum SystemTool {
    static let directories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    static func url(_ name: String) throws(ChildProcessError) -> URL {
        for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return URL(fileURLWithPath: "\(directory)/\(name)")
        }
        throw .unexpected("'\(name)' not found in \(directories.joined(separator: ", ")); install iproute2")
    }

    /// Runs the tool to completion; returns its status and everything it printed.
    @discardableResult
    static func run(_ name: String, _ arguments: [String]) throws(ChildProcessError) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try url(name)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw .unexpected("cannot run \(name): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
