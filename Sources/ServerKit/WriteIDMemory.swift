import Wire

/// For each key, the IDs of recent writes that took effect on this replica and the version each took effect at,
/// so that a client retrying a write whose acknowledgement it never saw is answered from memory instead of having
/// the write applied a second time, possibly after other clients' later writes.
///
/// The memory travels with its key: `replicate` carries the ID of the write it applies, pull pages carry each
/// entry's IDs, and a position's summary digest covers them, so a replica skips a position in a pull only when it
/// holds the same entries and the same IDs. It is bounded three ways, each named below: one ID per client and at
/// most `clientsPerKeyMax` clients per key, `retentionMs` of age, and `recordsMax` records in all. An ID dropped
/// before its retention ran out marks its ring position, and for `retentionMs` a retried write there whose ID is
/// not remembered is answered "outcome unknown" rather than applied (`mayHaveForgotten`).
///
/// Pure: time arrives as `nowMs`.
struct WriteIDMemory: Sendable {
    /// One remembered write: its ID, and the version it was applied at.
    typealias Record = RememberedWrite

    /// Clients whose latest write to one key is remembered; the one with the oldest version goes first. Also bounds
    /// what a key adds to a replicated write or a pull page.
    static let clientsPerKeyMax = 16
    /// How long a record is kept after its key last gained one. Clients give up retrying after at most
    /// `ReplicatedOperation.retryBudgetMsMax` (30 s), so no well-behaved retry arrives after this.
    static let retentionMs: Int64 = 60_000
    /// Records kept at once, across keys (about 150 bytes each with their key); past it, the keys touched longest
    /// ago are dropped early.
    static let recordsMax = 250_000
    /// Keys moved to the back of the queue, at most, while looking for one to drop early: the queue is ordered by
    /// when each key was queued, not by when it was last touched.
    static let rotationsPerEvictionMax = 64

    /// A key's records and its place in the aging queue.
    private struct KeyRecords {
        let position: Int
        /// FNV-1a of the key's bytes, folded into each record's digest.
        let keyHash: UInt64
        /// At most `clientsPerKeyMax`, each from a different client.
        var records: [Record]
        /// When the key last gained or changed a record.
        var touchedMs: Int64
        /// Identifies the key's one live entry in `queue`; older entries for the key are stale and skipped.
        var ticket: UInt64
    }

    /// By the key's exact bytes: canonically equivalent but different keys are different keys.
    private var byKey: [ExactString: KeyRecords] = [:]
    /// Keys in the order they were (re)queued, from `queueHead` on; a key re-touched since is re-queued when reached.
    private var queue: [(key: ExactString, ticket: UInt64, queuedMs: Int64)] = []
    private var queueHead = 0
    private var nextTicket: UInt64 = 1
    /// Records across all keys.
    private(set) var count = 0
    /// Per ring position: the XOR of the digests of the records of its keys.
    private var digests: [UInt64]
    /// Per ring position: when a record there was last dropped before its retention ran out; `Int64.min` if never.
    private var forgottenMs: [Int64]

    init(ringSize: Int) {
        digests = [UInt64](repeating: 0, count: ringSize)
        forgottenMs = [Int64](repeating: .min, count: ringSize)
    }

    // MARK: Reads

    /// The remembered writes of `key`, oldest version first.
    func records(of key: String) -> [Record] {
        (byKey[ExactString(key)]?.records ?? []).sorted { $0.version < $1.version }
    }

    /// The latest remembered write of `client` to `key`.
    func record(of key: String, client: UInt64) -> Record? {
        byKey[ExactString(key)]?.records.first { $0.writeID.client == client }
    }

    /// The XOR of the digests of every record at `position` (0 when none).
    func digest(at position: Int) -> UInt64 { digests[position] }

    /// True when a record at `position` was dropped early within the last `retentionMs`: a retried write there
    /// whose ID is not remembered may have taken effect all the same.
    func mayHaveForgotten(at position: Int, nowMs: Int64) -> Bool {
        forgottenMs[position] != .min && nowMs - forgottenMs[position] < Self.retentionMs
    }

    // MARK: Writes

