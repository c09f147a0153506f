/// A fixed log-scale histogram of latencies, binned from the bits of a `Double` (HDR-histogram
/// style: the exponent and the top 6 mantissa bits of the latency in microseconds), so adding a
/// sample costs a shift and no logarithm. Relative resolution 1/64 (1.6%) from 1 µs to ~36 min.
enum LatencyHistogram {
    /// Number of bins.
    static let bins = 2048
    private static let offset = 1023 << 6

    /// The bin of a latency in seconds.
    @inline(__always)
    static func bin(seconds x: Double) -> Int {
        let us = x * 1e6
        guard us >= 1 else { return 0 }
        let i = Int(truncatingIfNeeded: us.bitPattern >> 46) - offset
        return i < bins ? i : bins - 1
    }

    /// The lower edge of bin `i`, in milliseconds.
    static func lowerMs(_ i: Int) -> Double {
        Double(bitPattern: UInt64(i + offset) << 46) / 1000
    }

    /// The `q`-quantile (midpoint of its bin, ms) of the `total` samples in `h`; 0 when empty.
    static func quantileMs(_ h: UnsafePointer<Int>, total: Int, q: Double, from lo: Int = 0) -> Double {
        guard total > 0 else { return 0 }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var acc = 0
        for i in max(0, lo)..<bins {
            acc += h[i]
            if acc >= rank { return i == 0 ? lowerMs(1) / 2 : (lowerMs(i) + lowerMs(i + 1)) / 2 }
        }
        return lowerMs(bins - 1)
    }
}
