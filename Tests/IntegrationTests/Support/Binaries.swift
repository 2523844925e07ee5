import Campaign
import Foundation
import Glibc
import Testing

extension ChildProcess {
    /// Starts one of the executables built next to the test bundle.
    convenience init(executable: String, arguments: [String], name: String, logDirectory: URL) throws {
        try self.init(executableURL: Binaries.url(executable), arguments: arguments, name: name,
                      logDirectory: logDirectory)
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

/// Runs an executable to completion and captures what it printed; `environment` adds to (or replaces entries of)
/// this process's environment.
func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
    -> CommandResult
{
    let process = Process()
    process.executableURL = try Binaries.url(executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
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
