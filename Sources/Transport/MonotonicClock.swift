import Glibc
import Wire

/// Reads CLOCK_MONOTONIC: time that never jumps with wall-clock changes, for leases and timeouts.
///
/// Only shells read it; cores receive `now` as a plain number so tests can drive time explicitly.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot).
    public static func nowNs() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Milliseconds since an arbitrary fixed point (boot).
    public static func nowMs() -> Int64 {
        Int64(nowNs() / 1_000_000)
    }
}
