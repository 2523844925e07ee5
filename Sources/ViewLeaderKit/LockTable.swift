import Wire

/// Named locks with one holder each and a FIFO queue of waiters.
///
/// Pure: time arrives as `nowMs`. A requestor that asks again keeps its place; the holder asking again is
/// granted again. Releasing hands the lock to the first waiter, who learns it on its next ask. Waiters must
/// keep asking: one silent for `waiterTimeoutMs` is presumed gone and loses its place, so a client that died
/// while waiting cannot be handed a lock it will never release. Invariants, checked after every event: a lock
/// has exactly one holder, and nobody is both holder and waiter or waits twice.
public struct LockTable: Sendable {
    /// Locks that may exist at once; a request for a new lock beyond this is refused.
    public static let locksMax = 100_000
    /// Waiters one lock may queue; one more is refused.
    public static let waitersPerLockMax = 1_024
    /// A waiter silent for longer than this loses its place in the queue.
    public let waiterTimeoutMs: Int64
    /// Lock state by lock ID; a lock with no holder does not exist. Lock IDs and requestors are their exact bytes
    /// (`ExactString`): canonically equivalent but different names are different locks and requestors.
    public private(set) var locks: [ExactString: LockState] = [:]

    public init(waiterTimeoutMs: Int64) {
        precondition(waiterTimeoutMs > 0, "waiter timeout must be positive")
        self.waiterTimeoutMs = waiterTimeoutMs
    }

    public struct LockState: Equatable, Sendable {
        public var holder: ExactString
        public var waiters: [Waiter]
    }

    public struct Waiter: Equatable, Sendable {
        public let requestor: ExactString
        /// Monotonic milliseconds of this waiter's latest ask.
        public var lastAskedMs: Int64
    }

    public enum AcquireOutcome: Equatable, Sendable {
        case granted
        /// Queued behind the holder; `position` 1 is next in line.
        case queued(position: Int)
        /// Refused because a limit was reached; the text says which.
        case refused(String)
    }

    public enum ReleaseOutcome: Equatable, Sendable {
        /// The holder released it; `nextHolder` is the waiter it passed to, if any.
        case released(nextHolder: String?)
        /// The requestor was waiting and has left the queue.
        case withdrawn
        /// The requestor neither holds nor waits for this lock.
        case unknown
    }

    public mutating func acquire(_ name: String, by requestorName: String, nowMs: Int64) -> AcquireOutcome {
        let lockID = ExactString(name), requestor = ExactString(requestorName)
        defer { checkInvariants(of: lockID) }
        guard var state = locks[lockID] else {
            guard locks.count < Self.locksMax else { return .refused("too many locks (limit \(Self.locksMax))") }
            locks[lockID] = LockState(holder: requestor, waiters: [])
            return .granted
        }
        if state.holder == requestor { return .granted }
        if let index = state.waiters.firstIndex(where: { $0.requestor == requestor }) {
            state.waiters[index].lastAskedMs = nowMs
            locks[lockID] = state
            return .queued(position: index + 1)
        }
        guard state.waiters.count < Self.waitersPerLockMax else {
            return .refused("too many waiters for lock \"\(lockID)\" (limit \(Self.waitersPerLockMax))")
        }
        state.waiters.append(Waiter(requestor: requestor, lastAskedMs: nowMs))
        locks[lockID] = state
        return .queued(position: state.waiters.count)
    }

    public mutating func release(_ name: String, by requestorName: String) -> ReleaseOutcome {
        release(ExactString(name), by: ExactString(requestorName))
    }

    private mutating func release(_ lockID: ExactString, by requestor: ExactString) -> ReleaseOutcome {
        defer { checkInvariants(of: lockID) }
        guard var state = locks[lockID] else { return .unknown }
        if state.holder == requestor {
            if state.waiters.isEmpty {
                locks[lockID] = nil
                return .released(nextHolder: nil)
            }
            state.holder = state.waiters.removeFirst().requestor
            locks[lockID] = state
            return .released(nextHolder: state.holder.text)
        }
        guard let index = state.waiters.firstIndex(where: { $0.requestor == requestor }) else { return .unknown }
        state.waiters.remove(at: index)
        locks[lockID] = state
        return .withdrawn
    }

    /// Releases or withdraws every lock interest of any requestor in `requestors` (a server that expired).
    public mutating func releaseAll(of names: Set<String>) -> [(lockID: String, outcome: ReleaseOutcome)] {
        var results: [(lockID: String, outcome: ReleaseOutcome)] = []
        let requestors = Set(names.map { ExactString($0) }).sorted()
        for lockID in locks.keys.sorted() {
            for requestor in requestors {
                guard let state = locks[lockID] else { break }
                guard state.holder == requestor || state.waiters.contains(where: { $0.requestor == requestor })
                else { continue }
                results.append((lockID.text, release(lockID, by: requestor)))
            }
        }
        return results
    }

    /// Drops waiters that stopped asking; returns (lock, requestor) for each one dropped.
    public mutating func dropSilentWaiters(nowMs: Int64) -> [(lockID: String, requestor: String)] {
        defer { checkInvariants() }
        var dropped: [(lockID: String, requestor: String)] = []
        for (lockID, state) in locks where state.waiters.contains(where: { nowMs - $0.lastAskedMs > waiterTimeoutMs }) {
            var updated = state
            updated.waiters.removeAll { waiter in
                let silent = nowMs - waiter.lastAskedMs > waiterTimeoutMs
                if silent { dropped.append((lockID.text, waiter.requestor.text)) }
                return silent
            }
            locks[lockID] = updated
        }
        return dropped
    }

    private func checkInvariants() {
        for lockID in locks.keys { checkInvariants(of: lockID) }
    }

    private func checkInvariants(of lockID: ExactString) {
        guard let state = locks[lockID] else { return }
        let waiting = state.waiters.map(\.requestor)
        precondition(Set(waiting).count == waiting.count, "a requestor waits twice for one lock")
        precondition(!waiting.contains(state.holder), "a lock's holder is also its waiter")
    }
}
