import Authentication
import ClientKit
import CommandLineKit
import Dispatch
import Glibc
import Transport
import Wire

/// Exit statuses of the `client` executable, documented in `--help` and README.
public enum ClientExitCode {
    public static let success: Int32 = 0
    /// The key, or the lock interest to release, does not exist.
    public static let notFound: Int32 = 1
    /// The server or viewleader answered with an error reply.
    public static let errorReply: Int32 = 2
    /// Nothing answered, or no reply came in time.
    public static let unreachable: Int32 = 3
    /// A replicated write reached a server but was never acknowledged: it may or may not have taken effect.
    public static let outcomeUnknown: Int32 = 4
    /// Refused for want of a key or of a key's role, or the handshake failed (wrong key, not our cluster).
    public static let authentication: Int32 = 5

    /// The status for an error reply the peer sent: `authentication` for a refused key or role
    /// (`AuthorityRefusal.isRefusal`), which no retry fixes, `errorReply` for any other.
    static func forErrorReply(_ message: String) -> Int32 {
        AuthorityRefusal.isRefusal(message) ? authentication : errorReply
    }
    /// Interrupted by Ctrl-C (128 + SIGINT).
    public static let interrupted: Int32 = 130
}

/// The `client` executable: one command per run, against a server or the viewleader.
public enum ClientCommand {
    static let defaultTimeoutSeconds = 5.0
    static let defaultRetryIntervalSeconds = 5.0
    /// How long replicated commands retry when `--timeout` is not given.
    static let defaultRetryBudgetMs = 15_000
    /// The environment variables that name the endpoints when the options do not (as etcdctl's
    /// `ETCDCTL_ENDPOINTS`).
    public static let serverVariable = "REPLICATEDKV_SERVER"
    public static let viewLeaderVariable = "REPLICATEDKV_VIEWLEADER"

    static let specs: [OptionSpec] = [
        .value("server", placeholder: "HOST[:PORT]",
               help: "server for print, set, get, query_all_keys (default $\(serverVariable), else 127.0.0.1 "
                   + "trying ports \(DefaultPorts.describe(DefaultPorts.server)))"),
        .value("viewleader", placeholder: "HOST[:PORT]",
               help: "viewleader for setr, getr, delr, hash, query_servers, locks and bench (default "
                   + "$\(viewLeaderVariable), else 127.0.0.1 trying ports "
                   + "\(DefaultPorts.describe(DefaultPorts.viewLeader)))"),
        .flag("json", help: "print the raw JSON reply instead of a readable summary"),
        .value("key-file", placeholder: "FILE",
               help: "authenticate with the first key of FILE (default: $\(KeyFileOption.environmentVariable), "
                   + "if set)"),
        .value("timeout", placeholder: "SECONDS",
               help: "time to wait for each reply (default \(defaultTimeoutSeconds)); given, it also bounds how long "
                   + "setr, getr and delr retry (default \(defaultRetryBudgetMs / 1_000) s, at most "
                   + "\(ReplicatedOperation.retryBudgetMsMax / 1_000) s)"),
        .value("retry-interval", placeholder: "SECONDS",
               help: "lock_get: time between asks while waiting (default \(defaultRetryIntervalSeconds))"),
        ToolVersion.spec,
        .flag("help", short: "h", help: "show this help, or a command's help after the command"),
    ]

    struct CommandInfo {
        let name: String
        let arguments: String
        let summary: String
        let argumentCount: ClosedRange<Int>
    }

