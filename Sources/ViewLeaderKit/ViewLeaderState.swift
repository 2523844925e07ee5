import Wire

/// What the viewleader must not forget across a restart: the epoch, who was live, and who is denied.
///
/// Written (atomically) before any reply that reveals a new epoch, so a restarted viewleader never hands out an
/// epoch twice and never forgets a member.
public struct ViewLeaderState: Equatable, Sendable {
    public struct SavedMember: Equatable, Sendable {
        public let id: String
        public let address: String
    }

    public var epoch: Int64
    public var members: [SavedMember]
    /// Expired IDs, oldest first.
    public var expiredIDs: [String]

    public var json: JSONValue {
        .object([
            "epoch": .integer(epoch),
            "members": .array(members.map { .object(["id": .string($0.id), "address": .string($0.address)]) }),
            "expired_ids": .array(expiredIDs.map { .string($0) }),
        ])
    }

    public init(epoch: Int64, members: [SavedMember], expiredIDs: [String]) {
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
            saved.append(SavedMember(id: id, address: address))
        }
        var expiredIDs: [String] = []
        for (index, value) in expired.enumerated() {
            guard let id = value.stringValue, Self.isServerID(id) else {
                throw .malformed("expired ID \(index) is not a valid server ID")
            }
            guard !ids.contains(ExactString(id)) else { throw .malformed("\(id) is both a member and expired") }
            expiredIDs.append(id)
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
