import Dispatch
import Glibc

/// Runs a handler on a dispatch queue when the process receives one of the given signals.
///
/// The signals' default actions are disabled so the handler can shut down cleanly instead.
/// Sources are created once in `init` and only cancelled afterwards, which Dispatch allows from any thread.
public final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    public init(signals: [Int32], queue: DispatchQueue = .global(), handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    public func cancel() {
        for source in sources { source.cancel() }
    }
}