    static let commands: [CommandInfo] = [
        CommandInfo(name: "print", arguments: "WORDS...", summary: "ask the server to log the words",
                    argumentCount: 0...Int.max),
        CommandInfo(name: "set", arguments: "KEY VALUE", summary: "store VALUE under KEY on the server",
                    argumentCount: 2...2),
        CommandInfo(name: "get", arguments: "KEY", summary: "print the value stored under KEY (exit 1 if none)",
                    argumentCount: 1...1),
        CommandInfo(name: "query_all_keys", arguments: "", summary: "list every key the server holds",
                    argumentCount: 0...0),
        CommandInfo(name: "query_servers", arguments: "", summary: "show the epoch and the live servers",
                    argumentCount: 0...0),
        CommandInfo(name: "setr", arguments: "KEY VALUE",
                    summary: "store VALUE under KEY in the replicated store (on KEY's three ring successors)",
                    argumentCount: 2...2),
        CommandInfo(name: "getr", arguments: "KEY",
                    summary: "print KEY's value from the replicated store (exit 1 if none)", argumentCount: 1...1),
        CommandInfo(name: "delr", arguments: "KEY", summary: "delete KEY from the replicated store",
                    argumentCount: 1...1),
        CommandInfo(name: "hash", arguments: "KEY",
                    summary: "show KEY's ring position and its replica set in the current view",
                    argumentCount: 1...1),
        CommandInfo(name: "lock_get", arguments: "LOCKID REQUESTOR",
                    summary: "wait until REQUESTOR holds LOCKID; Ctrl-C withdraws from the queue",
                    argumentCount: 2...2),
        CommandInfo(name: "lock_release", arguments: "LOCKID REQUESTOR",
                    summary: "release LOCKID, or leave its queue (exit 1 if REQUESTOR had neither)",
                    argumentCount: 2...2),
        CommandInfo(name: "genkey", arguments: "NAME ROLE",
                    summary: "print a new random key as a key file's line (ROLE: member, read-write or read-only)",
                    argumentCount: 2...2),
        CommandInfo(name: "bench", arguments: "[BENCH OPTIONS]",
                    summary: "measure throughput and latency under load ('client bench --help')",
                    argumentCount: 0...Int.max),
    ]

    static var helpText: String {
        let width = commands.map { ($0.name + " " + $0.arguments).count }.max()!
        let table = commands.map { command in
            let left = command.name + (command.arguments.isEmpty ? "" : " " + command.arguments)
            return "  " + left.padding(toLength: width + 2, withPad: " ", startingAt: 0) + command.summary
        }.joined(separator: "\n")
        return OptionParser.helpText(
            usage: "client [OPTIONS] COMMAND [ARGS...]",
            description: """
                Sends one command to a server or the viewleader and prints the answer.

                Commands:
                \(table)

                Exit status: 0 success, 1 not found, 2 error reply, 3 unreachable or timed out, \
                4 outcome unknown (a write that may or may not have taken effect), 5 authentication refused (no key, \
                a wrong key, or a read-only key for a write), 64 usage error, 130 interrupted.

                Keys: with --key-file FILE (or REPLICATEDKV_KEY_FILE=FILE) every connection authenticates with the \
                file's first key; make one with 'client genkey NAME ROLE'.
                """,
            specs: specs,
            examples: [
                "client setr color blue && client getr color",
                "client --viewleader 127.0.0.1:39000 hash color",
                "client --server 127.0.0.1:38001 --json get color",
                "client lock_get build-lock alice",
                "client genkey ops read-write >> cluster.keys",
            ])
    }

    /// The endpoint `--OPTION` names, else the environment variable, else 127.0.0.1 on the default ports.
    static func endpoint(_ parsed: ParsedOptions, option: String, variable: String) throws(OptionError) -> HostPort {
        if let given = parsed.value(option) { return try HostPort.parse(given, option: option) }
        if let text = getenv(variable).map({ String(cString: $0) }), !text.isEmpty {
            return try HostPort.parse(text, option: "$" + variable)
        }
        return HostPort(host: "127.0.0.1", port: nil)
    }

