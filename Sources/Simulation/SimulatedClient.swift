import ClientKit
import Linearizability
import Seeded
import Wire

/// A client running the real `ReplicatedOperation` retry rules, one operation at a time, recording its history.
struct SimulatedClient {
    let process: Int
    /// This client's half of its write IDs, from the seed, as `ReplicatedClient` picks one at random.
    let clientID: UInt64
    /// The sequence number of the next write.
    var nextSequence: Int64 = 1
    /// Writes acknowledged by a replica that remembered their ID.
    var answeredFromWriteID = 0
    /// Of those, the ones whose first attempt went to a server that has died since: the write reached its backups,
    /// its primary died before answering, and a backup that became primary answered the retry from memory.
    var answeredAfterPrimaryDied = 0
    /// The view kept between operations, as `ReplicatedClient` keeps it.
    var view: ViewDescription?
    var current: Current?
    /// Operations started so far; numbers the values this client writes, so every written value is unique.
    var started = 0
    /// Keys the final reader has yet to read; empty for workload clients.
    var finalKeys: [String] = []

    init(process: Int, clientID: UInt64) {
        self.process = process
        self.clientID = clientID
    }

    /// The operation in progress and what it waits for.
    struct Current {
        var operation: ReplicatedOperation
        let key: String
        let kind: RecordedOperation.Kind
        let invokedAt: Int64
        var awaiting = Awaiting.nothing
        /// The machine and incarnation the first attempt was sent to.
        var firstTarget: (machine: Int, incarnation: Int)?
    }

    enum Awaiting {
        case nothing, view, server, pause
    }
}

extension Simulation {
    func clientWoke(_ index: Int) {
        if clients[index].current?.awaiting == .pause {
            clients[index].current!.awaiting = .nothing
            advance(index) { $0.pauseElapsed(nowMs: nowMs) }
            return
        }
        guard clients[index].current == nil else { return }
        if index == configuration.clients {
            guard let key = clients[index].finalKeys.first else {
                phase = .done
                return
            }
            clients[index].finalKeys.removeFirst()
            begin(index, key: key, kind: .read(observed: nil))
            return
        }
        guard phase == .chaos else { return }
        begin(index, key: keys[Int.random(in: 0..<keys.count, using: &random)], kind: randomKind(for: index))
    }

    private func randomKind(for index: Int) -> RecordedOperation.Kind {
        let roll = Int.random(in: 0..<100, using: &random)
        if roll < configuration.readPercent { return .read(observed: nil) }
        if roll < configuration.readPercent + configuration.deletePercent { return .delete }
        let value = "c\(index)-\(clients[index].started)"
        let isLarge = Int.random(in: 0..<100, using: &valueSizes) < configuration.largeValuePercent
        guard isLarge else { return .write(value) }
        // Near the value limit: every copy the cluster makes of it must still fit a frame.
        let valueBytesMax = RecordLimits(frameBytesMax: configuration.frameBytesMax).valueBytesMax
        let length = valueBytesMax - Int.random(in: 0..<configuration.largeValueSpreadBytes, using: &valueSizes)
        return .write(value + "-" + String(repeating: "x", count: length - value.utf8.count - 1))
    }

    /// Starts an operation the way `ReplicatedClient` does: a write gets the client's next write ID.
    private func begin(_ index: Int, key: String, kind: RecordedOperation.Kind) {
        let request: ReplicatedOperation.Request
        switch kind {
        case .read: request = .read(key: key)
        case .delete: request = .write(key: key, value: nil)
        case .write(let value): request = .write(key: key, value: value)
        }
        var writeID: WriteID?
        if case .read = kind {} else {
            writeID = WriteID(client: clients[index].clientID, sequence: clients[index].nextSequence)
            clients[index].nextSequence += 1
        }
        clients[index].started += 1
        var operation = ReplicatedOperation(request, writeID: writeID, nowMs: nowMs,
                                            retryBudgetMs: configuration.clientRetryBudgetMs, view: clients[index].view)
        let step = operation.begin(nowMs: nowMs)
        clients[index].current = SimulatedClient.Current(operation: operation, key: key, kind: kind,
                                                         invokedAt: Int64(eventCount))
        carryOut(step, client: index)
    }

    /// Feeds one event to the client's operation and carries out the step it answers with.
    private func advance(_ index: Int, _ feed: (inout ReplicatedOperation) -> ReplicatedOperation.Step) {
        let step = feed(&clients[index].current!.operation)
        carryOut(step, client: index)
    }

