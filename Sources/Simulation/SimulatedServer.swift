import Durability
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

/// One machine's server process: the real `ReplicaDriver`, over a host made of the simulated network and clock.
struct SimulatedServer {
    let machine: Int
    let ringSize: Int
    var state = ProcessState.notStarted
    /// Rises with every start and crash, so timers and calls of an earlier process are recognised and dropped.
    var incarnation = 0
    /// The running process's driver; nil before the first start. A crashed process's stays for inspection.
    var driver: ReplicaDriver<SimulatedReplicaHost>?
    /// The machine's disk, holding the server's data directory across its crashes (with data directories on).
    var disk: SimulatedFiles?
    /// The log batch the disk is carrying out for the running process.
    var logInFlight: WriteAheadLog.Batch?
    /// The snapshot the disk is writing for the running process.
    var snapshotInFlight: StoreSnapshot?

    init(machine: Int, ringSize: Int) {
        self.machine = machine
        self.ringSize = ringSize
    }

    /// The replica state of the process (an empty one before the first start).
    var node: ReplicaNode { driver?.node ?? ReplicaNode(serverID: "unstarted", ringSize: ringSize) }

    func isCurrent(_ incarnation: Int) -> Bool { state.isAlive && incarnation == self.incarnation }

    mutating func kill(retiring: Bool) {
        state = retiring ? .retired : .crashed
        incarnation += 1
    }
}

/// What a simulated server's driver runs over: the seeded network, the event queue's clock and timers.
final class SimulatedReplicaHost: ReplicaHost {
    unowned let simulation: Simulation
    let machine: Int
    let incarnation: Int

    init(simulation: Simulation, machine: Int, incarnation: Int) {
        self.simulation = simulation
        self.machine = machine
        self.incarnation = incarnation
    }

    var nowMs: Int64 { simulation.nowMs }

    func answer(_ delivery: Simulation.Delivery, with reply: ServerReply) {
        simulation.serverAnswers(delivery, reply, machine: machine)
    }

    func callPeer(_ id: CallID, address: String, message: ServerRequest, timeoutMs: Int64) {
        guard let peer = SimulatedNetwork.machine(at: address) else {
            simulation.callNowhere(from: .server(machine), purpose: .peer(id))
            return
        }
        simulation.call(from: .server(machine), to: .server(peer), message.json, purpose: .peer(id),
                        timeoutMs: timeoutMs, duplicable: true)
    }

    func callViewLeader(_ message: JSONValue, purpose: ViewLeaderCall, timeoutMs: Int64) {
        simulation.call(from: .server(machine), to: .viewLeader, message, purpose: .viewLeader(purpose),
                        timeoutMs: timeoutMs, duplicable: true)
    }

    func startTimer(afterMs delayMs: Int64, _ timer: ReplicaTimer) {
        simulation.schedule(.timer(machine: machine, incarnation: incarnation, timer), afterMs: delayMs)
    }

    func nextIdentity(after denied: ServerIdentity) throws(DiskError) -> ServerIdentity {
        try IdentityFile.afterDenial(of: denied, in: simulation.servers[machine].disk,
                                     freshID: simulation.freshServerID)
    }

    func log(_ line: String, _ level: ReplicaLogLevel) {
        simulation.note("\(simulation.servers[machine].driver?.serverID ?? "?") on machine \(machine): \(line)")
    }

    func registered(as identity: ServerIdentity) {
        simulation.note("machine \(machine) now heartbeats as \(identity)")
    }

    func writeLog(_ batch: WriteAheadLog.Batch) {
        precondition(simulation.servers[machine].logInFlight == nil, "the driver hands over one batch at a time")
        simulation.servers[machine].logInFlight = batch
        simulation.schedule(.logWritten(machine: machine, incarnation: incarnation),
                            afterMs: simulation.random.ms(in: simulation.configuration.diskBatchMs))
    }

    func writeSnapshot(_ snapshot: StoreSnapshot) {
        precondition(simulation.servers[machine].snapshotInFlight == nil, "the driver hands over one at a time")
        simulation.servers[machine].snapshotInFlight = snapshot
        simulation.schedule(.snapshotWritten(machine: machine, incarnation: incarnation),
                            afterMs: simulation.random.ms(in: simulation.configuration.snapshotMs))
    }

