import CommandLineKit

/// What `client bench` asks for, and where each request goes.
enum BenchOperation: Equatable, Sendable, CustomStringConvertible {
    /// Classic unreplicated `set`/`get` on one server.
    case set
    case get
    /// Replicated `setr`/`getr`, each sent to its key's primary in the current view.
    case setr
    case getr
    /// Replicated reads and writes mixed at random: `readPercent` of requests are `getr`, the rest `setr`.
    case mixed(readPercent: Int)
    /// `lock_get` then `lock_release` of a random lock, alternating, on the viewleader.
    case lock

    /// Read share of `mixed` when `--op mixed` names none.
    static let mixedReadPercentDefault = 50

    /// Parses `set`, `get`, `setr`, `getr`, `mixed`, `mixed:PERCENT` or `lock`.
    static func parse(_ text: String) throws(OptionError) -> BenchOperation {
        let invalid = OptionError.invalidValue(option: "op", value: text,
                                               expected: "set, get, setr, getr, mixed, mixed:READ_PERCENT or lock")
        switch text {
        case "set": return .set
        case "get": return .get
        case "setr": return .setr
        case "getr": return .getr
        case "lock": return .lock
        case "mixed": return .mixed(readPercent: mixedReadPercentDefault)
        default:
            guard text.hasPrefix("mixed:") else { throw invalid }
            guard let percent = Int(text.dropFirst("mixed:".count)), (0...100).contains(percent) else {
                throw .invalidValue(option: "op", value: text,
                                    expected: "mixed:READ_PERCENT with a percent from 0 to 100")
            }
            return .mixed(readPercent: percent)
        }
    }

    /// Which process the requests go to.
    enum Destination: Equatable, Sendable {
        case server
        case replicatedStore
        case viewLeader
    }

    var destination: Destination {
        switch self {
        case .set, .get: return .server
        case .setr, .getr, .mixed: return .replicatedStore
        case .lock: return .viewLeader
        }
    }

    /// The write that fills every key before a run that reads keys, so reads find values; nil when the run
    /// reads nothing.
    var prefillOperation: BenchOperation? {
        switch self {
        case .get: return .set
        case .getr: return .setr
        case .mixed(let readPercent): return readPercent > 0 ? .setr : nil
        case .set, .setr, .lock: return nil
        }
    }

    var description: String {
        switch self {
        case .set: return "set"
        case .get: return "get"
        case .setr: return "setr"
        case .getr: return "getr"
        case .mixed(let readPercent): return "mixed:\(readPercent)"
        case .lock: return "lock"
        }
    }
}
