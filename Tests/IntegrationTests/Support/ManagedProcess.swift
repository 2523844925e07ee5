import Foundation
import Glibc
import Testing

/// One of the project's executables running as a real child process, stopped by PID with real signals.
///
/// Its stdout is collected line by line so tests can wait for start-up lines ("listening on HOST:PORT");
/// stderr goes to a log file that failing tests print.
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let logURL: URL
    private let output = Pipe()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = Data()

    init(executable: String, arguments: [String], name: String, logDirectory: URL) throws {
        self.name = name
        logURL = logDirectory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = try Binaries.url(executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.append(data)
        }
        try process.run()
    }

    deinit { kill(SIGKILL) }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    private func append(_ data: Data) {
        lock.withLock {
            partial.append(data)
            while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
                partial.removeSubrange(partial.startIndex...newline)
            }
        }
    }

    var stdoutLines: [String] { lock.withLock { lines } }

    /// Waits for a stdout line starting with `prefix`; returns the rest of the latest such line.
    func waitForLine(prefix: String, timeoutMs: Int = 15_000, after count: Int = 0) throws -> String {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            let matching = stdoutLines.filter { $0.hasPrefix(prefix) }
            if matching.count > count, let line = matching.last {
                return String(line.dropFirst(prefix.count))
            }
            guard process.isRunning else { break }
            usleep(10_000)
        }
        throw HarnessError.timedOut("\(name) never printed '\(prefix)'; log:\n\(log)")
    }

    /// The port from the "listening on HOST:PORT" start-up line.
    func listeningPort() throws -> Int {
        let address = try waitForLine(prefix: "listening on ")
        guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw HarnessError.unexpected("cannot parse a port from '\(address)'")
        }
        return port
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) {
        if process.isRunning { Glibc.kill(pid, number) }
    }

    func kill(_ number: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGCONT)
        Glibc.kill(pid, number)
        process.waitUntilExit()
    }

    /// Waits for the process to exit on its own; returns its status, or nil on timeout.
    func waitForExit(timeoutMs: Int = 10_000) -> Int32? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

enum HarnessError: Error, CustomStringConvertible {
    case timedOut(String)
    case unexpected(String)

    var description: String {
        switch self {
        case .timedOut(let text), .unexpected(let text): return text
        }
    }
}

/// Finds the executables built next to the test bundle.
enum Binaries {
    static func url(_ name: String) throws -> URL {
        let testBinary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0])
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        throw HarnessError.unexpected("executable '\(name)' not found near \(testBinary.path); run 'swift build' first")
    }
}

/// What a finished tool run printed.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs an executable to completion and captures what it printed.
func runTool(_ executable: String, _ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = try Binaries.url(executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}
