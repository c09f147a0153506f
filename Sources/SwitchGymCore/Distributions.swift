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

extension Sample {
    /// Gamma with the given shape `k > 0` and scale `theta` (mean `k * theta`), by
    /// Marsaglia and Tsang, "A simple method for generating gamma variables" (ACM TOMS
    /// 26(3), 2000); for `k < 1`, `Gamma(k + 1) * U^(1/k)` (their section 6).
    ///
    /// For very small shapes most draws underflow to 0 (the distribution piles up there).
    /// - Precondition: `shape > 0`, `scale > 0`, both finite.
    public static func gamma(shape k: Double, scale theta: Double, using g: inout SeededGenerator) -> Double {
        precondition(k > 0 && k.isFinite && theta > 0 && theta.isFinite, "gamma needs a finite positive shape and scale")
        if k < 1 {
            let u = max(g.nextUnit(), 0x1.0p-60)
            return gamma(shape: k + 1, scale: theta, using: &g) * pow(u, 1 / k)
        }
        let d = k - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = normal(using: &g)
            let t = 1 + c * x
            if t <= 0 { continue }
            let v = t * t * t
            let u = g.nextUnit()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 { return d * v * theta }
            if log(max(u, 0x1.0p-60)) < 0.5 * x2 + d * (1 - v + log(v)) { return d * v * theta }
        }
    }

    /// Weibull with the given shape `k > 0` and scale `lambda` (mean
    /// `lambda * Γ(1 + 1/k)`), by inversion: `lambda * (-ln(1 - U))^(1/k)`.
    /// - Precondition: `shape > 0`, `scale > 0`, both finite.
    public static func weibull(shape k: Double, scale lambda: Double, using g: inout SeededGenerator) -> Double {
        precondition(k > 0 && k.isFinite && lambda > 0 && lambda.isFinite, "weibull needs a finite positive shape and scale")
        return lambda * pow(-log1p(-g.nextUnit()), 1 / k)
    }
}
