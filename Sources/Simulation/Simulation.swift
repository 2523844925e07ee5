import ClientKit
import FaultModel
import Linearizability
import Seeded
import ServerKit
import ViewLeaderKit
import Wire

/// One seeded run of the real viewleader, server and client cores on a simulated network and clock.
///
/// The cores are the ones the processes run (`ViewLeaderCore`, `HeartbeatSession`, `ReplicaNode`,
/// `ReplicatedOperation`); only their shells are replaced. Time is virtual and every random choice comes from the
/// seed, so a run replays exactly. The run has three phases: chaos (clients run while the nemesis injects
/// faults), settling (every fault healed, clients finish what they started), and final reads (one more client
/// reads every key). Invariants are checked after every event, and the clients' history goes through the
/// linearizability checker at the end.
public final class Simulation {
    public let seed: UInt64
    let configuration: SimulationConfiguration
    var random: SplitMix64
    /// Chooses which writes carry near-limit values, apart from `random`: the sizes of values consume none of the
    /// choices that order events, so a seed replays the same run whether or not its values are large.
    var valueSizes: SplitMix64
    var nowMs: Int64 = 0
    /// Events handled so far. Histories are stamped with it, so their real-time order is exact.
    var eventCount = 0
    var events = EventQueue<Event>()
    var network = SimulatedNetwork()
    var viewLeader = SimulatedViewLeader()
    /// One per machine, indexed by machine.
    var servers: [SimulatedServer]
    /// The workload's clients, then the final reader.
    var clients: [SimulatedClient]
    let keys: [String]
    var phase = Phase.chaos
    var monitor = InvariantMonitor()
    var history: [RecordedOperation] = []
    var faultCounts: [FaultKind: Int] = [:]
    /// Server IDs hit by a fault that loses their data; the cluster is not stable while one is still a member.
    var doomedServerIDs: Set<String> = []
    /// Times the settling phase waited for an exclusion and its quarantine to end.
    var settleExtensions = 0
    static let settleExtensionsMax = 3
    /// Partial partitions in force (long cuts between servers); the cluster is not stable while one lasts.
    var partialPartitions: [PartialPartitionWatch] = []
    /// For each partial partition the view resolved, how long after the cut it dropped one of the two servers.
    var partialPartitionResolutionsMs: [Int64] = []
    /// For each partial partition with a shared key written during it: how long after the cut the first write
    /// sent after it was acknowledged.
    var partialPartitionWriteGapsMs: [Int64] = []
    /// The machine whose server handled the current event or resumed in it: the only one that may have started
    /// serving a key, so the only one the one-primary check must look at.
    var touchedMachine: Int?
    /// Events held while their node is paused, released in order when it resumes.
    var backlogs: [NodeID: [Event]] = [:]
    var calls: [UInt64: Call] = [:]
    private var nextCallID: UInt64 = 1
    var nextServerNumber = 1
    /// The first thing that went wrong; ends the run.
    var violation: String?
    /// Snapshots and recoveries, with data directories on.
    var diskFigures = DiskFigures()
    /// Receives a line for each notable event (faults, view changes, operations) when set: `simulate --verbose`.
    public var trace: ((String) -> Void)?

    func note(_ line: @autoclosure () -> String) {
        guard let trace else { return }
        trace("\(nowMs) ms: \(line())")
    }

    enum Phase: Equatable {
        case chaos, settling, finalReads, done
    }

    public init(seed: UInt64, configuration: SimulationConfiguration = SimulationConfiguration()) {
        configuration.validate()
        self.seed = seed
        self.configuration = configuration
        random = SplitMix64(seed: seed)
        valueSizes = SplitMix64(seed: seed ^ 0x5A1E_5A1E_5A1E_5A1E)
        servers = (0..<configuration.machinesMax).map { SimulatedServer(machine: $0, ringSize: configuration.ringSize) }
        var clientIDs = SplitMix64(seed: seed ^ 0xC11E_47ED)
        clients = (0...configuration.clients).map { SimulatedClient(process: $0, clientID: clientIDs.next()) }
        keys = (0..<configuration.keys).map { "k\($0)" }
    }

