import Testing
@testable import ClientTool
@testable import Wire

/// The report's numbers and layout, from a tally built by hand.
struct BenchReportTests {
    /// 100, 200, 300 and 400 microseconds, each moved up to its histogram bucket's edge, where the histogram is
    /// exact.
    static let latenciesNs = [UInt64(100_000), 200_000, 300_000, 400_000].map {
        LatencyHistogram.upperEdge(ofBucket: LatencyHistogram.index(of: $0))
    }

    static func report(operation: BenchOperation = .set) -> BenchReport {
        var configuration = BenchConfiguration()
        configuration.operation = operation
        var tally = BenchTally()
        for latencyNs in Self.latenciesNs { tally.countCompleted(.ok, latencyNs: latencyNs) }
        tally.countError(.staleEpoch, "request is for epoch 6 but this server is in 7", times: 2)
        tally.countError(.staleEpoch, "later message")
        return BenchReport(configuration: configuration, tally: tally, measuredSeconds: 2, prefillSeconds: nil,
                           destinations: 3)
    }

    @Test func jsonCarriesThroughputLatencyAndErrorsByKind() throws {
        let fields = try #require(JSONParser.parse(ArraySlice(Self.report().json.description.utf8)).objectValue)
        #expect(fields["op"] == "set")
        #expect(fields["operations"] == 4)
        #expect(fields["ops_per_s"]?.integerValue == 2)
        #expect(fields["error_count"] == 3)
        #expect(fields["errors"] == .object(["stale_epoch": 3]))
        let latency = try #require(fields["latency_ms"]?.objectValue)
        #expect(Self.latenciesNs == [100_351, 200_703, 301_055, 401_407])
        #expect(latency["p50"] == .double(0.2007))
        #expect(latency["p90"] == .double(0.4014))
        #expect(latency["max"] == .double(0.4014))
        #expect(latency["mean"] == .double(0.2509))
    }

    @Test func textNamesEachErrorKindWithItsFirstMessage() {
        let text = Self.report().text
        #expect(text.contains("4 operations, 2 ops/s"))
        #expect(text.contains("p50 0.201  p90 0.401"))
        #expect(text.contains("stale_epoch 3: request is for epoch 6 but this server is in 7"))
        #expect(!text.contains("later message"))
    }

    @Test func lockRunsReportTheirOwnOutcomes() {
        #expect(Self.report(operation: .lock).text.contains("granted 0, queued 0, released 4"))
    }

    @Test func fixedPrintsExactlyTheAskedDecimals() {
        #expect(BenchReport.fixed(0.4705, 3) == "0.471")
        #expect(BenchReport.fixed(12, 2) == "12.00")
        #expect(BenchReport.fixed(103_237.4, 0) == "103237")
        #expect(BenchReport.fixed(-0.0001, 2) == "0.00")
        #expect(BenchReport.fixed(-1.5, 1) == "-1.5")
    }
}
