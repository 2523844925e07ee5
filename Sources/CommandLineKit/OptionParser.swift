/// One option a tool accepts, declared once so parsing and `--help` text come from the same place.
public struct OptionSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case flag
        case value(placeholder: String)
    }

    /// Long name without dashes, e.g. "viewleader".
    public let name: String
    public let short: Character?
    public let kind: Kind
    /// One line for `--help`, including the default.
    public let help: String

    public static func flag(_ name: String, short: Character? = nil, help: String) -> OptionSpec {
        OptionSpec(name: name, short: short, kind: .flag, help: help)
    }

    public static func value(_ name: String, placeholder: String, help: String) -> OptionSpec {
        OptionSpec(name: name, short: nil, kind: .value(placeholder: placeholder), help: help)
    }
}

/// Which options were given, and the positional arguments in order.
public struct ParsedOptions: Sendable {
    public var positionals: [String] = []
    /// Every occurrence in order: (name, value); flags have a nil value.
    var occurrences: [(name: String, value: String?)] = []

    public func has(_ name: String) -> Bool { occurrences.contains { $0.name == name } }

    /// The value of the last occurrence of `name`.
    public func value(_ name: String) -> String? { occurrences.last { $0.name == name }?.value }

    public func string(_ name: String, default defaultValue: String) -> String { value(name) ?? defaultValue }

    public func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>? = nil)
        throws(OptionError) -> Int
    {
        guard let text = value(name) else { return defaultValue }
        let expected = range.map { "a whole number from \($0.lowerBound) to \($0.upperBound)" } ?? "a whole number"
        guard let number = Int(text), range?.contains(number) ?? true else {
            throw .invalidValue(option: name, value: text, expected: expected)
        }
        return number
    }

    /// A duration in seconds; decimals allowed ("0.5").
    public func seconds(_ name: String, default defaultValue: Double, range: ClosedRange<Double>? = nil)
        throws(OptionError) -> Double
    {
        guard let text = value(name) else { return defaultValue }
        let expected = range.map { "a number of seconds from \($0.lowerBound) to \($0.upperBound)" }
            ?? "a number of seconds"
        guard let number = Double(text), number.isFinite, number >= 0, range?.contains(number) ?? true else {
            throw .invalidValue(option: name, value: text, expected: expected)
        }
        return number
    }
}

/// A small getopt_long: `--name value`, `--name=value`, `-h`, and `--` to end options.
public enum OptionParser {
    /// With `stopAtFirstPositional`, everything from the first positional on is returned unparsed, so the words
    /// of a command (`client print --x`) are never taken for options.
    public static func parse(_ arguments: [String], specs: [OptionSpec], stopAtFirstPositional: Bool = false)
        throws(OptionError) -> ParsedOptions
    {
        var parsed = ParsedOptions()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                parsed.positionals.append(contentsOf: arguments[index...])
                break
            }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inlineValue = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let spec = specs.first(where: { $0.name == name }) else { throw .unknownOption("--" + name) }
                switch spec.kind {
                case .flag:
                    guard inlineValue == nil else { throw .unexpectedValue("--" + name) }
                    parsed.occurrences.append((name, nil))
                case .value:
                    if let inlineValue {
                        parsed.occurrences.append((name, inlineValue))
                    } else {
                        guard index < arguments.count, !looksLikeOption(arguments[index]) else {
                            throw .missingValue("--" + name)
                        }
                        parsed.occurrences.append((name, arguments[index]))
                        index += 1
                    }
                }
            } else if argument.hasPrefix("-") && argument.count > 1 {
                let letters = argument.dropFirst()
                for letter in letters {
                    guard let spec = specs.first(where: { $0.short == letter && $0.kind == .flag }) else {
                        throw .unknownOption("-" + String(letter))
                    }
                    parsed.occurrences.append((spec.name, nil))
                }
            } else {
                parsed.positionals.append(argument)
                if stopAtFirstPositional {
                    parsed.positionals.append(contentsOf: arguments[index...])
                    break
                }
            }
        }
        return parsed
    }

    /// An option-looking word; negative numbers are values, so `--port -1` reaches validation.
    private static func looksLikeOption(_ word: String) -> Bool {
        word.hasPrefix("-") && word.count > 1 && Double(word) == nil
    }

    /// A usage line, a description, and an aligned table of the options.
    /// The `--help` text: usage, what the command does, its options, and examples to copy.
    public static func helpText(usage: String, description: String, specs: [OptionSpec],
                                examples: [String] = []) -> String {
        let lefts = specs.map { spec -> String in
            var left = spec.short.map { "-\($0), " } ?? "    "
            left += "--" + spec.name
            if case .value(let placeholder) = spec.kind { left += " " + placeholder }
            return left
        }
        let width = (lefts.map(\.count).max() ?? 0) + 2
        let rows = zip(lefts, specs).map { left, spec in
            "  " + left.padding(toLength: width, withPad: " ", startingAt: 0) + spec.help
        }
        let text = "usage: \(usage)\n\n\(description)\n\nOptions:\n" + rows.joined(separator: "\n")
        guard !examples.isEmpty else { return text }
        return text + "\n\nExamples:\n" + examples.map { "  " + $0 }.joined(separator: "\n")
    }
}

/// What is wrong with the command line, in words that say what to do next.
public enum OptionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An option no spec declares.
    case unknownOption(String)
    /// A value option at the end of the arguments, or followed by another option.
    case missingValue(String)
    /// A flag given a value with `=`.
    case unexpectedValue(String)
    /// A value that does not parse or is out of range.
    case invalidValue(option: String, value: String, expected: String)
    /// Two options that cannot be given together.
    case conflicting(String, String, reason: String)
    /// A file an option (`--key-file`) or an environment variable (`$REPLICATEDKV_KEY_FILE`) names cannot be used.
    case badFile(source: String, path: String, reason: String)
    /// Listening beyond this machine without keys (protected mode).
    case unprotected(address: String)

    public var description: String {
        switch self {
        case .unknownOption(let option): return "unknown option '\(option)'; run with --help to see the options"
        case .missingValue(let option): return "option '\(option)' needs a value"
        case .unexpectedValue(let option): return "option '\(option)' takes no value"
        case .invalidValue(let option, let value, let expected):
            // An environment variable is named as `$NAME`, an option as `--name`.
            let source = option.hasPrefix("$") ? option : "--" + option
            return "invalid value '\(value)' for \(source): expected \(expected)"
        case .conflicting(let first, let second, let reason):
            return "--\(first) and --\(second) cannot be given together: \(reason)"
        case .badFile(let source, let path, let reason):
            return "cannot use \(source) \(path): \(reason)"
        case .unprotected(let address):
            return "refusing to listen on \(address) without keys (protected mode): anyone who reaches it could read "
                + "and rewrite every key and evict every server. Make a cluster key with `client genkey cluster "
                + "member > cluster.keys`, give every viewleader and server --cluster-key-file cluster.keys and "
                + "clients a key file of their own; or pass --insecure on a network only you can reach"
        }
    }
}
