import Authentication
import Transport
import Wire

/// Options every listening process shares: where to bind and the connection limits.
public struct ListenerOptions: Sendable {
    public var bindAddress: String
    /// Ports tried in order; the first free one is used.
    public var candidatePorts: [Int]
    public var limits: WireLimits
    /// The cluster's keys (`--cluster-key-file`): connections must authenticate with one, and this process
    /// authenticates its own with the first member key. Nil: no authentication, as the classic protocol.
    public var keys: KeyFile?

    /// The option specs, given the process's default port range for the help text.
    public static func specs(defaultPorts: ClosedRange<Int>) -> [OptionSpec] {
        [
            .value("port", placeholder: "PORT",
                   help: "port to listen on; 0 picks a free one (default: first free of "
                       + "\(defaultPorts.lowerBound)-\(defaultPorts.upperBound))"),
            .value("bind", placeholder: "ADDRESS",
                   help: "address to listen on (default 127.0.0.1: this machine only); any other needs "
                       + "--cluster-key-file or --insecure"),
            .value("cluster-key-file", placeholder: "FILE",
                   help: "keys connections must authenticate with (lines of NAME ROLE SECRET from "
                       + "`client genkey`); this process sends with the first member key. The same file on every "
                       + "viewleader and server, plus the client keys it accepts"),
            .flag("insecure", help: "listen beyond this machine without keys (anyone who reaches the port may do "
                + "anything); only on a network you trust"),
            .value("max-frame-bytes", placeholder: "BYTES",
                   help: "largest request accepted, in bytes (default \(WireLimits().frameBytesMax), at least "
                       + "\(RecordLimits.frameBytesMin)); the largest value is this less "
                       + "\(RecordLimits.keyBytesMax + RecordLimits.envelopeBytesMax); use the same on every server"),
            .value("request-timeout", placeholder: "SECONDS",
                   help: "time a peer has to send a whole request (default \(WireLimits().requestTimeoutMs / 1000))"),
            .value("idle-timeout", placeholder: "SECONDS",
                   help: "idle time after which a connection is closed (default \(WireLimits().idleTimeoutMs / 1000))"),
        ]
    }

    public init(_ parsed: ParsedOptions, defaultPorts: ClosedRange<Int>) throws(OptionError) {
        bindAddress = parsed.string("bind", default: "127.0.0.1")
        if parsed.has("cluster-key-file") {
            let path = parsed.string("cluster-key-file", default: "")
            let keys = try KeyFileOption.load(path, source: "--cluster-key-file")
            guard keys.sendingKey(atLeast: .member) != nil else {
                throw .badFile(source: "--cluster-key-file", path: path,
                               reason: "it lists no member key; add one made with `client genkey NAME member`")
            }
            self.keys = keys
        } else if !KeyFileOption.isLoopback(bindAddress) && !parsed.has("insecure") {
            throw .unprotected(address: bindAddress)
        }
        if parsed.has("port") {
            candidatePorts = [try parsed.integer("port", default: 0, range: 0...65_535)]
        } else {
            candidatePorts = Array(defaultPorts)
        }
        var limits = WireLimits()
        limits.frameBytesMax = try parsed.integer("max-frame-bytes", default: limits.frameBytesMax,
                                                  range: RecordLimits.frameBytesMin...(1 << 30))
        limits.outputBytesMax = max(limits.outputBytesMax, 2 * limits.frameBytesMax)
        limits.outputBytesTotalMax = max(limits.outputBytesTotalMax, limits.outputBytesMax)
        limits.requestTimeoutMs = Int(1000 * (try parsed.seconds("request-timeout",
            default: Double(limits.requestTimeoutMs) / 1000, range: 0.01...86_400)))
        limits.idleTimeoutMs = Int(1000 * (try parsed.seconds("idle-timeout",
            default: Double(limits.idleTimeoutMs) / 1000, range: 0.01...86_400)))
        self.limits = limits
    }
}

extension FrameServer {
    /// Binds as the listener options say.
    public convenience init(listener: ListenerOptions) throws(SocketError) {
        try self.init(host: listener.bindAddress, ports: listener.candidatePorts, limits: listener.limits)
        acceptedKeys = listener.keys
        if let keys = listener.keys { ConnectionCredentials.key = keys.sendingKey(atLeast: .member) }
    }
}
