import Wire

/// What the viewleader must not forget across a restart: the epoch, who was live, and who is denied.
///
/// Written (atomically) before any reply that reveals a new epoch, so a restarted viewleader never hands out an
/// epoch twice and never forgets a member.
public struct ViewLeaderState: Equatable, Sendable {
    public struct SavedMember: Equatable, Sendable {
        public let id: String
        public let address: String
        public let incarnation: Int64

        public init(id: String, address: String, incarnation: Int64 = 0) {
            self.id = id
            self.address = address
            self.incarnation = incarnation
        }
    }

    /// An expired ID and the latest of its incarnations that expired.
    public struct ExpiredID: Equatable, Sendable, ExpressibleByStringLiteral {
        public let id: String
        public let incarnation: Int64

        public init(id: String, incarnation: Int64 = 0) {
            self.id = id
            self.incarnation = incarnation
        }

        public init(stringLiteral id: String) { self.init(id: id) }
    }

    public var epoch: Int64
    public var members: [SavedMember]
    /// Expired IDs, oldest first.
    public var expiredIDs: [ExpiredID]

    /// Incarnations are written only where they are not 0, so a file of a cluster without data directories reads
    /// as it always did.
    public var json: JSONValue {
        var incarnations: JSONObject = [:]
        for expired in expiredIDs where expired.incarnation > 0 {
            incarnations[expired.id] = .integer(expired.incarnation)
        }
        var fields: JSONObject = [
            "epoch": .integer(epoch),
            "members": .array(members.map { member in
                var fields: JSONObject = ["id": .string(member.id), "address": .string(member.address)]
                if member.incarnation > 0 { fields["incarnation"] = .integer(member.incarnation) }
                return .object(fields)
            }),
            "expired_ids": .array(expiredIDs.map { .string($0.id) }),
        ]
        if incarnations.count > 0 { fields["expired_incarnations"] = .object(incarnations) }
        return .object(fields)
    }

    public init(epoch: Int64, members: [SavedMember], expiredIDs: [ExpiredID]) {
        self.epoch = epoch
        self.members = members
        self.expiredIDs = expiredIDs
    }

    /// Reads state written by `json`, checking everything the viewleader relies on; throws a sentence naming the
    /// first problem. The file is input like any other: a hand edit, a bad disk or another program may have
    /// changed it.
    public init(json: JSONValue) throws(StateFileError) {
        guard let fields = json.objectValue else { throw .malformed("expected an object") }
        guard let epoch = fields["epoch"]?.integerValue else { throw .malformed("\"epoch\" must be an integer") }
        guard (0..<Int64.max).contains(epoch) else { throw .malformed("\"epoch\" \(epoch) is out of range") }
        guard let members = fields["members"]?.arrayValue else { throw .malformed("\"members\" must be a list") }
        guard members.count <= ViewLeaderRequest.membersMax else {
            throw .malformed("\(members.count) members, over the limit of \(ViewLeaderRequest.membersMax)")
        }
        guard let expired = fields["expired_ids"]?.arrayValue else {
            throw .malformed("\"expired_ids\" must be a list")
        }
        guard expired.count <= Membership.expiredIDsRememberedMax else {
            throw .malformed("\(expired.count) expired IDs, over the limit of \(Membership.expiredIDsRememberedMax)")
        }
        var saved: [SavedMember] = []
        var ids = Set<ExactString>(), addresses = Set<ExactString>()
        for (index, member) in members.enumerated() {
            guard let id = member.objectValue?["id"]?.stringValue,
                  let address = member.objectValue?["address"]?.stringValue
            else { throw .malformed("member \(index) lacks a string id or address") }
            guard Self.isServerID(id) else { throw .malformed("member \(index) has an invalid id") }
            guard address.utf8.count <= ViewLeaderRequest.addressBytesMax, splitAddress(address) != nil else {
                throw .malformed("member \(id) has an invalid address \"\(address.prefix(64))\"")
            }
            guard ids.insert(ExactString(id)).inserted else { throw .malformed("member \(id) appears twice") }
            guard addresses.insert(ExactString(address)).inserted else {
                throw .malformed("two members share the address \(address)")
            }
            let incarnation = member.objectValue?["incarnation"]
            guard incarnation == nil || (incarnation?.integerValue).map({ $0 >= 0 }) == true else {
                throw .malformed("member \(id) has an incarnation that is not an integer of 0 or more")
            }
            saved.append(SavedMember(id: id, address: address, incarnation: incarnation?.integerValue ?? 0))
        }
        let incarnations = fields["expired_incarnations"]?.objectValue ?? [:]
        guard fields["expired_incarnations"] == nil || fields["expired_incarnations"]?.objectValue != nil else {
            throw .malformed("\"expired_incarnations\" must be an object")
        }
        var expiredIDs: [ExpiredID] = []
        var expiredSet = Set<ExactString>()
        for (index, value) in expired.enumerated() {
            guard let id = value.stringValue, Self.isServerID(id) else {
                throw .malformed("expired ID \(index) is not a valid server ID")
            }
            guard expiredSet.insert(ExactString(id)).inserted else {
                throw .malformed("expired ID \(id) appears twice")
            }
            let incarnation = incarnations[id].map { $0.integerValue ?? -1 } ?? 0
            guard incarnation >= 0 else { throw .malformed("expired ID \(id) has an invalid incarnation") }
            if let member = saved.first(where: { ExactString($0.id) == ExactString(id) }),
               member.incarnation <= incarnation {
                throw .malformed("\(id) is both a member and expired")
            }
            expiredIDs.append(ExpiredID(id: id, incarnation: incarnation))
        }
        for id in incarnations.keys where !expiredSet.contains(ExactString(id)) {
            throw .malformed("\"expired_incarnations\" names \(id.prefix(64)), which is not an expired ID")
        }
        self.init(epoch: epoch, members: saved, expiredIDs: expiredIDs)
    }

    /// A server ID as a heartbeat may carry one: 1 to `ViewLeaderRequest.serverIDBytesMax` bytes.
    private static func isServerID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= ViewLeaderRequest.serverIDBytesMax
    }
}

/// Why the state file could not be used.
public enum StateFileError: Error, Equatable, CustomStringConvertible {
    /// The file exists but does not hold viewleader state.
    case malformed(String)
    /// Reading or writing failed; carries the path and the system's reason.
    case io(String)

    public var description: String {
        switch self {
        case .malformed(let reason): return "the state file is not viewleader state: \(reason)"
        case .io(let reason): return reason
        }
    }
}
