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

    /// Reads state written by `json`; throws a sentence naming what is wrong.
    public init(json: JSONValue) throws(StateFileError) {
        guard let fields = json.objectValue, let epoch = fields["epoch"]?.integerValue, epoch >= 0,
              let members = fields["members"]?.arrayValue, let expired = fields["expired_ids"]?.arrayValue
        else { throw .malformed("expected an object with epoch, members and expired_ids") }
        var saved: [SavedMember] = []
        for member in members {
            guard let id = member.objectValue?["id"]?.stringValue,
                  let address = member.objectValue?["address"]?.stringValue
            else { throw .malformed("a member lacks an id or address") }
            saved.append(SavedMember(id: id, address: address))
        }
        let expiredIDs = expired.compactMap(\.stringValue)
        guard expiredIDs.count == expired.count else { throw .malformed("expired_ids must be strings") }
        self.init(epoch: epoch, members: saved, expiredIDs: expiredIDs)
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
