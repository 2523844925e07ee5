import CommandLineKit
import Foundation
import Glibc
import Testing

/// A viewleader or server whose parent asked to be outlived by nothing stops when that parent dies, so a crashed
/// test run or campaign leaves no process behind.
struct ParentWatchTests {
    @Test func serviceStopsWhenTheParentThatAskedDies() throws {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-parent-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let (shell, childPID) = try startShellWithViewLeader(stateDirectory: stateDirectory, watchParent: true)
        defer { Glibc.kill(childPID, SIGKILL) }
        #expect(isAlive(childPID))
        Glibc.kill(shell.processIdentifier, SIGKILL)
        #expect(waitUntilGone(shell.processIdentifier, timeoutMs: 10_000), "SIGKILL did not stop the shell")
        #expect(waitUntilGone(childPID, timeoutMs: 10_000), "the viewleader outlived the parent that asked it not to")
    }

    @Test func serviceKeepsRunningWithoutTheRequest() throws {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kv-parent-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let (shell, childPID) = try startShellWithViewLeader(stateDirectory: stateDirectory, watchParent: false)
        defer { Glibc.kill(childPID, SIGKILL) }
        Glibc.kill(shell.processIdentifier, SIGKILL)
        #expect(waitUntilGone(shell.processIdentifier, timeoutMs: 10_000), "SIGKILL did not stop the shell")
        // Several check intervals: a watch started by mistake would have stopped it by now.
        usleep(ParentWatch.checkIntervalMs * 1000 * 6)
        #expect(isAlive(childPID), "without the variable a daemonised viewleader must not stop with its parent")
    }

    /// Starts `sh`, which starts a viewleader in the background and waits; returns the shell and the
    /// viewleader's PID once it is listening.
    private func startShellWithViewLeader(stateDirectory: URL, watchParent: Bool) throws -> (Process, Int32) {
        let viewleader = try Binaries.url("viewleader").path
        let request = watchParent ? "\(ParentWatch.environmentKey)=$$ " : ""
        let script = "\(request)'\(viewleader)' --port 0 --state-dir '\(stateDirectory.path)' >'\(stateDirectory.path)/out.log' 2>&1 & echo $!; wait"
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment
        environment[ParentWatch.environmentKey] = nil
        shell.environment = environment
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte.first == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        guard let pid = Int32(String(decoding: line, as: UTF8.self)) else {
            throw HarnessError.unexpected("the shell printed no PID")
        }
        // Give the viewleader time to start its watch before the parent dies.
        try waitForListening(stateDirectory: stateDirectory, pid: pid)
        return (shell, pid)
    }

    /// Waits for the viewleader's "listening on" line, printed once it serves (and watches its parent).
    private func waitForListening(stateDirectory: URL, pid: Int32) throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let output = (try? String(contentsOf: stateDirectory.appendingPathComponent("out.log"), encoding: .utf8)) ?? ""
            if output.contains("listening on ") { return }
            guard isAlive(pid) else { throw HarnessError.unexpected("the viewleader exited during start-up") }
            usleep(20_000)
        }
        throw HarnessError.timedOut("the viewleader printed no 'listening on' line within 15 s")
    }

    /// Alive and not a zombie waiting to be reaped.
    private func isAlive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = status.lastIndex(of: ")") else { return false }
        let state = status[status.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    private func waitUntilGone(_ pid: Int32, timeoutMs: Int) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if !isAlive(pid) { return true }
            usleep(20_000)
        }
        return false
    }
}