    /// Runs the client with command-line `arguments` (without the program name); returns the exit status.
    public static func main(arguments: [String]) -> Int32 {
        let parsed: ParsedOptions
        let timeoutMs: Int
        let retryIntervalMs: Int
        let server: HostPort
        let viewLeader: HostPort
        do {
            parsed = try OptionParser.parse(arguments, specs: specs, stopAtFirstPositional: true)
            timeoutMs = Int(1000 * (try parsed.seconds("timeout", default: defaultTimeoutSeconds, range: 0.01...3_600)))
            retryIntervalMs = Int(1000 * (try parsed.seconds("retry-interval", default: defaultRetryIntervalSeconds,
                                                             range: 0.01...30)))
            server = try endpoint(parsed, option: "server", variable: serverVariable)
            viewLeader = try endpoint(parsed, option: "viewleader", variable: viewLeaderVariable)
            let environmentKeyFile = getenv(KeyFileOption.environmentVariable).map { String(cString: $0) }
            if parsed.has("key-file") || environmentKeyFile != nil {
                let source = parsed.has("key-file") ? "--key-file" : "$" + KeyFileOption.environmentVariable
                let path = parsed.string("key-file", default: environmentKeyFile ?? "")
                ConnectionCredentials.key = try KeyFileOption.load(path, source: source).keys.first
            }
        } catch {
            exitWithUsageError("client", error.description)
        }
        if parsed.has("version") {
            printLine(ToolVersion.line("client"))
            return ClientExitCode.success
        }
        guard let name = parsed.positionals.first else {
            if parsed.has("help") {
                printLine(helpText)
                return ClientExitCode.success
            }
            exitWithUsageError("client", "no command given")
        }
        guard let command = commands.first(where: { $0.name == name }) else {
            exitWithUsageError("client", "unknown command '\(name)'; commands: "
                + commands.map(\.name).joined(separator: ", "))
        }
        let words = Array(parsed.positionals.dropFirst())
        if command.name == "bench" {
            var base = BenchConfiguration()
            base.server = server
            base.viewLeader = viewLeader
            base.json = parsed.has("json")
            base.timeoutMs = timeoutMs
            return BenchCommand.main(words: parsed.has("help") ? ["--help"] : words, base: base)
        }
        if parsed.has("help") || words.contains("--help") || words.contains("-h") && command.name != "print" {
            printLine("usage: client [OPTIONS] \(command.name) \(command.arguments)\n\n\(command.summary)\n"
                + "\nRun 'client --help' for the options.")
            return ClientExitCode.success
        }
        guard command.argumentCount.contains(words.count) else {
            exitWithUsageError("client", "usage: client \(command.name) \(command.arguments)")
        }
        if command.name == "genkey" {
            return KeyGeneration.run(name: words[0], role: words[1])
        }
        Socket.ignoreBrokenPipes()
        let retryBudgetMs = parsed.has("timeout")
            ? min(timeoutMs, Int(ReplicatedOperation.retryBudgetMsMax)) : defaultRetryBudgetMs
        let run = ClientRun(json: parsed.has("json"), timeoutMs: timeoutMs, retryBudgetMs: retryBudgetMs,
                            retryIntervalMs: retryIntervalMs,
                            server: server, viewLeader: viewLeader)
        return run.execute(command.name, words)
    }
}

/// One invocation of the client: sends the command, renders the reply, picks the exit status.
struct ClientRun {
    let json: Bool
    let timeoutMs: Int
    /// How long replicated commands retry in all.
    let retryBudgetMs: Int
    let retryIntervalMs: Int
    let server: HostPort
    let viewLeader: HostPort

