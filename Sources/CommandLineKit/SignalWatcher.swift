import Foundation
import Glibc

/// Write end of the self-pipe the C signal handler writes each signal's number to; -1 before any watcher.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

/// Runs a handler on its own thread when the process receives one of the given signals.
///
/// The C-level handler is installed synchronously in `init` and only writes the signal number to a pipe (the
/// self-pipe trick; `write` is async-signal-safe), so no signal arriving after `init` returns is lost. An
/// earlier version used a Dispatch signal source, whose asynchronous registration could drop a signal sent
/// right after start-up. One watcher per process.
public final class SignalWatcher: @unchecked Sendable {
    private let readFD: Int32

    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        var fds: [Int32] = [-1, -1]
        let created = pipe(&fds)
        precondition(created == 0, "cannot create the signal pipe")
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        readFD = fds[0]
        signalPipeWriteFD = fds[1]
        // A parent may start us with these signals blocked (a blocked mask is inherited across exec); unblock
        // them on this thread so the kernel has a thread to deliver them to.
        var watched = sigset_t()
        sigemptyset(&watched)
        for number in signals {
            sigaddset(&watched, number)
            signal(number) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(signalPipeWriteFD, &byte, 1)
            }
        }
        pthread_sigmask(SIG_UNBLOCK, &watched, nil)
        let readFD = fds[0]
        Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count == 1 {
                    handler(Int32(byte))
                } else if count == 0 || errno != EINTR {
                    return
                }
            }
        }.start()
    }

    /// Stops reacting: later signals are ignored.
    public func cancel() {
        for number in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { signal(number, SIG_IGN) }
    }
}
