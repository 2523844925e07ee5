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
        .target(name: "Transport", dependencies: ["Wire", "CSystem", "Authentication"]),
        // epoll, eventfd and accept4 headers, which Swift's Glibc module does not export.
        .target(name: "CSystem"),
        // Ring placement: SHA-1, replica sets and rebalance plans (pure).
        .target(name: "Placement", dependencies: ["Wire"]),
        // Test support: a linearizability checker for recorded histories (usable from tests and tools).
        .target(name: "Linearizability"),
        // Option parsing, logging and signal handling for the three executables.
        .target(name: "CommandLineKit", dependencies: ["Wire", "Transport", "Authentication"]),
        // Membership, leases, epochs and locks (pure core) plus the viewleader's socket shell.
        .target(name: "ViewLeaderKit",
                dependencies: ["Wire", "Transport", "CommandLineKit", "Placement", "Authentication"]),
        // What a server keeps on disk: CRC-32C, framed records and how a file of them ended, log entries, group
        // commit and recovery (pure), over a real data directory or a simulated disk that loses unsynced writes.
        .target(name: "Durability", dependencies: ["Wire", "Placement"]),
        // Who may speak: SHA-256 and HMAC of our own, key files and roles, the handshake and per-frame codes (pure).
        .target(name: "Authentication", dependencies: ["CSHA256"]),
        // SHA-256's compression on the CPU's SHA extensions (x86-64), used by Authentication when present.
        .target(name: "CSHA256"),
        // The key-value store and heartbeat session (pure core) plus the server's socket shell.
        .target(name: "ServerKit",
                dependencies: ["Wire", "Transport", "CommandLineKit", "Placement", "Durability", "Authentication"]),
        // The client library (connection reuse, port discovery) and the command-line tool's commands.
        // The client library users link: connections, typed clients, the replicated store and its retry rules.
        .target(name: "ClientKit", dependencies: ["Wire", "Transport", "Placement", "Authentication"]),
        // The `client` command line and its `bench` load generator, built on ClientKit.
        .target(name: "ClientTool",
                dependencies: ["ClientKit", "Wire", "Transport", "CSystem", "CommandLineKit", "Placement", "Seeded",
                               "Authentication"]),
        // A seeded generator and the random choices made with it, so whatever follows from a seed replays exactly.
        .target(name: "Seeded"),
        // The kinds of fault the simulator and the real-process campaign inject, named once for both.
        .target(name: "FaultModel"),
        // Test support: the real cores on a seeded, simulated network and clock, with a nemesis and invariants.
        .target(name: "Simulation",
                dependencies: ["ViewLeaderKit", "ServerKit", "ClientKit", "Linearizability", "CommandLineKit", "Seeded",
                               "FaultModel", "Durability"]),
        // Test support: real processes under a nemesis (kills, pauses, joins, network namespaces and cut links).
        .target(name: "Campaign",
                dependencies: ["ClientKit", "Linearizability", "Placement", "Wire", "Transport", "CommandLineKit",
                               "Seeded", "FaultModel", "Authentication"]),
        .executableTarget(name: "viewleader", dependencies: ["ViewLeaderKit"]),
        .executableTarget(name: "server", dependencies: ["ServerKit"]),
        .executableTarget(name: "client", dependencies: ["ClientTool"]),
        // A developer tool, not a product: runs any number of simulated seeds (scripts/simulate).
        .executableTarget(name: "simulate", dependencies: ["Simulation"]),
        // A developer tool, not a product: runs fault campaigns on real processes (scripts/campaign).
        .executableTarget(name: "campaign", dependencies: ["Campaign"]),
        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "Wire"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement", "Wire"]),
        .testTarget(name: "LinearizabilityCheckerTests", dependencies: ["Linearizability"]),
        .testTarget(name: "CommandLineKitTests", dependencies: ["CommandLineKit"]),
        .testTarget(name: "ViewLeaderKitTests", dependencies: ["ViewLeaderKit", "Seeded", "Wire"]),
        .testTarget(name: "ServerKitTests", dependencies: ["ServerKit", "Durability", "Seeded"]),
        .testTarget(name: "DurabilityTests", dependencies: ["Durability", "Wire", "Placement"]),
        .testTarget(name: "AuthenticationTests", dependencies: ["Authentication"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "FaultModel"]),
        .testTarget(name: "CampaignTests", dependencies: ["Campaign", "ClientKit", "Linearizability", "Seeded", "FaultModel"]),
        .testTarget(name: "ClientKitTests", dependencies: ["ClientKit", "Wire", "Transport", "Placement"]),
        .testTarget(name: "ClientToolTests",
                    dependencies: ["ClientTool", "ClientKit", "Wire", "Transport", "Placement", "CommandLineKit",
                                   "Seeded"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Wire", "Transport", "ClientKit", "ClientTool", "Placement", "Linearizability", "Campaign",
                           "FaultModel", "Authentication", "CommandLineKit", "viewleader", "server", "client"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