    func stopAfterDiskFailure(_ message: String) {
        // The simulated disk fails only when a test makes it; a run that did not is broken.
        simulation.violation = "server on machine \(machine) stopped: \(message)"
    }
}

extension Simulation {
    func freshServerID() -> String {
        defer { nextServerNumber += 1 }
        return "s\(nextServerNumber)"
    }

    /// Starts a fresh process on `machine`, with nothing in memory but what its data directory holds (with data
    /// directories on); it heartbeats within one interval, as a real one does at start-up.
    func startServer(_ machine: Int) {
        servers[machine].state = .running
        servers[machine].incarnation += 1
        servers[machine].logInFlight = nil
        servers[machine].snapshotInFlight = nil
        let host = SimulatedReplicaHost(simulation: self, machine: machine, incarnation: servers[machine].incarnation)
        let recordLimits = RecordLimits(frameBytesMax: configuration.frameBytesMax)
        var recovered: RecoveredState?
        let snapshotPolicy = SnapshotPolicy(logBytesMin: configuration.snapshotLogBytes)
        var identity = ServerIdentity(id: "unstarted")
        if configuration.dataDirectories {
            let disk = servers[machine].disk ?? SimulatedFiles()
            servers[machine].disk = disk
            do throws(RecoveryError) {
                recovered = try RecoveredState.recover(from: disk, mode: configuration.fsync,
                                                       recordLimits: recordLimits, ringSize: configuration.ringSize,
                                                       snapshotPolicy: snapshotPolicy, nowMs: nowMs)
            } catch {
                violation = "machine \(machine) could not recover its data directory: \(error)"
                return
            }
            note("machine \(machine) \(recovered!.summary)" + (recovered!.cutOff.map { "; \($0)" } ?? ""))
            if recovered!.entriesReplayed > 0 { diskFigures.recoveriesWithData += 1 }
            if recovered!.snapshotBytes > 0 { diskFigures.recoveriesFromSnapshot += 1 }
            do throws(IdentityFileError) {
                identity = try IdentityFile.start(in: disk, idBytesMax: ViewLeaderRequest.serverIDBytesMax,
                                                  freshID: freshServerID)
            } catch {
                violation = "machine \(machine) could not start on its data directory: \(error)"
                return
            }
            noteRestart(of: identity, on: machine)
        } else {
            identity = ServerIdentity(id: freshServerID())
        }
        let driver = ReplicaDriver(host: host, identity: identity, port: SimulatedNetwork.serverPort,
                                   advertisedHost: SimulatedNetwork.host(ofMachine: machine),
                                   heartbeatIntervalMs: configuration.heartbeatIntervalMs,
                                   ringSize: configuration.ringSize, recordLimits: recordLimits,
                                   recovered: recovered, snapshotPolicy: snapshotPolicy)
        servers[machine].driver = driver
        backlogs[.server(machine)] = nil
        driver.start(firstHeartbeatAfterMs: random.ms(in: 0...configuration.heartbeatIntervalMs))
    }

    /// Counts a restart under a saved ID by what the viewleader makes of it: the previous incarnation still a member
    /// (a restart within its lease, replaced in a new epoch) or expired (it joins again).
    private func noteRestart(of identity: ServerIdentity, on machine: Int) {
        guard identity.incarnation > 1 else { return }
        let membership = viewLeader.core?.membership
        if membership?.members[identity.id] != nil {
            diskFigures.restartsWhileMember += 1
            note("machine \(machine) restarts as \(identity) while its previous incarnation is still a member")
        } else if membership?.isDenied(identity.id, incarnation: identity.incarnation - 1) == true {
            diskFigures.restartsAfterExpiry += 1
            note("machine \(machine) restarts as \(identity) after its previous incarnation expired")
        }
    }

    func killServer(_ machine: Int, retiring: Bool) {
        servers[machine].kill(retiring: retiring)
        backlogs[.server(machine)] = nil
        crashDisk(machine, retiring: retiring)
    }

