import Testing
@testable import Wire

/// "é" as one code point and as "e" plus a combining accent are equal `String`s but different bytes on the wire.
struct ExactStringTests {
    static let composed = "caf\u{E9}"
    static let decomposed = "cafe\u{301}"

    @Test func canonicallyEquivalentStringsAreDifferentExactStrings() {
        #expect(Self.composed == Self.decomposed, "Swift's String compares by canonical equivalence")
        #expect(ExactString(Self.composed) != ExactString(Self.decomposed))
        #expect(Set([ExactString(Self.composed), ExactString(Self.decomposed)]).count == 2)
        #expect(ExactString(Self.composed) == ExactString("caf" + "\u{E9}"))
        #expect(ExactString("") == ExactString(""))
    }

    @Test func theyOrderByTheirBytes() {
        let texts = ["b", "a", "ab", "", "\u{E9}", "e\u{301}", "Z"]
        let sorted = texts.map { ExactString($0) }.sorted().map(\.text)
        #expect(sorted.map { Array($0.utf8) } == texts.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
