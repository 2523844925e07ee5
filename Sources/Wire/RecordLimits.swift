/// How large a stored key and value may be, chosen with the frame limit so that every message built from an
/// accepted write fits in one frame with everything around it: the `replicate` to each backup, a pull page that
/// holds the entry, a `get`/`getr` reply, and the client's own `setr` with its write ID.
///
/// Sizes are counted as JSON text, escapes included but quotes not (`JSONWriter.escapedLength`): for plain text
/// without quotes, backslashes or control characters that is simply its UTF-8 length. Every server of a cluster
/// must run with the same frame limit, as every etcd member shares `--max-request-bytes`.
public struct RecordLimits: Sendable, Equatable {
    /// Longest key, in bytes of JSON text.
    public static let keyBytesMax = 1_024
    /// Room a frame keeps beside the longest key for everything a message puts around one key and value: the
    /// most is a pull page of one entry carrying its 16 remembered write IDs, under 2 KiB (`RecordLimitsTests`
    /// writes each message at the limits and checks it fits).
    public static let envelopeBytesMax = 8 * 1_024
    /// The smallest frame limit a server runs with: the envelope, the longest key and as much again for a value.
    public static let frameBytesMin = 2 * (keyBytesMax + envelopeBytesMax)
    /// A pull page stops taking entries once it holds this many bytes, so pages stay small enough to interleave
    /// with other traffic; one entry is always taken, however large.
    public static let pullPageBytesTarget = 256 * 1_024
    /// Bytes counted for a pulled entry beyond its key and value: field names, punctuation, a version of two
    /// 19-digit numbers, and the comma before it (an upper bound; `RecordLimitsTests` checks it).
    public static let pullEntryOverheadBytes = 96
    /// Bytes counted for each write ID a pulled entry carries: `["<16 hex digits>",seq,epoch,counter],` with
    /// 19-digit numbers (an upper bound).
    public static let pullWriteIDBytes = 88
    /// What a pull page writes around its entries: `{"status":"ok","entries":[` and `],"more":false}`, rounded up.
    public static let pullPageEnvelopeBytes = 64

    /// Bytes counted for one `[low, high]` range in a pull request, and for one `[position, count, digest]` it
    /// says the puller holds (positions below 2^24, 19-digit counts, 20-character digests, the comma): upper bounds.
    public static let pullRangeBytes = 24
    public static let pullHeldPositionBytes = 56
    /// What a pull request writes around its lists: the command, the epoch, field names, and `after` (a key).
    public static let pullRequestEnvelopeBytes = keyBytesMax + 512

    /// Largest frame body, in bytes (`WireLimits.frameBytesMax`).
    public let frameBytesMax: Int

    public init(frameBytesMax: Int) {
        precondition(frameBytesMax >= Self.frameBytesMin, "frame limit below \(Self.frameBytesMin) bytes")
        self.frameBytesMax = frameBytesMax
    }

    /// The limits with the default frame limit.
    public static let standard = RecordLimits(frameBytesMax: WireLimits().frameBytesMax)

    /// Longest value, in bytes of JSON text: the frame less the longest key and the envelope (1,039,360 bytes with
    /// the default 1 MiB frame).
    public var valueBytesMax: Int { frameBytesMax - Self.keyBytesMax - Self.envelopeBytesMax }

    /// Most bytes of entries one pull page may hold, however they are mixed: an entry that would take a page past
    /// this starts the next page. One entry of the longest key and value always fits.
    public var pullPageBytesMax: Int { frameBytesMax - Self.pullPageEnvelopeBytes }

    /// Most ranges one pull request lists: half the room the frame leaves beside the envelope, so the other half
    /// still lists held positions (about 21,800 ranges at 1 MiB, 350 at the smallest frame). A sync over more asks
    /// each peer for them a batch at a time.
    public var pullRangesPerRequestMax: Int {
        (frameBytesMax - Self.pullRequestEnvelopeBytes) / 2 / Self.pullRangeBytes
    }

    /// How many held positions a pull request over `ranges` ranges may list and still fit a frame.
    public func pullHeldPositionsMax(ranges: Int) -> Int {
        let room = frameBytesMax - Self.pullRequestEnvelopeBytes - ranges * Self.pullRangeBytes
        return max(0, room / Self.pullHeldPositionBytes)
    }

    /// The bytes a pull page counts for one entry: an upper bound of what it writes.
    public static func pullEntryBytes(keyBytes: Int, valueBytes: Int, writeIDs: Int) -> Int {
        keyBytes + valueBytes + pullEntryOverheadBytes + writeIDs * pullWriteIDBytes
    }

    /// Checks a key, and the value written to it if any, against the limits.
    public func check(key: String, value: String? = nil) throws(RequestError) {
        let keyBytes = JSONWriter.escapedLength(of: key)
        guard keyBytes <= Self.keyBytesMax else {
            throw .tooLarge(field: "key", bytes: keyBytes, limit: Self.keyBytesMax)
        }
        if let value {
            let valueBytes = JSONWriter.escapedLength(of: value)
            guard valueBytes <= valueBytesMax else {
                throw .tooLarge(field: "val", bytes: valueBytes, limit: valueBytesMax)
            }
        }
    }
}
