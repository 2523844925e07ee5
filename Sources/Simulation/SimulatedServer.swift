import Placement
import Seeded
import ServerKit
import Wire

/// Whether a simulated process runs.
enum ProcessState: Equatable {
    /// Its machine has not started a server yet.
    case notStarted
    case running
    /// Stopped as by SIGSTOP: connections are accepted, but nothing is handled until it resumes.
    case paused
    /// Killed; its memory is gone. A server may be started again on the machine.
    case crashed
    /// Killed for good: the machine left the cluster.
    case retired

    /// Alive enough to accept connections.
    var isAlive: Bool { self == .running || self == .paused }
}

/// One machine's server process: the real `HeartbeatSession` and `ReplicaNode`, with what the shell keeps.
struct SimulatedServer {
    let machine: Int
    let ringSize: Int
    var state = ProcessState.notStarted
    /// Rises with every start and crash, so timers and calls of an earlier process are recognised and dropped.
    var incarnation = 0
    var session: HeartbeatSession
    var node: ReplicaNode
    /// What the node last published for heartbeats.
    var syncedEpoch: Int64 = -1
    /// The highest epoch the node published as known, as `ReplicaShell.knownEpoch`.
    var knownEpoch: Int64 = -1
    /// The view the node published, as `ReplicaShell.adoptedView`.
    var adoptedView: ViewDescription?
    /// Requests the node has yet to answer, by the token it was given.
    var waiting: [RequestToken: Simulation.Delivery] = [:]
    var nextToken: UInt64 = 1

    init(machine: Int, ringSize: Int) {
        self.machine = machine
        self.ringSize = ringSize
        session = HeartbeatSession(serverID: "unstarted", port: SimulatedNetwork.serverPort,
                                   advertisedHost: SimulatedNetwork.host(ofMachine: machine))
        node = ReplicaNode(serverID: "unstarted", ringSize: ringSize)
    }

    func isCurrent(_ incarnation: Int) -> Bool { state.isAlive && incarnation == self.incarnation }

    /// A fresh process under `serverID`, with nothing in memory.
    mutating func boot(as serverID: String) {
        state = .running
        incarnation += 1
        session = HeartbeatSession(serverID: serverID, port: SimulatedNetwork.serverPort,
                                   advertisedHost: SimulatedNetwork.host(ofMachine: machine))
        node = ReplicaNode(serverID: serverID, ringSize: ringSize)
        syncedEpoch = -1
        knownEpoch = -1
        adoptedView = nil
        waiting = [:]
    }

    mutating func kill(retiring: Bool) {
        state = retiring ? .retired : .crashed
        incarnation += 1
        waiting = [:]
    }
}

extension Simulation {
    func freshServerID() -> String {
        defer { nextServerNumber += 1 }
        return "s\(nextServerNumber)"
    }

    /// Starts a server on `machine`; it heartbeats within one interval, as a real one does at start-up.
    func startServer(_ machine: Int) {
        servers[machine].boot(as: freshServerID())
        backlogs[.server(machine)] = nil
        schedule(.heartbeatDue(machine: machine, incarnation: servers[machine].incarnation),
                 afterMs: random.ms(in: 0...configuration.heartbeatIntervalMs))
    }

    func killServer(_ machine: Int, retiring: Bool) {
        servers[machine].kill(retiring: retiring)
        backlogs[.server(machine)] = nil
    }

    // MARK: Heartbeats

    func sendHeartbeat(_ machine: Int) {
        let server = servers[machine]
        let heartbeat = server.session.request(syncedEpoch: server.syncedEpoch, knownEpoch: server.knownEpoch,
                                               view: server.adoptedView)
        call(from: .server(machine), to: .viewLeader, heartbeat, purpose: .heartbeat(sentMs: nowMs),
             timeoutMs: configuration.heartbeatTimeoutMs, duplicable: true)
    }

    /// Mirrors `ServerService`'s heartbeat loop: act on the answer, then wait one interval.
    func heartbeatFinished(_ machine: Int, _ reply: JSONValue?, sentMs: Int64) {
        if let reply {
            switch servers[machine].session.receive(reply) {
            case .accepted(let epoch, _, _):
                let session = servers[machine].session
                perform(servers[machine].node.heartbeatAccepted(
                    sentMs: sentMs, epoch: epoch, leaseMs: session.leaseMs ?? 0,
                    allSyncedEpoch: session.allSyncedEpoch), on: machine)
            case .denied:
                let freshID = freshServerID()
                note("\(servers[machine].session.serverID) on machine \(machine) was denied; restarts as \(freshID)")
                servers[machine].session.restart(as: freshID)
                perform(servers[machine].node.restart(as: freshID), on: machine)
            case .retry, .malformed:
                break
            }
        }
        schedule(.heartbeatDue(machine: machine, incarnation: servers[machine].incarnation),
                 afterMs: configuration.heartbeatIntervalMs)
    }