    func execute(_ command: String, _ words: [String]) -> Int32 {
        switch command {
        case "print":
            return send(toServer: .print(words: words)) { $0 == .ok ? "ok" : nil }
        case "set":
            return send(toServer: .set(key: words[0], value: words[1])) { $0 == .ok ? "ok" : nil }
        case "get":
            return send(toServer: .get(key: words[0])) { reply in
                if case .value(let value) = reply { value } else { nil }
            }
        case "query_all_keys":
            return send(toServer: .queryAllKeys) { reply in
                guard case .keys(let keys, let truncated) = reply else { return nil }
                guard !keys.isEmpty else { return "(no keys)" }
                let more = truncated ? ["(more keys not listed: the server holds more than one reply can carry)"] : []
                return (keys + more).joined(separator: "\n")
            }
        case "query_servers":
            return queryServers()
        case "setr", "getr", "delr":
            return replicated(command, words)
        case "hash":
            return hash(words[0])
        case "lock_get":
            return LockWait(invocation: self, lockID: words[0], requestor: words[1]).run()
        case "lock_release":
            let request = ViewLeaderRequest.lockRelease(lockID: words[0], requestor: words[1])
            let reply: JSONValue
            do {
                reply = try viewLeaderEndpoint().call(request.json)
            } catch {
                return report(error)
            }
            return show(lockReply: reply, expected: .released, text: "released lock \"\(words[0])\"")
        default:
            preconditionFailure("command table and dispatch disagree on \(command)")
        }
    }

    /// Runs a replicated command through `ReplicatedClient`, which hides view changes behind retries.
    private func replicated(_ command: String, _ words: [String]) -> Int32 {
        let client = ReplicatedClient(viewLeaderHost: viewLeader.host, viewLeaderPort: viewLeader.port,
                                      timeoutMs: timeoutMs, retryBudgetMs: retryBudgetMs)
        client.onWaiting = { printError("client: \($0)") }
        do {
            switch command {
            case "setr":
                try client.setr(words[0], words[1])
                printLine(json ? ServerReply.ok.json.description : "ok")
            case "delr":
                try client.delr(words[0])
                printLine(json ? ServerReply.ok.json.description : "ok")
            default:
                guard let value = try client.getr(words[0]) else {
                    if json { printLine(ServerReply.notFound.json.description) } else { printError("not found") }
                    return ClientExitCode.notFound
                }
                printLine(json ? ServerReply.value(value).json.description : value)
            }
            return ClientExitCode.success
        } catch {
            printError("client: \(error)")
            switch error {
            case .unavailable: return ClientExitCode.unreachable
            case .unknownOutcome: return ClientExitCode.outcomeUnknown
            case .errorReply: return ClientExitCode.errorReply
            case .refused: return ClientExitCode.authentication
            }
        }
    }

    /// Prints where `key` lives: its position and its replicas, primary first, in the current view.
    private func hash(_ key: String) -> Int32 {
        let view: ViewDescription
        do {
            view = try ViewLeaderClient(host: viewLeader.host, port: viewLeader.port, timeoutMs: timeoutMs)
                .queryServers()
        } catch {
            return report(error)
        }
        let ring = view.ring
        let replicas = ring.replicaSet(forKey: key)
        if json {
            printLine(JSONValue.object([
                "key": .string(key), "position": .integer(Int64(ring.position(ofKey: key))),
                "epoch": .integer(view.epoch), "ring_size": .integer(Int64(ring.ringSize)),
                "replicas": .array(replicas.map { id in
                    .object(["id": .string(id), "address": .string(view.address(of: id) ?? "?")])
                }),
            ]).description)
            return ClientExitCode.success
        }
        printLine("key \"\(key)\" is at position \(ring.position(ofKey: key)) of \(ring.ringSize) (epoch \(view.epoch))")
        if replicas.isEmpty { printLine("no live servers: the key has no replicas") }
        for (index, id) in replicas.enumerated() {
            let role = index == 0 ? "primary" : "backup "
            let position = ring.members.first { $0.id == id }?.position ?? -1
            printLine("  \(role)  \(view.address(of: id) ?? "?")  id \(id)  position \(position)")
        }
        return ClientExitCode.success
    }

    func viewLeaderEndpoint() -> EndpointClient {
        EndpointClient(host: viewLeader.host, candidatePorts: viewLeader.port.map { [$0] } ?? Array(DefaultPorts.viewLeader),
                       timeoutMs: timeoutMs)
    }

