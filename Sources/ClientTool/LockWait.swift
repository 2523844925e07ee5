import ClientKit
import CommandLineKit
import Dispatch
import Glibc
import Wire

/// `client lock_get`: asks until granted, and withdraws from the queue when interrupted.
///
/// Ctrl-C while waiting sends `lock_release`, so no ghost waiter is left in the queue (and if the lock was handed
/// over in the meantime, that release gives it back rather than leaving it held by a process that is gone).
struct LockWait {
    let invocation: ClientRun
    let lockID: String
    let requestor: String

    func run() -> Int32 {
        let interrupted = DispatchSemaphore(value: 0)
        let watcher = SignalWatcher(signals: [SIGINT, SIGTERM]) { _ in interrupted.signal() }
        defer { watcher.cancel() }
        let endpoint = invocation.viewLeaderEndpoint()
        let request = ViewLeaderRequest.lockGet(lockID: lockID, requestor: requestor).json
        var lastPosition: Int?
        var asked = false
        while true {
            let reply: JSONValue
            do {
                reply = try endpoint.call(request, idempotent: true)
            } catch {
                return invocation.report(error)
            }
            asked = true
            guard case .queued(let position)? = try? LockReply(reply) else {
                return invocation.show(lockReply: reply, expected: .granted,
                                       text: "granted lock \"\(lockID)\" to \(requestor)")
            }
            if invocation.json {
                printLine(reply.description)
            } else if position != lastPosition || lastPosition == nil {
                lastPosition = position
                let place = lastPosition.map { " (position \($0) in the queue)" } ?? ""
                printLine("waiting for lock \"\(lockID)\"\(place); asking again every "
                    + "\(Double(invocation.retryIntervalMs) / 1000) s; Ctrl-C to give up")
            }
            if interrupted.wait(timeout: .now() + .milliseconds(invocation.retryIntervalMs)) == .success {
                return withdraw(endpoint, asked: asked)
            }
        }
    }

    private func withdraw(_ endpoint: EndpointClient, asked: Bool) -> Int32 {
        do {
            _ = try endpoint.call(ViewLeaderRequest.lockRelease(lockID: lockID, requestor: requestor).json)
            printError("interrupted: withdrew \(requestor) from the queue for lock \"\(lockID)\"")
        } catch {
            printError("interrupted, but could not withdraw from the queue: \(error); the viewleader drops "
                + "waiters that stop asking")
        }
        return ClientExitCode.interrupted
    }
}
