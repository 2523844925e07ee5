import Testing
@testable import CommandLineKit

struct OptionParserTests {
    let specs: [OptionSpec] = [
        .value("port", placeholder: "PORT", help: "port (default 0)"),
        .value("lease", placeholder: "SECONDS", help: "time before a silent server expires"),
        .flag("json", help: "raw output"),
        .flag("help", short: "h", help: "show help"),
    ]

    @Test func valuesMayFollowAsTheNextWordOrAfterEquals() throws {
        let parsed = try OptionParser.parse(["--port", "5", "--lease=0.5", "--json"], specs: specs)
        #expect(parsed.value("port") == "5")
        #expect(parsed.value("lease") == "0.5")
        #expect(parsed.has("json"))
        #expect(!parsed.has("help"))
    }

    @Test func lastOccurrenceWins() throws {
        #expect(try OptionParser.parse(["--port", "1", "--port", "2"], specs: specs).value("port") == "2")
    }

    @Test func shortFlagsAndDoubleDash() throws {
        let parsed = try OptionParser.parse(["-h", "a", "--", "--port", "-x"], specs: specs)
        #expect(parsed.has("help"))
        #expect(parsed.positionals == ["a", "--port", "-x"])
    }

    @Test func stopAtFirstPositionalLeavesCommandWordsAlone() throws {
        let parsed = try OptionParser.parse(["--json", "print", "--port", "hello"], specs: specs,
                                            stopAtFirstPositional: true)
        #expect(parsed.positionals == ["print", "--port", "hello"])
        #expect(parsed.value("port") == nil)
    }

    @Test func unknownOptionSuggestsHelp() {
        #expect(throws: OptionError.unknownOption("--lese")) { try OptionParser.parse(["--lese", "1"], specs: specs) }
        #expect(OptionError.unknownOption("--lese").description.contains("--help"))
        #expect(throws: OptionError.unknownOption("-q")) { try OptionParser.parse(["-q"], specs: specs) }
    }

    @Test func missingAndUnexpectedValuesAreErrors() {
        #expect(throws: OptionError.missingValue("--port")) { try OptionParser.parse(["--port"], specs: specs) }
        #expect(throws: OptionError.missingValue("--port")) { try OptionParser.parse(["--port", "--json"], specs: specs) }
        #expect(throws: OptionError.unexpectedValue("--json")) { try OptionParser.parse(["--json=1"], specs: specs) }
    }

    @Test func negativeNumberIsAValueAndFailsValidationClearly() throws {
        let parsed = try OptionParser.parse(["--port", "-1"], specs: specs)
        #expect(throws: OptionError.invalidValue(option: "port", value: "-1",
                                                 expected: "a whole number from 0 to 65535")) {
            try parsed.integer("port", default: 0, range: 0...65_535)
        }
    }

    @Test func secondsAcceptDecimalsAndRejectNonsense() throws {
        #expect(try OptionParser.parse(["--lease", "0.5"], specs: specs).seconds("lease", default: 5) == 0.5)
        #expect(try OptionParser.parse([], specs: specs).seconds("lease", default: 5) == 5)
        for bad in ["abc", "-1", "nan", "inf", ""] {
            let parsed = try OptionParser.parse(["--lease=\(bad)"], specs: specs)
            #expect(throws: OptionError.self, "\(bad)") { try parsed.seconds("lease", default: 5, range: 0.05...60) }
        }
        let tooLong = try OptionParser.parse(["--lease", "100"], specs: specs)
        #expect(throws: OptionError.self) { try tooLong.seconds("lease", default: 5, range: 0.05...60) }
    }

    @Test func helpTextListsEveryOptionAligned() {
        let help = OptionParser.helpText(usage: "tool [OPTIONS]", description: "Does things.", specs: specs)
        #expect(help.hasPrefix("usage: tool [OPTIONS]"))
        let rows = help.split(separator: "\n").filter { $0.hasPrefix("  ") }
        #expect(rows.count == specs.count)
        let helpColumns = Set(zip(rows, specs).map { row, spec in row.range(of: spec.help)!.lowerBound.utf16Offset(in: row) })
        #expect(helpColumns.count == 1, "help texts start in one column")
        #expect(help.contains("-h, --help"))
        #expect(help.contains("--port PORT"))
    }
}