    /// Prints the live servers of the current view, one line each.
    private func queryServers() -> Int32 {
        let reply: JSONValue
        do {
            reply = try viewLeaderEndpoint().call(ViewLeaderRequest.queryServers.json, idempotent: true)
        } catch {
            return report(error)
        }
        if let message = Reply.errorMessage(in: reply) {
            return show(reply, exit: ClientExitCode.forErrorReply(message), text: "error: \(message)")
        }
        let view: ViewDescription
        do {
            view = try ViewDescription(reply: reply)
        } catch {
            return report(.malformedReply("query_servers: \(error)"))
        }
        let count = view.servers.count
        let lines = ["epoch \(view.epoch), \(count) live server\(count == 1 ? "" : "s")"]
            + view.servers.map { "  \($0.address)  id \($0.id)" }
        return show(reply, exit: ClientExitCode.success, text: lines.joined(separator: "\n"))
    }

    /// Sends a classic command to the server and prints its reply, `render`ed when it succeeded.
    /// `render` gives the text of a reply that answers the request, and nil for any other: a reply with a status
    /// this command does not expect (`{"status": "retry"}` to a `set`) is an error, never printed as success.
    private func send(toServer request: ServerRequest, render: (ServerReply) -> String?) -> Int32 {
        let endpoint = EndpointClient(host: server.host,
                                      candidatePorts: server.port.map { [$0] } ?? Array(DefaultPorts.server),
                                      timeoutMs: timeoutMs)
        let json: JSONValue
        let reply: ServerReply
        do {
            json = try endpoint.call(request.json)
            reply = try ServerReply(json)
        } catch let error as ClientError {
            return report(error)
        } catch {
            return report(.malformedReply("\(error)"))
        }
        switch reply {
        case .error(let reason): return show(json, exit: ClientExitCode.forErrorReply(reason), text: "error: \(reason)")
        case .notFound: return show(json, exit: ClientExitCode.notFound, text: "not found")
        default:
            guard let text = render(reply) else {
                return report(.malformedReply("\(endpoint.endpointDescription) answered \(json), which does not "
                    + "answer this command; is it a ReplicatedKV server?"))
            }
            return show(json, exit: ClientExitCode.success, text: text)
        }
    }

    /// Prints a lock reply: `text` when it is the `expected` answer, else what went wrong.
    func show(lockReply json: JSONValue, expected: LockReply, text: String) -> Int32 {
        let reply: LockReply
        do {
            reply = try LockReply(json)
        } catch {
            return report(.malformedReply(error.description))
        }
        switch reply {
        case expected:
            return show(json, exit: ClientExitCode.success, text: text)
        case .refused(let reason):
            return show(json, exit: ClientExitCode.forErrorReply(reason), text: "error: \(reason)")
        case .unknown where expected == .released:
            return show(json, exit: ClientExitCode.notFound,
                        text: "nothing to release: the requestor neither holds nor waits for this lock")
        default:
            return report(.malformedReply("\(json)"))
        }
    }

    /// Prints a reply, as JSON with `--json`, else as `text` (on standard error unless it is a success), and
    /// returns `exit`.
    func show(_ reply: JSONValue, exit: Int32, text: String) -> Int32 {
        if json {
            printLine(reply.description)
        } else if exit == ClientExitCode.success {
            printLine(text)
        } else {
            printError(text)
        }
        return exit
    }

    func report(_ error: ClientError) -> Int32 {
        switch error {
        case .refused:
            printError("client: \(error). Check --key-file: the key must be one the process accepts, with a role "
                + "that allows the command.")
            return ClientExitCode.authentication
        case .unreachable:
            printError("client: \(error). Is it running? 'scripts/cluster start' starts a local cluster.")
            return ClientExitCode.unreachable
        case .noReply:
            printError("client: \(error). Is the process stopped or overloaded? Try again with a longer --timeout.")
            return ClientExitCode.unreachable
        case .errorReply, .malformedReply:
            printError("client: \(error)")
            return ClientExitCode.errorReply
        }
    }
}

func printError(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