    /// Runs to the end and reports; call once.
    public func run() -> SimulationReport {
        precondition(eventCount == 0, "a simulation runs once")
        start()
        while violation == nil, phase != .done, let (timeMs, event) = events.popFirst() {
            eventCount += 1
            guard eventCount <= configuration.eventsMax else {
                violation = "no end after \(configuration.eventsMax) events: something loops"
                break
            }
            precondition(timeMs >= nowMs, "time runs forward")
            let previousMs = nowMs
            nowMs = timeMs
            if let target = event.target, isPaused(target) {
                backlogs[target, default: []].append(event)
                continue
            }
            if case .server(let machine) = event.target { touchedMachine = machine }
            handle(event)
            notePartialPartitionsResolved(sinceMs: previousMs)
            if violation == nil { violation = checkInvariants() }
            touchedMachine = nil
        }
        if violation == nil && phase != .done { violation = "the run stopped with no events left in phase \(phase)" }
        recordUnfinishedWrites()
        if violation == nil { violation = checkHistory() }
        let misreported = WriteOutcomeFigures(history: history, answeredFromWriteID: 0).failedButTookEffect
        if violation == nil && misreported > 0 {
            violation = "\(misreported) write(s) reported failed took effect: a read returned their value"
        }
        return report()
    }

    private func start() {
        viewLeader.start(configuration: configuration, nowMs: nowMs)
        schedule(.viewLeaderTick(incarnation: viewLeader.incarnation), afterMs: tickIntervalMs)
        for machine in 0..<configuration.initialServers { startServer(machine) }
        for client in 0..<configuration.clients { schedule(.clientWake(client), afterMs: random.ms(in: 0...50)) }
        if configuration.faultsEnabled { schedule(.nemesisTurn, afterMs: random.ms(in: configuration.nemesisIntervalMs)) }
        for scripted in configuration.scriptedFaults {
            schedule(.scriptedFault(scripted.fault), afterMs: scripted.atMs)
        }
        schedule(.phaseEnds, afterMs: configuration.chaosMs)
    }

    // MARK: Events

    enum Event {
        case deliverRequest(Delivery)
        case deliverReply(callID: UInt64, caller: NodeID, reply: JSONValue)
        /// The call got no answer; `mayHaveArrived` says whether the whole request had been handed over.
        case callFailed(callID: UInt64, caller: NodeID, mayHaveArrived: Bool)
        case callTimedOut(callID: UInt64, caller: NodeID)
        /// A timer a server's driver set.
        case timer(machine: Int, incarnation: Int, ReplicaTimer)
        /// The disk finished the log batch a server's driver handed it.
        case logWritten(machine: Int, incarnation: Int)
        /// The disk finished the snapshot a server's driver handed it.
        case snapshotWritten(machine: Int, incarnation: Int)
        case viewLeaderTick(incarnation: Int)
        case clientWake(Int)
        case nemesisTurn
        case scriptedFault(Fault)
        case faultEnds(FaultEnd)
        case phaseEnds

        /// The node whose pause holds this event back, if any.
        var target: NodeID? {
            switch self {
            case .deliverRequest(let delivery): return delivery.callee
            case .deliverReply(_, let caller, _), .callFailed(_, let caller, _), .callTimedOut(_, let caller):
                return caller
            case .timer(let machine, _, _), .logWritten(let machine, _), .snapshotWritten(let machine, _):
                return .server(machine)
            case .viewLeaderTick: return .viewLeader
            case .clientWake(let client): return .client(client)
            case .nemesisTurn, .scriptedFault, .faultEnds, .phaseEnds: return nil
            }
        }
    }

    /// A request on its way to `callee`; `replyLost` marks one whose connection broke after sending.
    struct Delivery {
        let callID: UInt64
        let caller: NodeID
        let callee: NodeID
        let message: JSONValue
        let replyLost: Bool
    }

    /// A call awaiting its answer, and what the caller wanted it for.
    struct Call {
        let caller: NodeID
        let callerIncarnation: Int
        let purpose: Purpose
    }

    enum Purpose {
        case viewLeader(ViewLeaderCall)
        case peer(CallID)
        case announce
        case client
    }