    /// Remembers that `writeID` took effect on `key` (at ring position `position`) with `version`. A client's
    /// earlier write to the key is replaced: a client retries only its latest write.
    mutating func remember(_ writeID: WriteID, version: Version, key text: String, position: Int, nowMs: Int64) {
        let key = ExactString(text)
        let record = Record(writeID: writeID, version: version)
        var entry = byKey[key] ?? KeyRecords(position: position, keyHash: Self.hash(text), records: [],
                                             touchedMs: nowMs, ticket: 0)
        precondition(entry.position == position, "a key is remembered at its own position")
        if let index = entry.records.firstIndex(where: { $0.writeID.client == writeID.client }) {
            let held = entry.records[index]
            // A newer write of the client wins; the same write applied again (after its primary abandoned it)
            // keeps its latest version.
            guard (writeID.sequence, version) > (held.writeID.sequence, held.version) else { return }
            digests[position] ^= Self.digest(entry.keyHash, held) ^ Self.digest(entry.keyHash, record)
            entry.records[index] = record
        } else {
            entry.records.append(record)
            digests[position] ^= Self.digest(entry.keyHash, record)
            count += 1
            if entry.records.count > Self.clientsPerKeyMax {
                let oldest = entry.records.indices.min { entry.records[$0].version < entry.records[$1].version }!
                digests[position] ^= Self.digest(entry.keyHash, entry.records.remove(at: oldest))
                count -= 1
                forgottenMs[position] = max(forgottenMs[position], nowMs)
            }
        }
        entry.touchedMs = nowMs
        if entry.ticket == 0 {
            entry.ticket = nextTicket
            nextTicket += 1
            queue.append((key, entry.ticket, nowMs))
        }
        byKey[key] = entry
        forgetExpired(nowMs: nowMs)
        while count > Self.recordsMax { dropLeastRecentlyTouched(nowMs: nowMs) }
    }

    /// Drops every key whose records have all outlived `retentionMs`.
    mutating func forgetExpired(nowMs: Int64) {
        while queueHead < queue.count, queue[queueHead].queuedMs <= nowMs - Self.retentionMs {
            let (key, ticket, _) = queue[queueHead]
            queueHead += 1
            guard let entry = byKey[key], entry.ticket == ticket else { continue }
            if entry.touchedMs > nowMs - Self.retentionMs {
                requeue(key)
            } else {
                drop(key)
            }
        }
        compactQueue()
    }

    /// Drops every key at a position that satisfies `leaves`.
    mutating func removeAll(atPositions leaves: (Int) -> Bool) {
        for (key, entry) in byKey where leaves(entry.position) {
            drop(key)
        }
    }

    // MARK: Internals

    /// Over `recordsMax`: drops the key touched longest ago (approximately: the front of the queue, after moving
    /// a few re-touched keys to the back), and marks its position as having forgotten.
    private mutating func dropLeastRecentlyTouched(nowMs: Int64) {
        var rotations = 0
        while queueHead < queue.count {
            let (key, ticket, queuedMs) = queue[queueHead]
            queueHead += 1
            guard let entry = byKey[key], entry.ticket == ticket else { continue }
            if entry.touchedMs > queuedMs && rotations < Self.rotationsPerEvictionMax {
                rotations += 1
                requeue(key)
                continue
            }
            forgottenMs[entry.position] = max(forgottenMs[entry.position], entry.touchedMs)
            drop(key)
            break
        }
        compactQueue()
    }

    private mutating func requeue(_ key: ExactString) {
        guard var entry = byKey[key] else { return }
        entry.ticket = nextTicket
        nextTicket += 1
        queue.append((key, entry.ticket, entry.touchedMs))
        byKey[key] = entry
    }

    private mutating func drop(_ key: ExactString) {
        guard let entry = byKey.removeValue(forKey: key) else { return }
        for record in entry.records { digests[entry.position] ^= Self.digest(entry.keyHash, record) }
        count -= entry.records.count
    }

    /// Reclaims the consumed front of the queue once it is most of the array.
    private mutating func compactQueue() {
        guard queueHead > 1_024 && queueHead * 2 > queue.count else { return }
        queue.removeFirst(queueHead)
        queueHead = 0
    }

    /// FNV-1a of the key's UTF-8 bytes.
    private static func hash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// A 64-bit hash of one record of a key, spread with SplitMix64's mixer so that XORs of many stay well spread.
    private static func digest(_ keyHash: UInt64, _ record: Record) -> UInt64 {
        var hash = StoreBucket.mix(keyHash ^ record.writeID.client)
        hash = StoreBucket.mix(hash ^ UInt64(bitPattern: record.writeID.sequence))
        hash = StoreBucket.mix(hash ^ UInt64(bitPattern: record.version.epoch))
        return StoreBucket.mix(hash ^ UInt64(bitPattern: record.version.counter) ^ 0x5752_4954_4549_4453)
    }

    /// Checks counts, digests, bounds and the queue's bookkeeping; for tests (it visits every record).
    func checkInvariants() {
        var total = 0
        var recomputed = [UInt64](repeating: 0, count: digests.count)
        for entry in byKey.values {
            precondition(!entry.records.isEmpty && entry.records.count <= Self.clientsPerKeyMax,
                         "a remembered key holds 1...\(Self.clientsPerKeyMax) records")
            precondition(Set(entry.records.map(\.writeID.client)).count == entry.records.count,
                         "a key remembers one write per client")
            total += entry.records.count
            for record in entry.records { recomputed[entry.position] ^= Self.digest(entry.keyHash, record) }
        }
        precondition(total == count, "the record count disagrees with the keys")
        precondition(total <= Self.recordsMax, "more records than the limit")
        precondition(recomputed == digests, "a position's digest disagrees with its records")
        let live = Set(queue[queueHead...].map(\.ticket))
        precondition(byKey.values.allSatisfy { live.contains($0.ticket) }, "a remembered key is not in the queue")
    }
}