    // MARK: Requests and actions

    func serverReceives(_ request: Request, _ delivery: Delivery, machine: Int) {
        let token = RequestToken(servers[machine].nextToken)
        servers[machine].nextToken += 1
        do throws(RequestError) {
            let decoded = try ServerRequest(request)
            switch decoded {
            case .getr, .write, .replicate, .pull, .viewChange: break
            case .print, .set, .get, .queryAllKeys:
                reply(to: delivery, Reply.error("the simulation serves only the replicated store"))
                return
            }
            let actions = try servers[machine].node.handle(decoded, token: token, nowMs: nowMs)
            servers[machine].waiting[token] = delivery
            perform(actions, on: machine)
        } catch {
            reply(to: delivery, ServerReply(error).json)
        }
    }

    /// Carries out the node's actions as `ReplicaShell` does, on the simulated network and clock.
    func perform(_ actions: [ReplicaAction], on machine: Int) {
        for action in actions {
            switch action {
            case .reply(let token, let answer):
                guard let delivery = servers[machine].waiting.removeValue(forKey: token) else { continue }
                noteAcknowledgement(of: delivery.message, answer: answer.json, machine: machine)
                reply(to: delivery, answer.json)
            case .call(let id, let address, let message):
                guard let peer = SimulatedNetwork.machine(at: address) else {
                    perform(servers[machine].node.peerAnswered(id, reply: nil, nowMs: nowMs), on: machine)
                    continue
                }
                call(from: .server(machine), to: .server(peer), message.json, purpose: .peer(id),
                     timeoutMs: configuration.peerCallTimeoutMs, duplicable: true)
            case .fetchView:
                call(from: .server(machine), to: .viewLeader, ["cmd": "query_servers"], purpose: .viewFetch,
                     timeoutMs: configuration.viewFetchTimeoutMs, duplicable: true)
            case .wake(let delayMs, let alarm):
                schedule(.alarm(machine: machine, incarnation: servers[machine].incarnation, alarm), afterMs: delayMs)
            case .publishSyncedEpoch(let epoch):
                servers[machine].syncedEpoch = epoch
            case .publishKnownEpoch(let epoch):
                servers[machine].knownEpoch = epoch
            case .publishView(let view):
                servers[machine].adoptedView = view
            case .log(let line):
                note("\(servers[machine].node.serverID) on machine \(machine): \(line)")
            }
        }
    }

    func viewFetchFinished(_ machine: Int, _ reply: JSONValue?) {
        let description = reply.flatMap { try? ViewDescription(reply: $0) }
        perform(servers[machine].node.viewFetched(description), on: machine)
    }

    /// A primary acknowledged a write: from now on its version must survive on the key's replicas.
    private func noteAcknowledgement(of message: JSONValue, answer: JSONValue, machine: Int) {
        let fields = message.objectValue
        guard answer.objectValue?["status"] == "ok", let command = fields?["cmd"]?.stringValue,
              command == "setr" || command == "delr", let key = fields?["key"]?.stringValue
        else { return }
        // The version the write took effect at: for a write with an ID, the one its key remembers (a retry answered
        // from memory acknowledges an earlier attempt, not whatever the key holds now).
        let store = servers[machine].node.core.store
        let writeID = (try? Request(fields: fields!)).flatMap { try? WriteID(request: $0) }
        let version = writeID.flatMap { store.rememberedVersion(of: key, writeID: $0) } ?? store[key]?.version
        guard let version else {
            violation = "server \(servers[machine].node.serverID) acknowledged a write of \(key) it does not hold"
            return
        }
        let how = answer.objectValue?["deduplicated"] == true ? " (a retry answered from its write ID)" : ""
        note("\(servers[machine].node.serverID) on machine \(machine) acknowledged \(command) of \(key) "
            + "\(writeID.map { "write \($0) " } ?? "")at version \(version)\(how)")
        monitor.acknowledged(version, of: key)
    }
}
