/// Checks histories of a key-value store against a linearizable register-with-delete per key.
///
/// Keys are independent (a history is linearizable iff each key's sub-history is), so each key is checked on
/// its own with a Wing–Gong search, memoised on (operations linearized so far, register value) as in Lowe's
/// refinement. Failed operations are dropped; reads with unknown outcome say nothing and are dropped; writes
/// and deletes with unknown outcome may take effect at any point after their invocation, or never.
public enum LinearizabilityChecker {
    /// Operations of one key that one check accepts; a longer sub-history is refused rather than searched.
    public static let operationsPerKeyMax = 4_096

    public enum Verdict: Equatable, Sendable {
        case linearizable
        /// The first key (in sorted order) with no valid linearization, and the operations around the point
        /// where every attempt got stuck.
        case violation(key: String, window: [RecordedOperation])
        /// A key has more operations than `operationsPerKeyMax`.
        case tooLarge(key: String, operations: Int)
    }

    public static func check(_ history: [RecordedOperation]) -> Verdict {
        let byKey = Dictionary(grouping: history, by: \.key)
        for key in byKey.keys.sorted() {
            let operations = withoutUnobservedUnknownWrites(byKey[key]!.filter(\.isRelevant))
            guard operations.count <= operationsPerKeyMax else { return .tooLarge(key: key, operations: operations.count) }
            var search = KeySearch(operations: operations)
            if let stuckAt = search.run() { return .violation(key: key, window: search.window(around: stuckAt)) }
        }
        return .linearizable
    }

    /// Drops writes of unknown outcome whose value no read returned. Such a write may be taken never to have
    /// happened: in any linearization that places it, no read falls between it and the next write (none saw its
    /// value), so removing it leaves a linearization. Each one kept would double the states to search.
    static func withoutUnobservedUnknownWrites(_ operations: [RecordedOperation]) -> [RecordedOperation] {
        var observed: Set<String> = []
        for operation in operations {
            if case .read(let value?) = operation.kind { observed.insert(value) }
        }
        return operations.filter { operation in
            guard operation.outcome == .unknown, case .write(let value) = operation.kind else { return true }
            return observed.contains(value)
        }
    }
}

extension RecordedOperation {
    /// Failed operations never happened, and an unanswered read tells nothing.
    var isRelevant: Bool {
        switch (kind, outcome) {
        case (_, .fail): return false
        case (.read, .unknown): return false
        default: return true
        }
    }

    var isUnknownDelete: Bool { outcome == .unknown && kind == .delete }

    /// Until when the operation must have taken effect; unknown writes have no deadline.
    var deadline: Int64 { outcome == .unknown ? Int64.max : completedAt }
}

/// The search for one key.
struct KeySearch {
    let operations: [RecordedOperation]
    /// Indices of operations that must be linearized (outcome ok).
    let required: [Int]
    private var visited: Set<SearchState> = []
    /// The most required operations any path linearized, and the first required one it could not place.
    private var deepest = (count: -1, stuckAt: 0)

    struct SearchState: Hashable {
        var done: [UInt64]
        var value: String?
    }

    init(operations: [RecordedOperation]) {
        let sorted = operations.sorted { ($0.invokedAt, $0.process) < ($1.invokedAt, $1.process) }
        self.operations = sorted
        required = sorted.indices.filter { sorted[$0].outcome == .ok }
    }

    /// nil when linearizable; otherwise the index of an operation no linearization could place.
    mutating func run() -> Int? {
        let words = (operations.count + 63) / 64
        var stack = [SearchState(done: [UInt64](repeating: 0, count: words), value: nil)]
        while let state = stack.popLast() {
            guard visited.insert(state).inserted else { continue }
            let remainingRequired = required.filter { !isDone($0, state.done) }
            if remainingRequired.isEmpty { return nil }
            let horizon = remainingRequired.map { operations[$0].deadline }.min()!
            let placedCount = required.count - remainingRequired.count
            if placedCount > deepest.count { deepest = (placedCount, remainingRequired.first!) }
            var triedUnknownDelete = false
            for index in operations.indices where !isDone(index, state.done) && operations[index].invokedAt <= horizon {
                // Unknown deletes already invoked are interchangeable: each may act once, at any later moment, and
                // stays available as the horizon only grows. Trying the earliest one stands for all of them.
                if operations[index].isUnknownDelete {
                    if triedUnknownDelete { continue }
                    triedUnknownDelete = true
                }
                let step = apply(operations[index], to: state.value)
                guard step.accepted else { continue }
                var done = state.done
                done[index / 64] |= 1 << UInt64(index % 64)
                stack.append(SearchState(done: done, value: step.value))
            }
        }
        return deepest.stuckAt
    }

    /// The register after `operation`; not accepted when a read disagrees with the register.
    private func apply(_ operation: RecordedOperation, to value: String?) -> (accepted: Bool, value: String?) {
        switch operation.kind {
        case .write(let written): return (true, written)
        case .delete: return (true, nil)
        case .read(let observed): return (observed == value, value)
        }
    }

    private func isDone(_ index: Int, _ done: [UInt64]) -> Bool { done[index / 64] & (1 << UInt64(index % 64)) != 0 }

    /// The stuck operation and every operation whose interval overlaps it, in invocation order.
    func window(around index: Int) -> [RecordedOperation] {
        let stuck = operations[index]
        return operations.filter { $0.invokedAt <= stuck.deadline && $0.deadline >= stuck.invokedAt }
    }
}
