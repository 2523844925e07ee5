import ClientKit
import Seeded
import ViewLeaderKit
import Wire

/// Which saved state a restarted viewleader finds: the last one it wrote, none (the file was lost, or it was
/// started with another `--state-dir`), or an older one (a backup restored, a disk that lost recent writes).
enum SavedStateChoice: Equatable {
    case latest, none, older
}

/// The viewleader process: the real `ViewLeaderCore`, and the state it saved to "disk", which survives crashes.
struct SimulatedViewLeader {
    /// Saved states remembered for restarts from older state.
    static let savedHistoryMax = 32

    var state = ProcessState.notStarted
    var incarnation = 0
    /// nil while crashed.
    var core: ViewLeaderCore?
    /// The last `persist` effect carried out: what a restart reads back.
    var saved: ViewLeaderState? {
        didSet { if let saved { savedHistory = (savedHistory + [saved]).suffix(Self.savedHistoryMax) } }
    }
    /// Earlier saved states, oldest first, the last being `saved`.
    private var savedHistory: [ViewLeaderState] = []

    func isCurrent(_ incarnation: Int) -> Bool { state.isAlive && incarnation == self.incarnation }

    /// Starts (or restarts) from the saved state, as `ViewLeaderService` does.
    mutating func start(configuration: SimulationConfiguration, nowMs: Int64) {
        state = .running
        incarnation += 1
        core = ViewLeaderCore(leaseMs: configuration.leaseMs, lockWaiterTimeoutMs: configuration.lockWaiterTimeoutMs,
                              ringSize: configuration.ringSize, restoring: saved, nowMs: nowMs)
    }

    /// Kills the process; its restart will find the state `restoring` picks.
    mutating func crash(restoring: SavedStateChoice = .latest, random: inout SplitMix64) {
        state = .crashed
        incarnation += 1
        core = nil
        switch restoring {
        case .latest:
            break
        case .none:
            savedHistory = []
            saved = nil
        case .older:
            guard savedHistory.count > 1 else { break }
            let older = savedHistory[Int.random(in: 0..<(savedHistory.count - 1), using: &random)]
            savedHistory.removeAll()
            saved = older
        }
    }
}

extension Simulation {
    /// The host a request from `node` appears to come from.
    private func peerHost(of node: NodeID) -> String {
        switch node {
        case .server(let machine): return SimulatedNetwork.host(ofMachine: machine)
        case .client(let index): return "10.0.1.\(index + 1)"
        case .viewLeader: return "10.0.0.254"
        }
    }

    func restartViewLeader() {
        viewLeader.start(configuration: configuration, nowMs: nowMs)
        backlogs[.viewLeader] = nil
        schedule(.viewLeaderTick(incarnation: viewLeader.incarnation), afterMs: tickIntervalMs)
    }

    func viewLeaderReceives(_ request: Request, _ delivery: Delivery) {
        guard var core = viewLeader.core else { return }
        do {
            let (answer, effects) = try core.handle(request, peerHost: peerHost(of: delivery.caller), nowMs: nowMs)
            viewLeader.core = core
            carryOut(effects)
            reply(to: delivery, answer)
        } catch {
            viewLeader.core = core
            reply(to: delivery, Reply.error(error.description))
        }
    }

    func viewLeaderTick() {
        guard var core = viewLeader.core else { return }
        let effects = core.tick(nowMs: nowMs)
        viewLeader.core = core
        carryOut(effects)
        schedule(.viewLeaderTick(incarnation: viewLeader.incarnation), afterMs: tickIntervalMs)
    }

    /// Carries out effects in the order `ViewLeaderService` does: state saved before anything reveals it.
    private func carryOut(_ effects: [ViewLeaderEffect]) {
        for effect in effects {
            switch effect {
            case .persist(let state):
                viewLeader.saved = state
            case .announce(let epoch, let addresses):
                for address in addresses {
                    guard let machine = SimulatedNetwork.machine(at: address) else { continue }
                    call(from: .viewLeader, to: .server(machine), ServerRequest.viewChange(epoch: epoch).json,
                         purpose: .announce, timeoutMs: configuration.announceTimeoutMs, duplicable: true)
                }
            case .log(let line):
                note("viewleader: \(line)")
            }
        }
    }
}
