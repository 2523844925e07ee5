import Glibc
import Wire

/// Thin wrappers over POSIX socket calls, turning errno into `SocketError`.
///
/// Every socket this project opens is non-blocking; waiting happens in epoll (servers) or poll (clients).
public enum Socket {
    /// Pending connections the kernel queues before `accept`.
    public static let listenBacklog: Int32 = 1_024

    /// Ignores SIGPIPE for the whole process, so a peer closing mid-write becomes EPIPE, not death.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Opens a non-blocking listening socket on `host:port`; port 0 asks the kernel for an ephemeral port.
    public static func listen(host: String, port: Int) throws(SocketError) -> Int32 {
        let address = try resolve(host: host, port: port, passive: true)
        let fd = socket(Int32(address.family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockaddr { pointer, length in Glibc.bind(fd, pointer, length) }
        guard bound == 0 else {
            let code = errno
            close(fd)
            if code == EADDRINUSE { throw .addressInUse(host: host, port: port) }
            throw .system("bind \(host):\(port)", code)
        }
        guard Glibc.listen(fd, listenBacklog) == 0 else {
            let code = errno
            close(fd)
            throw .system("listen", code)
        }
        try setNonBlocking(fd)
        return fd
    }

    /// Connects to `host:port`, waiting at most `timeoutMs`; returns a non-blocking socket with TCP_NODELAY.
    public static func connect(host: String, port: Int, timeoutMs: Int) throws(SocketError) -> Int32 {
        let address = try resolve(host: host, port: port, passive: false)
        let fd = socket(Int32(address.family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        do throws(SocketError) {
            try setNonBlocking(fd)
            setNoDelay(fd)
            let result = address.withSockaddr { pointer, length in Glibc.connect(fd, pointer, length) }
            if result != 0 {
                guard errno == EINPROGRESS else { throw .connect(host: host, port: port, errno) }
                guard try waitUntil(fd: fd, events: Int16(POLLOUT), timeoutMs: timeoutMs) else {
                    throw .timedOut("connecting to \(host):\(port)")
                }
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                guard code == 0 else { throw .connect(host: host, port: port, code) }
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Waits until `fd` is ready for `events`; false when `timeoutMs` passed first.
    public static func waitUntil(fd: Int32, events: Int16, timeoutMs: Int) throws(SocketError) -> Bool {
        let deadline = MonotonicClock.nowMs() + Int64(timeoutMs)
        while true {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let remaining = max(0, deadline - MonotonicClock.nowMs())
            let ready = poll(&entry, 1, Int32(clamping: remaining))
            if ready > 0 { return true }
            if ready == 0 { return false }
            guard errno == EINTR else { throw .system("poll", errno) }
        }
    }

    public static func setNonBlocking(_ fd: Int32) throws(SocketError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw .system("fcntl", errno) }
    }

    /// Disables Nagle's algorithm: replies are small and latency matters more than packet count.
    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The port a socket is bound to locally (the answer to `--port 0`).
    public static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return SocketAddress(storage: storage).port
    }

    /// The numeric host of the peer on the other end, e.g. "127.0.0.1".
    public static func peerHost(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage).host : "unknown"
    }

    /// Resolves `host:port` once, so a caller opening many connections does not ask the resolver every time.
    public static func resolve(host: String, port: Int) throws(SocketError) -> SocketAddress {
        try resolve(host: host, port: port, passive: false)
    }

    /// Starts connecting a non-blocking socket with TCP_NODELAY to `address`, without waiting.
    ///
    /// Returns the socket and whether it is already connected. While it is not, the caller waits for
    /// writability (in epoll or poll) and then reads the outcome with `pendingError`.
    public static func startConnecting(to address: SocketAddress) throws(SocketError) -> (fd: Int32, connected: Bool) {
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(Int32(address.family), kind, 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        setNoDelay(fd)
        let result = address.withSockaddr { pointer, length in Glibc.connect(fd, pointer, length) }
        if result == 0 { return (fd, true) }
        let code = errno
        guard code == EINPROGRESS else {
            close(fd)
            throw .connect(host: address.host, port: address.port, code)
        }
        return (fd, false)
    }

    /// The outcome of a non-blocking connect once the socket is writable: 0 when connected, else the errno.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    static func resolve(host: String, port: Int, passive: Bool) throws(SocketError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .unresolvable(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr,
                                                            count: Int(first.pointee.ai_addrlen)))
        }
        return SocketAddress(storage: storage)
    }
}

/// An IPv4 or IPv6 socket address.
public struct SocketAddress: Sendable {
    var storage: sockaddr_storage

    var family: sa_family_t { storage.ss_family }

    public var port: Int {
        withUnsafeBytes(of: storage) { raw in
            if family == sa_family_t(AF_INET6) {
                return Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            }
            return Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
        }
    }

    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafeBytes(of: storage) { raw in
            if family == sa_family_t(AF_INET6) {
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            } else {
                var address = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        let length = family == sa_family_t(AF_INET6)
            ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        return withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(length))
        }
    }
}

/// What went wrong with a socket, in words that say what to check.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process already listens on this address and port.
    case addressInUse(host: String, port: Int)
    /// The host name could not be resolved to an address.
    case unresolvable(host: String, reason: String)
    /// The peer refused or could not be reached.
    case connect(host: String, port: Int, Int32)
    /// An operation did not finish within its deadline.
    case timedOut(String)
    /// No candidate port of a host accepted a connection.
    case noneListening(host: String, ports: String)
    /// The peer closed the connection.
    case closed
    /// A connection already holds its limit of unanswered calls; the peer is slow or stopped.
    case backlogFull(host: String, port: Int, calls: Int)
    /// Any other system call failure, with the call's name and errno.
    case system(String, Int32)
    /// The other side refused our key, or we refused its proof or a frame's code: retrying will not help.
    case authentication(String)

    public var description: String {
        switch self {
        case .addressInUse(let host, let port): return "\(host):\(port) is already in use"
        case .unresolvable(let host, let reason): return "cannot resolve host \"\(host)\": \(reason)"
        case .connect(let host, let port, let code):
            return "cannot connect to \(host):\(port): \(String(cString: strerror(code)))"
        case .timedOut(let what): return "timed out \(what)"
        case .noneListening(let host, let ports): return "nothing is listening on \(host) ports \(ports)"
        case .closed: return "the peer closed the connection"
        case .backlogFull(let host, let port, let calls):
            return "\(calls) calls to \(host):\(port) are already waiting for answers; the peer is slow or stopped"
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .authentication(let reason): return reason
        }
    }
}
