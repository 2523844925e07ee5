import Foundation
import Glibc

/// Hosts of their own on one machine: each process in its own network namespace with its own address, all
/// joined by a bridge, and links between hosts that can be cut and healed.
///
/// The campaign's clients stay on the bridge in the machine's own namespace and are never cut off: what is
/// partitioned is the cluster, as when a primary loses its peers and the viewleader but not its clients.
/// A cut adds a blackhole route on each side, so packets already in flight are dropped silently (a
/// connection stalls until its timeout, as on a real network) and a new connection to the far side fails.
/// Needs root and iproute2; `unavailableReason()` says why not otherwise.
public final class NetworkLab: @unchecked Sendable {
    public struct Host: Hashable, Sendable, CustomStringConvertible {
        public let index: Int
        public let namespace: String
        public let address: String
        public var description: String { address }
    }

    /// Hosts one lab may create: the last octet of a /24, leaving .1 for the bridge.
    public static let hostsMax = 200

    /// Short enough that every interface name stays within Linux's 15 characters.
    let prefix: String
    let subnet: String
    var bridge: String { "\(prefix)br" }
    /// The bridge's address: where hosts reach the campaign's clients.
    public var bridgeAddress: String { "\(subnet).1" }
    public private(set) var hosts: [Host] = []
    private let lock = NSLock()
    /// How many faults currently cut each ordered pair; the route exists while the count is above zero.
    private var cutCounts: [Pair: Int] = [:]

    private struct Pair: Hashable {
        let from: Host
        let to: Host
    }

    /// Why this machine cannot host a lab, or nil when it can (root, `ip`, and a namespace really created).
    public static func unavailableReason() -> String? {
        guard geteuid() == 0 else { return "network namespaces need root" }
        let probe = "kvprobe\(getpid() % 100_000)"
        do {
            let created = try SystemTool.run("ip", ["netns", "add", probe])
            guard created.status == 0 else { return "ip netns add failed: \(created.output)" }
            try SystemTool.run("ip", ["netns", "del", probe])
            return nil
        } catch {
            return error.description
        }
    }

    /// Creates the bridge; the tag keeps names and the subnet apart from other labs on the machine.
    public init(tag: Int = Int(getpid())) throws(ChildProcessError) {
        let tag = tag % 100_000
        prefix = "kv\(tag)"
        subnet = "10.\(150 + tag % 100).\(tag / 100 % 250)"
        _ = try? SystemTool.run("ip", ["link", "del", bridge])
        try ip(["link", "add", bridge, "type", "bridge"])
        try ip(["addr", "add", "\(bridgeAddress)/24", "dev", bridge])
        try ip(["link", "set", bridge, "up"])
    }

    /// A new host: a namespace with loopback and one interface on the bridge.
    public func addHost() throws(ChildProcessError) -> Host {
        let index = lock.withLock { hosts.count + 2 }
        precondition(index < Self.hostsMax + 2, "a lab holds at most \(Self.hostsMax) hosts")
        let host = Host(index: index, namespace: "\(prefix)n\(index)", address: "\(subnet).\(index)")
        let hostSide = "\(prefix)h\(index)"
        _ = try? SystemTool.run("ip", ["netns", "del", host.namespace])
        try ip(["netns", "add", host.namespace])
        try ip(["link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
        try ip(["link", "set", hostSide, "master", bridge, "up"])
        try ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
        try ip(["-n", host.namespace, "link", "set", "eth0", "up"])
        try ip(["-n", host.namespace, "link", "set", "lo", "up"])
        lock.withLock { hosts.append(host) }
        return host
    }

    /// Drops traffic both ways between two hosts until a matching `heal`.
    public func cut(_ first: Host, _ second: Host) {
        cutOneWay(from: first, to: second)
        cutOneWay(from: second, to: first)
    }

    public func heal(_ first: Host, _ second: Host) {
        healOneWay(from: first, to: second)
        healOneWay(from: second, to: first)
    }

    /// Drops traffic from `from` to `to` only (a blackhole route on `from`'s side), until `healOneWay`. Cuts
    /// nest: a direction cut twice is healed by the second heal.
    public func cutOneWay(from: Host, to: Host) {
        let pair = Pair(from: from, to: to)
        let count = lock.withLock { () -> Int in
            cutCounts[pair, default: 0] += 1
            return cutCounts[pair]!
        }
        if count == 1 { route("add", pair) }
    }

    public func healOneWay(from: Host, to: Host) {
        let pair = Pair(from: from, to: to)
        let count = lock.withLock { () -> Int in
            guard let count = cutCounts[pair] else { return -1 }
            cutCounts[pair] = count > 1 ? count - 1 : nil
            return count - 1
        }
        if count == 0 { route("del", pair) }
    }

    public func healAll() {
        let pairs = lock.withLock { () -> [Pair] in
            defer { cutCounts.removeAll() }
            return Array(cutCounts.keys)
        }
        for pair in pairs { route("del", pair) }
    }

    /// Deletes every namespace and the bridge (and with them every interface).
    public func tearDown() {
        for host in lock.withLock({ hosts }) {
            // Deleting one end of a veth pair deletes both, at once rather than when the kernel reaps the namespace.
            _ = try? SystemTool.run("ip", ["link", "del", "\(prefix)h\(host.index)"])
            _ = try? SystemTool.run("ip", ["netns", "del", host.namespace])
        }
        _ = try? SystemTool.run("ip", ["link", "del", bridge])
        lock.withLock { hosts.removeAll() }
    }

    private func route(_ verb: String, _ pair: Pair) {
        _ = try? SystemTool.run("ip", ["-n", pair.from.namespace, "route", verb, "blackhole", "\(pair.to.address)/32"])
    }

    private func ip(_ arguments: [String]) throws(ChildProcessError) {
        let result = try SystemTool.run("ip", arguments)
        guard result.status == 0 else {
            throw .unexpected("ip \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
    }
}
