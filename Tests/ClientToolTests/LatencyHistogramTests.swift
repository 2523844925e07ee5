import Seeded
import Testing
@testable import ClientTool

/// Percentiles by nearest rank: exact where buckets are one nanosecond wide, bounded above everywhere else.
struct LatencyHistogramTests {
    @Test func percentilesOfSmallSamplesAreExactByNearestRank() {
        var histogram = LatencyHistogram()
        for value in (1...200).reversed() { histogram.record(UInt64(value)) }
        #expect(histogram.count == 200)
        #expect(histogram.valueNs(atPercentile: 50) == 100)
        #expect(histogram.valueNs(atPercentile: 90) == 180)
        #expect(histogram.valueNs(atPercentile: 99) == 198)
        #expect(histogram.valueNs(atPercentile: 99.9) == 200)
        #expect(histogram.valueNs(atPercentile: 100) == 200)
        #expect(histogram.valueNs(atPercentile: 0) == 1)
        #expect(histogram.minNs == 1)
        #expect(histogram.maxNs == 200)
        #expect(histogram.meanNs == 100.5)
    }

    @Test func aSingleRepeatedValueIsReportedExactlyAtEveryPercentile() {
        var histogram = LatencyHistogram()
        for _ in 0..<1_000 { histogram.record(470_123) }
        for percentile in [0.0, 50, 90, 99, 99.9, 100] {
            #expect(histogram.valueNs(atPercentile: percentile) == 470_123)
        }
    }

    @Test func largeValuesAreNeverUnderstatedAndAtMostOneBucketAbove() {
        var generator = SplitMix64(seed: 7)
        var samples: [UInt64] = []
        var histogram = LatencyHistogram()
        for _ in 0..<10_000 {
            let value = 1_000 + generator.next() % 50_000_000
            samples.append(value)
            histogram.record(value)
        }
        samples.sort()
        for percentile in [50.0, 90, 99, 99.9] {
            let rank = Int((percentile / 100 * Double(samples.count)).rounded(.up))
            let exact = samples[rank - 1]
            let reported = histogram.valueNs(atPercentile: percentile)
            #expect(reported >= exact)
            #expect(Double(reported - exact) <= Double(exact) / Double(LatencyHistogram.subBucketsPerOctave))
        }
        #expect(histogram.valueNs(atPercentile: 100) == samples.last!)
    }

    @Test func bucketEdgesAreExactValues() {
        var histogram = LatencyHistogram()
        let edge = LatencyHistogram.upperEdge(ofBucket: LatencyHistogram.index(of: 1_000_000))
        histogram.record(edge)
        histogram.record(edge + 1)
        #expect(histogram.valueNs(atPercentile: 50) == edge)
        #expect(histogram.valueNs(atPercentile: 100) == edge + 1)
    }

    @Test func everyValueFallsInTheBucketWhoseEdgeBoundsIt() {
        var generator = SplitMix64(seed: 3)
        for _ in 0..<10_000 {
            let value = generator.next() >> (generator.next() % 64)
            let index = LatencyHistogram.index(of: value)
            let clamped = min(value, LatencyHistogram.valueNsMax)
            #expect(index < LatencyHistogram.bucketCount)
            #expect(LatencyHistogram.upperEdge(ofBucket: index) >= clamped)
            if index > 0 { #expect(LatencyHistogram.upperEdge(ofBucket: index - 1) < clamped) }
        }
    }

    @Test func mergingEqualsRecordingEverythingInOne() {
        var left = LatencyHistogram()
        var right = LatencyHistogram()
        var both = LatencyHistogram()
        for value in stride(from: UInt64(10), to: 5_000_000, by: 9_973) {
            if value % 2 == 0 { left.record(value) } else { right.record(value) }
            both.record(value)
        }
        left.merge(right)
        #expect(left == both)
    }

    @Test func anEmptyHistogramReportsZero() {
        let histogram = LatencyHistogram()
        #expect(histogram.valueNs(atPercentile: 99) == 0)
        #expect(histogram.meanNs == 0)
    }
}
