// swift-tools-version:6.0
// No package dependencies, by the owner's rule: only what the Swift toolchain ships.
import PackageDescription

let package = Package(
    name: "ReplicatedKV",
    products: [
        .executable(name: "viewleader", targets: ["viewleader"]),
        .executable(name: "server", targets: ["server"]),
        .executable(name: "client", targets: ["client"]),
    ],
    targets: [
        // The wire format, pure: framing, JSON, requests and replies, write IDs, limits. No sockets.
        .target(name: "Wire"),
        // Sockets and the event loop every process runs: the listener and its connections (FrameServer), calls
        // to peers from that loop (PeerChannel), a client's blocking connection (FrameConnection), the clock.
        .target(name: "Transport", dependencies: ["Wire", "CSystem"]),
        // epoll, eventfd and accept4 headers, which Swift's Glibc module does not export.
        .target(name: "CSystem"),
        // Ring placement: SHA-1, replica sets and rebalance plans (pure).
        .target(name: "Placement"),
        // Test support: a linearizability checker for recorded histories (usable from tests and tools).
        .target(name: "Linearizability"),
        // Option parsing, logging and signal handling for the three executables.
        .target(name: "CommandLineKit", dependencies: ["Wire", "Transport"]),
        // Membership, leases, epochs and locks (pure core) plus the viewleader's socket shell.
        .target(name: "ViewLeaderKit", dependencies: ["Wire", "Transport", "CommandLineKit", "Placement"]),
        // The key-value store and heartbeat session (pure core) plus the server's socket shell.
        .target(name: "ServerKit", dependencies: ["Wire", "Transport", "CommandLineKit", "Placement"]),
        // The client library (connection reuse, port discovery) and the command-line tool's commands.
        .target(name: "ClientKit", dependencies: ["Wire", "Transport", "CSystem", "CommandLineKit", "Placement"]),
        // Test support: the real cores on a seeded, simulated network and clock, with a nemesis and invariants.
        .target(name: "Simulation",
                dependencies: ["ViewLeaderKit", "ServerKit", "ClientKit", "Linearizability", "CommandLineKit"]),
        // Test support: real processes under a nemesis (kills, pauses, joins, network namespaces and cut links).
        .target(name: "Campaign",
                dependencies: ["ClientKit", "Linearizability", "Placement", "Wire", "Transport", "CommandLineKit"]),
        .executableTarget(name: "viewleader", dependencies: ["ViewLeaderKit"]),
        .executableTarget(name: "server", dependencies: ["ServerKit"]),
        .executableTarget(name: "client", dependencies: ["ClientKit"]),
        // A developer tool, not a product: runs any number of simulated seeds (scripts/simulate).
        .executableTarget(name: "simulate", dependencies: ["Simulation"]),
        // A developer tool, not a product: runs fault campaigns on real processes (scripts/campaign).
        .executableTarget(name: "campaign", dependencies: ["Campaign"]),
        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "Wire"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement"]),
        .testTarget(name: "LinearizabilityCheckerTests", dependencies: ["Linearizability"]),
        .testTarget(name: "CommandLineKitTests", dependencies: ["CommandLineKit"]),
        .testTarget(name: "ViewLeaderKitTests", dependencies: ["ViewLeaderKit"]),
        .testTarget(name: "ServerKitTests", dependencies: ["ServerKit"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation"]),
        .testTarget(name: "CampaignTests", dependencies: ["Campaign", "ClientKit", "Linearizability"]),
        .testTarget(name: "ClientKitTests",
                    dependencies: ["ClientKit", "Wire", "Transport", "Placement", "CommandLineKit"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Wire", "Transport", "ClientKit", "Placement", "Linearizability", "Campaign", "viewleader",
                           "server", "client"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