    private func handle(_ event: Event) {
        switch event {
        case .deliverRequest(let delivery): deliver(delivery)
        case .deliverReply(let id, _, let reply): finishCall(id, .answered(reply))
        case .callFailed(let id, _, let mayHaveArrived):
            finishCall(id, mayHaveArrived ? .mayHaveArrived("the connection broke") : .neverSent("connection refused"))
        case .callTimedOut(let id, _): finishCall(id, .mayHaveArrived("no reply in time"))
        case .timer(let machine, let incarnation, let timer):
            if servers[machine].isCurrent(incarnation) { servers[machine].driver?.timerFired(timer) }
        case .logWritten(let machine, let incarnation):
            if servers[machine].isCurrent(incarnation) { diskFinished(machine) }
        case .snapshotWritten(let machine, let incarnation):
            if servers[machine].isCurrent(incarnation) { snapshotFinished(machine) }
        case .viewLeaderTick(let incarnation):
            if viewLeader.isCurrent(incarnation) { viewLeaderTick() }
        case .clientWake(let client): clientWoke(client)
        case .nemesisTurn: nemesisTurn()
        case .scriptedFault(let fault): if phase == .chaos { inject(fault) }
        case .faultEnds(let end): apply(end)
        case .phaseEnds: endPhase()
        }
    }

    func schedule(_ event: Event, afterMs delayMs: Int64) {
        precondition(delayMs >= 0, "events cannot be scheduled in the past")
        events.schedule(event, atMs: nowMs + delayMs)
    }

    private func isPaused(_ node: NodeID) -> Bool {
        switch node {
        case .viewLeader: return viewLeader.state == .paused
        case .server(let machine): return servers[machine].state == .paused
        case .client: return false
        }
    }

    /// Whether a process listens at `node`: a paused process still accepts connections, a crashed one does not.
    private func isListening(_ node: NodeID) -> Bool {
        switch node {
        case .viewLeader: return viewLeader.state.isAlive
        case .server(let machine): return servers[machine].state.isAlive
        case .client: return true
        }
    }

    private func incarnation(of node: NodeID) -> Int {
        switch node {
        case .viewLeader: return viewLeader.incarnation
        case .server(let machine): return servers[machine].incarnation
        case .client: return 0
        }
    }

    /// Releases the events held while `node` was paused, in their original order.
    func releaseBacklog(of node: NodeID) {
        for event in backlogs.removeValue(forKey: node) ?? [] { schedule(event, afterMs: 0) }
    }

    // MARK: Calls

    /// One-way delay of a message: usually short, sometimes long enough to overtake others.
    func messageDelayMs() -> Int64 {
        random.chance(configuration.slowProbability)
            ? random.ms(in: configuration.slowDelayMs) : random.ms(in: configuration.delayMs)
    }

    /// Sends `message` from `caller` to `callee`; exactly one of reply, failure or timeout comes back.
    func call(from caller: NodeID, to callee: NodeID, _ message: JSONValue, purpose: Purpose, timeoutMs: Int64,
              duplicable: Bool) {
        let id = nextCallID
        nextCallID += 1
        calls[id] = Call(caller: caller, callerIncarnation: incarnation(of: caller), purpose: purpose)
        schedule(.callTimedOut(callID: id, caller: caller), afterMs: timeoutMs)
        guard isListening(callee) else {
            schedule(.callFailed(callID: id, caller: caller, mayHaveArrived: false), afterMs: messageDelayMs())
            return
        }
        guard !network.isCut(caller, callee) else { return }
        // A request over the frame limit is refused from its length, as FrameServer does: an error reply, and the
        // connection closed; the request is never processed.
        let bytes = FrameEncoder.encode(message).count - FrameDecoder.headerBytes
        guard bytes <= configuration.frameBytesMax else {
            let refusal = Reply.error("frame length \(bytes) exceeds the limit of \(configuration.frameBytesMax) bytes")
            schedule(.deliverReply(callID: id, caller: caller, reply: refusal), afterMs: messageDelayMs())
            return
        }
        if random.chance(configuration.resetProbability) {
            if random.chance(0.5) {
                let delivery = Delivery(callID: id, caller: caller, callee: callee, message: message, replyLost: true)
                schedule(.deliverRequest(delivery), afterMs: messageDelayMs())
            }
            schedule(.callFailed(callID: id, caller: caller, mayHaveArrived: true), afterMs: messageDelayMs())
            return
        }
        let delivery = Delivery(callID: id, caller: caller, callee: callee, message: message, replyLost: false)
        schedule(.deliverRequest(delivery), afterMs: messageDelayMs())
        if duplicable && random.chance(configuration.duplicateProbability) {
            schedule(.deliverRequest(delivery), afterMs: messageDelayMs())
        }
    }

