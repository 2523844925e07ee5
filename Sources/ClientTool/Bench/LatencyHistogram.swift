/// Latencies in nanoseconds, counted in logarithmic buckets with a bounded relative error (HDR-style).
///
/// Storing every sample would cost 8 bytes per request — gigabytes for a long pipelined run — and sorting them
/// would stall the end of a run. Instead each power of two is split into `subBucketsPerOctave` equal buckets, so
/// a percentile is reported as the upper edge of its bucket and is at most 1/128 (0.79%) above the true sample
/// value; values below 128 ns are exact. The minimum, maximum, sum and count are exact. Histograms merge by
/// adding counts, so each load-generator thread keeps its own and they are combined at the end.
struct LatencyHistogram: Equatable, Sendable {
    /// Sub-buckets per power of two, as a power of two: 2^7 = 128 buckets per octave.
    static let subBucketBits = 7
    static let subBucketsPerOctave = 1 << subBucketBits
    /// Largest latency told apart from larger ones: 2^40 ns (about 18 minutes); longer ones land in the top bucket.
    static let valueNsMax: UInt64 = 1 << 40
    /// Buckets needed to cover 0...valueNsMax.
    static let bucketCount = index(of: valueNsMax) + 1

    private(set) var counts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
    /// Samples recorded.
    private(set) var count: UInt64 = 0
    /// Exact smallest and largest sample, in nanoseconds; meaningless while `count` is 0.
    private(set) var minNs: UInt64 = .max
    private(set) var maxNs: UInt64 = 0
    /// Exact sum of all samples, in nanoseconds, for the mean.
    private(set) var sumNs: UInt64 = 0

    /// The bucket a value falls in: exact below 128, then 128 buckets per power of two.
    static func index(of valueNs: UInt64) -> Int {
        let value = min(valueNs, valueNsMax)
        if value < UInt64(subBucketsPerOctave) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - subBucketBits
        return shift * subBucketsPerOctave + Int(value >> UInt64(shift))
    }

    /// The largest value that falls in bucket `index`.
    static func upperEdge(ofBucket index: Int) -> UInt64 {
        if index < 2 * subBucketsPerOctave { return UInt64(index) }
        let shift = index / subBucketsPerOctave - 1
        let mantissa = UInt64(index % subBucketsPerOctave + subBucketsPerOctave)
        return ((mantissa + 1) << UInt64(shift)) - 1
    }

    mutating func record(_ valueNs: UInt64) {
        counts[Self.index(of: valueNs)] += 1
        count += 1
        minNs = min(minNs, valueNs)
        maxNs = max(maxNs, valueNs)
        sumNs &+= valueNs
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        minNs = min(minNs, other.minNs)
        maxNs = max(maxNs, other.maxNs)
        sumNs &+= other.sumNs
    }

    /// The value at `percentile` (0...100): the smallest bucket edge with at least that share of samples at or
    /// below it, never above the exact maximum. Zero when empty.
    func valueNs(atPercentile percentile: Double) -> UInt64 {
        precondition((0...100).contains(percentile), "percentile must be in 0...100")
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((percentile / 100 * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank { return min(max(Self.upperEdge(ofBucket: index), minNs), maxNs) }
        }
        return maxNs
    }

    var meanNs: Double { count == 0 ? 0 : Double(sumNs) / Double(count) }
}
