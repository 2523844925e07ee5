import Campaign
import ClientKit
import CommandLineKit
import Foundation
import Glibc
import Placement
import Testing
import Transport
import Wire

/// The `client` executable as a user runs it: output, exit statuses, and lock waiting with Ctrl-C.
@Suite(.serialized)
struct ClientToolTests {
    @Test func setGetAndQueryAllKeysPrintReadableOutput() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let server = "--server=127.0.0.1:\(try cluster.startServer().port)"
        #expect(try runTool("client", [server, "set", "greeting", "hello world"]).stdout == "ok\n")
        #expect(try runTool("client", [server, "get", "greeting"]).stdout == "hello world\n")
        #expect(try runTool("client", [server, "query_all_keys"]).stdout == "greeting\n")
        let json = try runTool("client", [server, "--json", "get", "greeting"])
        #expect(json.stdout == "{\"status\":\"ok\",\"value\":\"hello world\"}\n")
        #expect(try runTool("client", [server, "print", "--not-an-option", "words"]).status == 0)
        #expect(cluster.servers[0].log.contains("print: --not-an-option words"))
    }

    @Test func exitStatusSaysNotFoundErrorReplyAndUnreachableApart() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let server = "--server=127.0.0.1:\(try cluster.startServer().port)"
        let viewLeader = "--viewleader=127.0.0.1:\(cluster.viewLeaderPort)"
        let missing = try runTool("client", [server, "get", "nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("not found"))
        let tooLong = String(repeating: "x", count: 2_000)
        let errorReply = try runTool("client", [viewLeader, "lock_get", tooLong, "me"])
        #expect(errorReply.status == 2)
        #expect(errorReply.stderr.contains("lockid"))
        let unused = try Socket.listen(host: "127.0.0.1", port: 0)
        let deadPort = Socket.localPort(unused)
        close(unused)
        let unreachable = try runTool("client", ["--server=127.0.0.1:\(deadPort)", "get", "k"])
        #expect(unreachable.status == 3)
        #expect(unreachable.stderr.contains("Is it running?"))
        #expect(try runTool("client", ["frobnicate"]).status == 64)
        #expect(try runTool("client", ["get"]).status == 64)
    }

    /// Issue 17: with the wrong service named as the viewleader, replicated commands retried silently for 15 s. A
    /// peer that does not know `query_servers` ends the command at once, saying so; a viewleader that does not
    /// answer is retried with a line on stderr each second saying what the client waits for.
    @Test func aWrongViewLeaderFailsAtOnceAndAMissingOneIsReportedWhileRetrying() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let serverPort = try cluster.startServer().port
        let started = Date()
        let wrong = try runTool("client", ["--viewleader=127.0.0.1:\(serverPort)", "getr", "a"])
        #expect(Date().timeIntervalSince(started) < 5, "not retried for the whole budget")
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("127.0.0.1:\(serverPort) is not a viewleader"), "\(wrong.stderr)")

        let unused = try Socket.listen(host: "127.0.0.1", port: 0)
        let deadPort = Socket.localPort(unused)
        close(unused)
        let client = ReplicatedClient(viewLeaderHost: "127.0.0.1", viewLeaderPort: deadPort, timeoutMs: 500,
                                      retryBudgetMs: 2_500)
        var told: [String] = []
        client.onWaiting = { told.append($0) }
        #expect(throws: ReplicatedError.self) { _ = try client.getr("a") }
        #expect(!told.isEmpty && told.count <= 3, "\(told)")
        #expect(told.first?.hasPrefix("still trying after 1 s (gives up after 2 s; Ctrl-C stops): cannot get the "
            + "view") == true, "\(told)")
    }

    /// Issue 17: `{"status": "retry"}` to `set` printed `ok`. A reply this command does not expect is an error.
    @Test func aReplyWithAnUnexpectedStatusIsAnErrorNotSuccess() throws {
        let standIn = try FrameServer(host: "127.0.0.1", ports: [0], limits: WireLimits())
        let done = DispatchSemaphore(value: 0)
        Thread {
            standIn.run(frames: { _, responder in responder.reply(["status": "retry"] as JSONValue) })
            done.signal()
        }.start()
        defer {
            standIn.stop()
            done.wait()
        }
        for command in [["set", "k", "v"], ["get", "k"], ["print", "hi"], ["query_all_keys"]] {
            let result = try runTool("client", ["--server=127.0.0.1:\(standIn.port)"] + command)
            #expect(result.status == 2 && result.stdout.isEmpty, "\(command): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("does not answer this command"), "\(result.stderr)")
        }
    }

    /// Issue 17: the endpoints may come from REPLICATEDKV_SERVER and REPLICATEDKV_VIEWLEADER (options win), a bad
    /// one is reported under its own name, and `--timeout` bounds how long a replicated command retries.
    @Test func endpointsComeFromTheEnvironmentAndTimeoutBoundsRetries() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let serverPort = try cluster.startServer().port
        _ = try cluster.waitForView { $0.servers.count == 1 }
        let environment = ["REPLICATEDKV_SERVER": "127.0.0.1:\(serverPort)",
                           "REPLICATEDKV_VIEWLEADER": "127.0.0.1:\(cluster.viewLeaderPort)"]
        #expect(try runTool("client", ["set", "k", "v"], environment: environment).stdout == "ok\n")
        #expect(try runTool("client", ["get", "k"], environment: environment).stdout == "v\n")
        let replicated = try runTool("client", ["setr", "r", "1"], environment: environment)
        #expect(replicated.status == 0, "\(replicated.stderr)")
        let bad = try runTool("client", ["get", "k"], environment: ["REPLICATEDKV_SERVER": "host:99999"])
        #expect(bad.status == 64 && bad.stderr.contains("for $REPLICATEDKV_SERVER"), "\(bad.stderr)")
        let badOption = try runTool("client", ["--server", "host:0", "get", "k"])
        #expect(badOption.stderr.contains("for --server"), "\(badOption.stderr)")

        let unused = try Socket.listen(host: "127.0.0.1", port: 0)
        let deadPort = Socket.localPort(unused)
        close(unused)
        let started = Date()
        let bounded = try runTool("client", ["--viewleader", "127.0.0.1:\(deadPort)", "--timeout", "1.5", "getr", "r"])
        #expect(Date().timeIntervalSince(started) < 6, "retries end within --timeout, not 15 s")
        #expect(bounded.status == 3, "\(bounded.stderr)")
    }

    @Test func queryServersShowsTheEpochAndEachServer() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let server = try cluster.startServer()
        _ = try cluster.waitForView { $0.servers.count == 1 }
        let result = try runTool("client", ["--viewleader", "127.0.0.1:\(cluster.viewLeaderPort)", "query_servers"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("epoch 1, 1 live server"))
        #expect(result.stdout.contains("127.0.0.1:\(server.port)  id \(server.id)"))
    }

    @Test func lockGetWaitsUntilGrantedAndCtrlCWithdrawsFromTheQueue() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let viewLeader = "--viewleader=127.0.0.1:\(cluster.viewLeaderPort)"
        #expect(try runTool("client", [viewLeader, "lock_get", "L", "holder"]).stdout.contains("granted"))
        // A waiter interrupted with Ctrl-C leaves the queue.
        let quitter = try ChildProcess(executable: "client",
                                         arguments: [viewLeader, "--retry-interval", "0.1", "lock_get", "L", "quitter"],
                                         name: "quitter", logDirectory: cluster.directory)
        _ = try quitter.waitForLine(prefix: "waiting for lock")
        // A second waiter queues behind it and stays.
        let patient = try ChildProcess(executable: "client",
                                         arguments: [viewLeader, "--retry-interval", "0.1", "lock_get", "L", "patient"],
                                         name: "patient", logDirectory: cluster.directory)
        #expect(try patient.waitForLine(prefix: "waiting for lock").contains("position 2"))
        quitter.signal(SIGINT)
        #expect(quitter.waitForExit() == 130)
        #expect(quitter.log.contains("withdrew quitter"))
        // Releasing now hands the lock to the patient waiter, not to the one that left.
        #expect(try runTool("client", [viewLeader, "lock_release", "L", "holder"]).status == 0)
        #expect(patient.waitForExit() == 0)
        #expect(patient.stdoutLines.last?.contains("granted lock \"L\" to patient") == true)
        #expect(try runTool("client", [viewLeader, "lock_release", "L", "quitter"]).status == 1)
    }

    @Test(arguments: ["viewleader", "server", "client"])
    func everyExecutableExplainsItselfWithHelp(executable: String) throws {
        let result = try runTool(executable, ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("usage:") || result.stdout.contains("Usage:"))
        #expect(result.stdout.contains("--help"))
        #expect(result.stdout.contains("Examples:\n  \(executable) "), "help ends with examples to copy")
        let wrong = try runTool(executable, ["--no-such-option"])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("--help"))
        let version = try runTool(executable, ["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("\(executable) \(ToolVersion.current) (ReplicatedKV"),
                "\(version.stdout)")
        #expect(result.stdout.contains("--version"))
    }

    @Test func commandHelpDescribesTheCommand() throws {
        let result = try runTool("client", ["lock_get", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("lock_get LOCKID REQUESTOR"))
    }
}

/// `client hash` reports the placement the ring defines, for the live view.
@Suite(.serialized)
struct ClientHashTests {
    @Test func hashShowsThePositionAndTheThreeReplicasPrimaryFirst() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let servers = try (0..<4).map { _ in try cluster.startServer() }
        let view = try cluster.waitForView { $0.servers.count == 4 }
        let viewLeader = "--viewleader=127.0.0.1:\(cluster.viewLeaderPort)"
        let expected = HashRing(memberIDs: servers.map(\.id)).replicaSet(forKey: "color")
        let result = try runTool("client", [viewLeader, "hash", "color"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("key \"color\" is at position 2923 of 10000 (epoch \(view.epoch))"))
        let listed = result.stdout.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: " ").firstIndex(of: "id").map { String(line.split(separator: " ")[$0 + 1]) }
        }
        #expect(listed == expected)
        #expect(result.stdout.contains("primary  127.0.0.1:"))
        let json = try runTool("client", [viewLeader, "--json", "hash", "color"])
        #expect(json.stdout.contains("\"position\":2923"))
    }
}