    /// A call to an address no machine has: it fails as a refused connection would.
    func callNowhere(from caller: NodeID, purpose: Purpose) {
        let id = nextCallID
        nextCallID += 1
        calls[id] = Call(caller: caller, callerIncarnation: incarnation(of: caller), purpose: purpose)
        schedule(.callFailed(callID: id, caller: caller, mayHaveArrived: false), afterMs: messageDelayMs())
    }

    /// Sends the callee's answer back, unless the connection broke or the link is cut.
    func reply(to delivery: Delivery, _ reply: JSONValue) {
        guard !delivery.replyLost, !network.isCut(delivery.callee, delivery.caller) else { return }
        // A reply over the frame limit is refused by the caller's reader: the call fails after it was processed.
        guard FrameEncoder.encode(reply).count - FrameDecoder.headerBytes <= configuration.frameBytesMax else {
            note("a reply to \(delivery.caller) was over the frame limit; the caller's connection fails")
            schedule(.callFailed(callID: delivery.callID, caller: delivery.caller, mayHaveArrived: true),
                     afterMs: messageDelayMs())
            return
        }
        schedule(.deliverReply(callID: delivery.callID, caller: delivery.caller, reply: reply), afterMs: messageDelayMs())
    }

    private func deliver(_ delivery: Delivery) {
        guard isListening(delivery.callee) else {
            // The process died with the connection open: the caller sees it reset.
            if !delivery.replyLost {
                schedule(.callFailed(callID: delivery.callID, caller: delivery.caller, mayHaveArrived: true),
                         afterMs: messageDelayMs())
            }
            return
        }
        let request: Request
        do throws(RequestError) {
            guard let fields = delivery.message.objectValue else { throw .notAnObject }
            request = try Request(fields: fields)
        } catch {
            reply(to: delivery, Reply.error(error.description))
            return
        }
        switch delivery.callee {
        case .viewLeader: viewLeaderReceives(request, delivery)
        case .server(let machine): serverReceives(request, delivery, machine: machine)
        case .client: preconditionFailure("clients serve no requests")
        }
    }

    private func finishCall(_ id: UInt64, _ result: SendOutcome) {
        guard let call = calls.removeValue(forKey: id) else { return }
        guard isListening(call.caller), incarnation(of: call.caller) == call.callerIncarnation else { return }
        switch (call.caller, call.purpose) {
        case (.server(let machine), .viewLeader(let purpose)):
            let answer: ViewLeaderAnswer = switch result {
            case .answered(let reply): .reply(reply)
            case .neverSent(let reason), .mayHaveArrived(let reason), .refused(let reason): .failed(reason)
            }
            servers[machine].driver?.viewLeaderAnswered(purpose, answer)
        case (.server(let machine), .peer(let callID)):
            servers[machine].driver?.peerAnswered(callID, reply: result.reply)
        case (.viewLeader, .announce): break
        case (.client(let client), .client): clientCallFinished(client, result)
        default: preconditionFailure("call purpose \(call.purpose) does not belong to \(call.caller)")
        }
    }

    // MARK: Phases

    private func endPhase() {
        switch phase {
        case .chaos:
            healEverything()
            phase = .settling
            schedule(.phaseEnds, afterMs: configuration.settleMs)
        case .settling:
            guard isStable else {
                // A server excluded for a partial partition waits out its quarantine before it may join again: the
                // cluster has the usual time to settle after that (a quarantine is at most 32 leases).
                if let waitMs = partialPartitionSettleMs(), settleExtensions < Self.settleExtensionsMax {
                    settleExtensions += 1
                    note("settling: \(waitMs) ms more, to settle after an exclusion and its quarantine")
                    schedule(.phaseEnds, afterMs: waitMs)
                    return
                }
                violation = "the cluster did not settle within \(configuration.settleMs) ms of healing every fault"
                return
            }
            phase = .finalReads
            clients[configuration.clients].finalKeys = keys
            schedule(.clientWake(configuration.clients), afterMs: 0)
        case .finalReads, .done:
            preconditionFailure("no phase follows \(phase)")
        }
    }

