import Wire

/// A process in the simulated world.
enum NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    case viewLeader
    /// The server process on machine N (0-based), whichever incarnation runs there.
    case server(Int)
    case client(Int)

    var description: String {
        switch self {
        case .viewLeader: return "viewleader"
        case .server(let machine): return "machine \(machine)"
        case .client(let index): return "client \(index)"
        }
    }
}

/// Where each simulated process listens and which links are cut.
///
/// Servers listen on "10.0.0.N:38000", one machine each, so a restarted server keeps its machine's address and
/// a message names its destination the way the real ones do.
struct SimulatedNetwork {
    static let serverPort = DefaultPorts.server.lowerBound

    /// Unordered pairs of nodes that cannot reach each other, with a count so overlapping cuts nest.
    /// (A one-way cut is as good as a full one for a request and its reply; both are modelled.)
    private var cuts: [LinkKey: Int] = [:]

    struct LinkKey: Hashable {
        let low: NodeID
        let high: NodeID

        init(_ a: NodeID, _ b: NodeID) {
            low = min(a, b)
            high = max(a, b)
        }
    }

    static func host(ofMachine machine: Int) -> String { "10.0.0.\(machine + 1)" }

    static func address(ofMachine machine: Int) -> String { "\(host(ofMachine: machine)):\(serverPort)" }

    /// The machine an address names, or nil for an address no simulated server has.
    static func machine(at address: String) -> Int? {
        guard address.hasPrefix("10.0.0."), address.hasSuffix(":\(serverPort)"),
              let number = Int(address.dropFirst(7).dropLast(":\(serverPort)".count)), number >= 1
        else { return nil }
        return number - 1
    }

    /// Ordered pairs: messages from the first to the second are lost, the other way gets through.
    private var oneWayCuts: [Direction: Int] = [:]

    struct Direction: Hashable {
        let from: NodeID
        let to: NodeID
    }

    /// Whether a message from `a` to `b` is lost.
    func isCut(_ a: NodeID, _ b: NodeID) -> Bool {
        (cuts[LinkKey(a, b)] ?? 0) > 0 || (oneWayCuts[Direction(from: a, to: b)] ?? 0) > 0
    }

    mutating func cutOneWay(from a: NodeID, to b: NodeID) {
        oneWayCuts[Direction(from: a, to: b), default: 0] += 1
    }

    mutating func healOneWay(from a: NodeID, to b: NodeID) {
        let key = Direction(from: a, to: b)
        guard let count = oneWayCuts[key] else { return }
        oneWayCuts[key] = count > 1 ? count - 1 : nil
    }

    mutating func cut(_ a: NodeID, _ b: NodeID) {
        cuts[LinkKey(a, b), default: 0] += 1
    }

    mutating func heal(_ a: NodeID, _ b: NodeID) {
        let key = LinkKey(a, b)
        guard let count = cuts[key] else { return }
        cuts[key] = count > 1 ? count - 1 : nil
    }

    mutating func healAll() {
        cuts.removeAll()
        oneWayCuts.removeAll()
    }
}
