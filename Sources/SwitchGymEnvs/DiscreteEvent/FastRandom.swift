import SwitchGymCore

/// xoshiro256** inlined into the event loop (SwitchGymCore's ``SeededGenerator`` is the same
/// generator, but a call across modules per query costs more than the draw). Seeded from a
/// `SeededGenerator`'s state, so streams stay reproducible from the env's seed.
struct FastRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        let g = SeededGenerator(seed: seed)
        (s0, s1, s2, s3) = g.state
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// An exponential variate with mean 1 (`-ln(1 - u)`, with ``fastLog``).
    @inline(__always)
    mutating func nextExponential() -> Double { -fastLog(1 - nextUnit()) }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Natural logarithm of a positive normal `x`, to about 1e-8 relative error: `x = 2^e · m`
/// with `m` in [√½, √2), and `ln m = 2 atanh(s)`, `s = (m − 1)/(m + 1)`, by its series to `s⁷`
/// (|s| <= 0.172). About a quarter of libm's cost in the arrival loop.
@inline(__always)
func fastLog(_ x: Double) -> Double {
    let bits = x.bitPattern
    var e = Int(truncatingIfNeeded: (bits >> 52) & 0x7FF) - 1023
    var m = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
    if m > 1.4142135623730951 { m *= 0.5; e += 1 }
    let s = (m - 1) / (m + 1)
    let s2 = s * s
    let series = 2 * s * (1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9)))))
    return Double(e) * 0.6931471805599453 + series
}