    /// True when every live member of the viewleader's view is up, has adopted its epoch and finished syncing.
    var isStable: Bool {
        guard viewLeader.state == .running, let core = viewLeader.core, !core.membership.members.isEmpty,
              core.recovery == nil, partialPartitions.isEmpty,
              // A report or an exclusion under way will cost a server its data, as a fault does.
              core.suspicions.excluding == nil, core.suspicions.reports.isEmpty
        else { return false }
        let epoch = core.membership.epoch
        // A viewleader that lost its state may form views before it hears that servers are ahead of it; until it
        // has moved above them, its view is not the cluster's.
        guard servers.allSatisfy({ !$0.state.isAlive || $0.node.core.view.epoch <= epoch }) else { return false }
        return core.membership.members.values.allSatisfy { member in
            guard !doomedServerIDs.contains(member.id), let machine = SimulatedNetwork.machine(at: member.address)
            else { return false }
            let server = servers[machine]
            return server.state == .running && server.node.serverID == member.id
                && server.node.core.view.epoch == epoch && server.node.core.syncComplete
        }
    }

    // MARK: Checks

    private func checkInvariants() -> String? {
        if let epoch = viewLeader.core?.membership.epoch, let problem = monitor.viewLeaderEpoch(epoch) {
            return problem
        }
        // Per incarnation: a server restarted under its saved ID starts with no view, as any new process does.
        for server in servers where server.state.isAlive {
            let identity = server.driver.map { "\($0.identity)" } ?? server.node.serverID
            if let problem = monitor.serverEpoch(server.node.core.view.epoch, of: identity) { return problem }
        }
        if let machine = touchedMachine, servers[machine].state == .running {
            let server = servers[machine]
            if let problem = monitor.onePrimaryPerKey(keys, newlyServing: server, among: servers, nowMs: nowMs) {
                return problem
            }
            // An epoch number reused by a viewleader that lost its state is harmless while no one serves in the
            // reused view; serving in two views of one number is not. Only the touched server can have started.
            let view = server.node.core.view
            if keys.contains(where: { InvariantMonitor.serves(server, $0, nowMs: nowMs) }),
               let problem = monitor.viewOfEpoch(view.epoch, members: view.memberIDs.sorted()) {
                return problem
            }
        }
        if isStable, let epoch = viewLeader.core?.membership.epoch,
           let problem = monitor.acknowledgedWritesOnReplicas(keys, servers: servers, epoch: epoch) {
            return problem
        }
        return nil
    }

    private func checkHistory() -> String? {
        switch LinearizabilityChecker.check(history) {
        case .linearizable:
            return nil
        case .violation(let key, let window):
            return "history of key \(key) is not linearizable around:\n"
                + window.map { "  \($0)" }.joined(separator: "\n")
        case .tooLarge(let key, let operations):
            return "key \(key) has \(operations) operations, more than the checker accepts; shorten the run"
        }
    }

    private func report() -> SimulationReport {
        var digest = Digest()
        digest.add(UInt64(eventCount))
        digest.add(UInt64(nowMs))
        for operation in history { digest.add(operation.description) }
        let figures = WriteOutcomeFigures(history: history,
                                          answeredFromWriteID: clients.map(\.answeredFromWriteID).reduce(0, +))
        return SimulationReport(seed: seed, events: eventCount, virtualMs: nowMs, history: history,
                                faults: faultCounts, figures: figures,
                                answeredAfterPrimaryDied: clients.map(\.answeredAfterPrimaryDied).reduce(0, +),
                                partialPartitionResolutionsMs: partialPartitionResolutionsMs,
                                partialPartitionWriteGapsMs: partialPartitionWriteGapsMs,
                                diskFigures: diskFigures, violation: violation, digest: digest.value,
                                replayOptions: configuration.replayOptions)
    }

    var tickIntervalMs: Int64 { ViewLeaderCore.tickIntervalMs(leaseMs: configuration.leaseMs) }
}

/// FNV-1a over what a run produced, to compare two replays of one seed.
struct Digest {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ number: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { addByte(UInt8(truncatingIfNeeded: number >> UInt64(shift))) }
    }

    mutating func add(_ text: String) {
        for byte in text.utf8 { addByte(byte) }
        addByte(0)
    }

    private mutating func addByte(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
}

extension SendOutcome {
    /// The reply, when there was one.
    var reply: JSONValue? {
        if case .answered(let value) = self { return value }
        return nil
    }
}
