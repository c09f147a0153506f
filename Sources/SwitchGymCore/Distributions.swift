#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Samplers for the distributions traces and envs draw from. Each takes the
/// generator `inout` so callers control the stream.
public enum Sample {
    /// Exponential with the given rate (mean `1 / rate`), by inversion.
    @inline(__always)
    public static func exponential(rate: Double, using g: inout SeededGenerator) -> Double {
        -log1p(-g.nextUnit()) / rate
    }

    /// Standard normal, by the Box-Muller transform.
    public static func normal(using g: inout SeededGenerator) -> Double {
        let u1 = max(g.nextUnit(), 0x1.0p-60)
        let u2 = g.nextUnit()
        return sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
    }

    /// Poisson with mean `lambda`: inversion by sequential search for small means,
    /// a rounded normal approximation with continuity correction above 500.
    public static func poisson(mean lambda: Double, using g: inout SeededGenerator) -> Int {
        if lambda <= 0 { return 0 }
        if lambda > 500 {
            return max(0, Int((lambda + sqrt(lambda) * normal(using: &g) + 0.5).rounded(.down)))
        }
        // Split large means so exp(-lambda) does not underflow the search.
        var remaining = lambda
        var total = 0
        while remaining > 0 {
            let l = min(remaining, 30)
            remaining -= l
            var k = 0
            var p = exp(-l)
            var cdf = p
            let u = g.nextUnit()
            while u > cdf && k < 10_000 {
                k += 1
                p *= l / Double(k)
                cdf += p
            }
            total += k
        }
        return total
    }
}