    /// The machine's disk as the crash leaves it: a batch being written may have reached it in part, and nothing
    /// unsynced survives but a torn prefix. A retired machine's disk goes with it.
    private func crashDisk(_ machine: Int, retiring: Bool) {
        defer {
            servers[machine].logInFlight = nil
            servers[machine].snapshotInFlight = nil
        }
        guard let disk = servers[machine].disk else { return }
        guard !retiring else {
            servers[machine].disk = nil
            return
        }
        if let batch = servers[machine].logInFlight {
            try? WriteAheadLog.carryOut(batch, on: disk, syncing: false)
        }
        if let snapshot = servers[machine].snapshotInFlight {
            diskFigures.killedDuringSnapshot += 1
            // Killed while writing a snapshot: its unfinished file, never synced, is all the disk may keep of it.
            let partial = SnapshotFile.name(through: snapshot.through) + SnapshotFile.temporarySuffix
            var writer = SnapshotFile.Writer(through: snapshot.through)
            try? disk.append(writer.finish(), to: partial)
        }
        let lost = disk.crash { [self] pending in Int(random.ms(in: 0...Int64(pending))) }
        if lost > 0 { note("machine \(machine)'s disk lost \(lost) unsynced bytes") }
    }

    /// The disk carried out the batch in flight: its bytes are on the disk now (synced if it said so).
    func diskFinished(_ machine: Int) {
        guard let batch = servers[machine].logInFlight, let disk = servers[machine].disk else { return }
        servers[machine].logInFlight = nil
        do throws(DiskError) {
            try WriteAheadLog.carryOut(batch, on: disk)
            servers[machine].driver?.logWritten(nil, freeBytes: try? disk.freeBytes())
        } catch {
            servers[machine].driver?.logWritten(error)
        }
    }

    /// The disk wrote the snapshot in flight.
    func snapshotFinished(_ machine: Int) {
        guard let snapshot = servers[machine].snapshotInFlight, let disk = servers[machine].disk else { return }
        servers[machine].snapshotInFlight = nil
        let outcome: Result<Int, DiskError>
        do throws(DiskError) {
            outcome = .success(try snapshot.write(to: disk))
            diskFigures.snapshotsWritten += 1
        } catch {
            outcome = .failure(error)
        }
        servers[machine].driver?.snapshotWritten(outcome)
    }

    func serverReceives(_ request: Request, _ delivery: Delivery, machine: Int) {
        guard let driver = servers[machine].driver else { return }
        do throws(RequestError) {
            driver.receive(try ServerRequest(request), from: delivery)
        } catch {
            reply(to: delivery, ServerReply(error).json)
        }
    }

    /// A server's answer on its way back; an acknowledged write is noted for the invariant monitor first.
    func serverAnswers(_ delivery: Delivery, _ answer: ServerReply, machine: Int) {
        noteAcknowledgement(of: delivery.message, answer: answer, machine: machine)
        reply(to: delivery, answer.json)
    }

    /// A primary acknowledged a write: from now on its version must survive on the key's replicas.
    private func noteAcknowledgement(of message: JSONValue, answer: ServerReply, machine: Int) {
        guard answer == .ok || answer == .deduplicated, let fields = message.objectValue,
              case .write(let key, let value, _, let writeID, _)? = try? ServerRequest(Request(fields: fields))
        else { return }
        let command = value == nil ? "delr" : "setr"
        // The version the write took effect at: for a write with an ID, the one its key remembers (a retry answered
        // from memory acknowledges an earlier attempt, not whatever the key holds now).
        let store = servers[machine].node.core.store
        // A reply waits for the replier's log, and meanwhile its store may have dropped the key (the range moved
        // away, or a denied server started over empty); the write's version then travels with its ID on the
        // replicas that hold the key now.
        let elsewhere = writeID.flatMap { id in
            servers.lazy.compactMap { $0.node.core.store.rememberedVersion(of: key, writeID: id) }.first
        }
        let version = writeID.flatMap { store.rememberedVersion(of: key, writeID: $0) } ?? store[key]?.version
            ?? elsewhere
        guard let version else {
            violation = "server \(servers[machine].node.serverID) acknowledged a write of \(key) it does not hold"
            return
        }
        let how = answer == .deduplicated ? " (a retry answered from its write ID)" : ""
        note("\(servers[machine].node.serverID) on machine \(machine) acknowledged \(command) of \(key) "
            + "\(writeID.map { "write \($0) " } ?? "")at version \(version)\(how)")
        monitor.acknowledged(version, of: key)
    }
}