    private func carryOut(_ step: ReplicatedOperation.Step, client index: Int) {
        switch step {
        case .fetchView:
            clients[index].current!.awaiting = .view
            call(from: .client(index), to: .viewLeader, ViewLeaderRequest.queryServers.json, purpose: .client,
                 timeoutMs: configuration.clientTimeoutMs, duplicable: true)
        case .send(let address, let message):
            guard let machine = SimulatedNetwork.machine(at: address) else {
                advance(index) { $0.sent(.neverSent("no server at \(address)"), nowMs: nowMs) }
                return
            }
            clients[index].current!.awaiting = .server
            if clients[index].current!.firstTarget == nil {
                clients[index].current!.firstTarget = (machine, servers[machine].incarnation)
            }
            call(from: .client(index), to: .server(machine), message.json, purpose: .client,
                 timeoutMs: configuration.clientTimeoutMs, duplicable: false)
        case .pause(let ms):
            clients[index].current!.awaiting = .pause
            schedule(.clientWake(index), afterMs: ms)
        case .finish(let result):
            finish(index, result)
        }
    }

    func clientCallFinished(_ index: Int, _ result: SendOutcome) {
        guard let awaiting = clients[index].current?.awaiting else { return }
        clients[index].current!.awaiting = .nothing
        switch (awaiting, result) {
        case (.view, .answered(let reply)):
            let fetched: Result<ViewDescription, ViewFetchProblem>
            do {
                fetched = .success(try ViewDescription(reply: reply))
            } catch {
                fetched = .failure(ViewFetchProblem("query_servers: \(error)"))
            }
            advance(index) { $0.viewFetched(fetched, nowMs: nowMs) }
        case (.view, .neverSent), (.view, .mayHaveArrived):
            advance(index) { $0.viewFetched(.failure(ViewFetchProblem("no answer from the viewleader")), nowMs: nowMs) }
        case (.view, .refused(let reason)):
            advance(index) { $0.viewFetched(.failure(ViewFetchProblem(reason, permanence: .refused)), nowMs: nowMs) }
        case (.server, _):
            advance(index) { $0.sent(result, nowMs: nowMs) }
        case (.nothing, _), (.pause, _):
            preconditionFailure("client \(index) got an answer it did not wait for")
        }
    }

    private func finish(_ index: Int, _ result: Result<ServerReply, ReplicatedError>) {
        let current = clients[index].current!
        clients[index].current = nil
        clients[index].view = current.operation.view
        if current.operation.answeredFromWriteID {
            clients[index].answeredFromWriteID += 1
            if let first = current.firstTarget, servers[first.machine].incarnation != first.incarnation {
                clients[index].answeredAfterPrimaryDied += 1
            }
        }
        let outcome: RecordedOperation.Outcome
        var kind = current.kind
        switch result {
        case .success(let reply):
            outcome = .ok
            if case .read = kind {
                if case .value(let value) = reply { kind = .read(observed: value) } else { kind = .read(observed: nil) }
            } else {
                notePartialPartitionWriteServed(key: current.key, invokedAtEvent: current.invokedAt)
            }
        case .failure(.unknownOutcome):
            outcome = .unknown
        case .failure(.unavailable(let detail)):
            outcome = .fail
            if index == configuration.clients {
                violation = "the final read of \(current.key) failed after every fault was healed: \(detail)"
            }
        case .failure(.errorReply(let message)), .failure(.refused(let message)):
            outcome = .fail
            violation = "a well-formed request for \(current.key) was rejected: \(message)"
        }
        let operation = RecordedOperation(process: clients[index].process, key: current.key, kind: kind,
                                          invokedAt: current.invokedAt, completedAt: Int64(eventCount),
                                          outcome: outcome)
        history.append(operation)
        note("\(operation)")
        schedule(.clientWake(index), afterMs: random.ms(in: configuration.clientThinkMs))
    }

    /// Writes still waiting when the run ends may yet take effect: they enter the history as unknown.
    func recordUnfinishedWrites() {
        for client in clients {
            guard let current = client.current else { continue }
            if case .read = current.kind { continue }
            history.append(RecordedOperation(process: client.process, key: current.key, kind: current.kind,
                                             invokedAt: current.invokedAt, completedAt: Int64(eventCount),
                                             outcome: .unknown))
        }
    }
}
