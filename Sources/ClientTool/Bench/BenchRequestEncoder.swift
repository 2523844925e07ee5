import Wire

/// Writes bench requests as frames straight into a connection's output buffer, without building a `JSONValue`.
///
/// The generator shares the machine with the cluster it measures, so each request costs a few byte copies: the
/// JSON around the key and the value are encoded once here, and only the key's digits, the epoch and the
/// length prefix are written per request. The bytes are exactly what `JSONWriter` would produce for the same
/// object with fields in this order; the unit tests parse them back.
struct BenchRequestEncoder: Sendable {
    /// The value every write stores, already JSON-safe (lowercase letters only).
    let value: [UInt8]

    init(value: [UInt8]) {
        precondition(value.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") },
                     "bench values are lowercase letters so they need no escaping")
        self.value = value
    }

    /// Appends one framed request. `epoch` is used by replicated kinds, `client` names the lock requestor.
    func append(_ kind: BenchRequestKind, key: Int, epoch: Int64, client: Int, to buffer: inout [UInt8]) {
        let headerIndex = buffer.count
        buffer.append(contentsOf: [0, 0, 0, 0])
        switch kind {
        case .set:
            literal(#"{"cmd":"set","key":""#, &buffer)
            keyName(key, &buffer)
            literal(#"","val":""#, &buffer)
            buffer.append(contentsOf: value)
            literal(#""}"#, &buffer)
        case .get:
            literal(#"{"cmd":"get","key":""#, &buffer)
            keyName(key, &buffer)
            literal(#""}"#, &buffer)
        case .setr:
            literal(#"{"cmd":"setr","key":""#, &buffer)
            keyName(key, &buffer)
            literal(#"","val":""#, &buffer)
            buffer.append(contentsOf: value)
            literal(#"","epoch":"#, &buffer)
            decimal(UInt64(epoch), &buffer)
            literal("}", &buffer)
        case .getr:
            literal(#"{"cmd":"getr","key":""#, &buffer)
            keyName(key, &buffer)
            literal(#"","epoch":"#, &buffer)
            decimal(UInt64(epoch), &buffer)
            literal("}", &buffer)
        case .lockGet, .lockRelease:
            literal(kind == .lockGet ? #"{"cmd":"lock_get","lockid":""# : #"{"cmd":"lock_release","lockid":""#,
                    &buffer)
            keyName(key, &buffer)
            literal(#"","requestor":"bench-"#, &buffer)
            decimal(UInt64(client), &buffer)
            literal(#""}"#, &buffer)
        }
        let length = UInt32(buffer.count - headerIndex - FrameDecoder.headerBytes)
        buffer[headerIndex] = UInt8(truncatingIfNeeded: length >> 24)
        buffer[headerIndex + 1] = UInt8(truncatingIfNeeded: length >> 16)
        buffer[headerIndex + 2] = UInt8(truncatingIfNeeded: length >> 8)
        buffer[headerIndex + 3] = UInt8(truncatingIfNeeded: length)
    }

    private func literal(_ text: StaticString, _ buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private func keyName(_ key: Int, _ buffer: inout [UInt8]) {
        literal("key-", &buffer)
        decimal(UInt64(key), &buffer)
    }

    /// Appends the decimal digits of `number`, most significant first, without allocating.
    private func decimal(_ number: UInt64, _ buffer: inout [UInt8]) {
        var divisor: UInt64 = 1
        while number / divisor >= 10 { divisor *= 10 }
        var rest = number
        while divisor > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
