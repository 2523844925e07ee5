/// A decoded request: a JSON object with a `"cmd"` field, and typed access to its other fields.
///
/// Field accessors throw `RequestError` whose text goes back to the peer verbatim, so it names the field and
/// what was expected. Fields a receiver does not know are ignored, as the protocol promises.
public struct Request: Sendable, Equatable {
    /// The command, from the `"cmd"` field.
    public let command: String
    /// Every field of the request, `cmd` included.
    public let fields: JSONObject

    public init(fields: JSONObject) throws(RequestError) {
        guard let cmd = fields["cmd"] else { throw .missingField("cmd") }
        guard case .string(let command) = cmd else { throw .wrongType(field: "cmd", expected: "a string") }
        self.command = command
        self.fields = fields
    }

    /// Parses a frame body into a request.
    public init(frame: ArraySlice<UInt8>) throws(RequestError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(frame)
        } catch {
            throw .invalidJSON(error.description)
        }
        guard case .object(let object) = value else { throw .notAnObject }
        try self.init(fields: object)
    }

    /// A required string field.
    public func string(_ name: String) throws(RequestError) -> String {
        guard let value = fields[name] else { throw .missingField(name) }
        guard case .string(let text) = value else { throw .wrongType(field: name, expected: "a string") }
        return text
    }

    /// A required integer field within `range`.
    public func integer(_ name: String, in range: ClosedRange<Int64>) throws(RequestError) -> Int64 {
        guard let value = fields[name] else { throw .missingField(name) }
        guard let number = value.integerValue else { throw .wrongType(field: name, expected: "an integer") }
        guard range.contains(number) else {
            throw .outOfRange(field: name, range: "\(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// A required field that may be a string or any JSON number, returned as text (classic clients send numbers:
    /// the classic course server sends `random.random()`, a float such as 0.8444218515250481).
    ///
    /// A number has one stable text however it is written: an integral value within ±2^53 as its decimal digits
    /// (`7`, `7.0` and `7e0` are all "7"), any other as the shortest decimal that reads back as the same double,
    /// the form Python's `repr` prints (`0.8444218515250481`, `-2.5`, `1e-07`, `1.5e+300`).
    public func identifier(_ name: String) throws(RequestError) -> String {
        guard let value = fields[name] else { throw .missingField(name) }
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .double(let number): return Self.stableText(of: number)
        default: throw .wrongType(field: name, expected: "a string or a number")
        }
    }

    /// The text `identifier` gives a number that arrived as a double (see there).
    static func stableText(of number: Double) -> String {
        let exactIntegerMagnitudeMax = 9_007_199_254_740_992.0  // 2^53: every integer up to here is a double
        if number.rounded(.towardZero) == number && abs(number) <= exactIntegerMagnitudeMax {
            return String(Int64(number))
        }
        return "\(number)"
    }

    /// An optional string field: nil when absent, an error when present with another type.
    public func optionalString(_ name: String) throws(RequestError) -> String? {
        guard let value = fields[name], value != .null else { return nil }
        guard case .string(let text) = value else { throw .wrongType(field: name, expected: "a string") }
        return text
    }

    /// A required array of strings.
    public func strings(_ name: String) throws(RequestError) -> [String] {
        guard let value = fields[name] else { throw .missingField(name) }
        guard case .array(let items) = value else { throw .wrongType(field: name, expected: "an array of strings") }
        var texts: [String] = []
        texts.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else {
                throw .wrongType(field: name, expected: "an array of strings")
            }
            texts.append(text)
        }
        return texts
    }
}

/// Why a frame could not be turned into a request the receiver can act on.
public enum RequestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body is not valid UTF-8 JSON; carries the parser's explanation.
    case invalidJSON(String)
    /// The body is valid JSON but not an object.
    case notAnObject
    /// A field the command needs is absent.
    case missingField(String)
    /// A field is present with the wrong JSON type.
    case wrongType(field: String, expected: String)
    /// A number field is outside the values the command accepts.
    case outOfRange(field: String, range: String)
    /// The command is not one this receiver serves.
    case unknownCommand(String, known: [String])
    /// A string field is longer than its limit, in bytes of JSON text (see `RecordLimits`).
    case tooLarge(field: String, bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalidJSON(let reason): return reason
        case .notAnObject: return "request must be a JSON object with a \"cmd\" field"
        case .missingField(let name): return "missing field \"\(name)\""
        case .wrongType(let name, let expected): return "field \"\(name)\" must be \(expected)"
        case .outOfRange(let name, let range): return "field \"\(name)\" must be in \(range)"
        case .unknownCommand(let command, let known):
            return "unknown command \"\(command)\"; this process serves: \(known.joined(separator: ", "))"
        case .tooLarge(let name, let bytes, let limit):
            return "field \"\(name)\" is \(bytes) bytes as JSON text, over its limit of \(limit) bytes; nothing was "
                + "changed (the limits are in PROTOCOL.md, \"Limits\")"
        }
    }
}

/// Constructors for the replies every process shares.
public enum Reply {
    public static let ok: JSONValue = .object(["status": "ok"])

    /// An error reply with a sentence saying what was wrong.
    public static func error(_ message: String) -> JSONValue {
        .object(["status": "error", "error": .string(message)])
    }

    /// The explanation in an error reply (what `error` writes); nil for any other reply.
    public static func errorMessage(in reply: JSONValue) -> String? {
        guard let fields = reply.objectValue, fields["status"] == "error" else { return nil }
        return fields["error"]?.stringValue ?? "no explanation given"
    }

    public static func status(_ status: String) -> JSONValue {
        .object(["status": .string(status)])
    }
}
