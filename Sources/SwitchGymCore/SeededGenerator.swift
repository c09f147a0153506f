/// The random number generator every seeded part of SwitchGym uses:
/// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64.
///
/// A value type: copying it forks the stream, and its full state can be saved
/// (``state``) and restored (``init(state:)``) for bit-exact resumes.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Hashable {
    /// The four 64-bit words of xoshiro256** state.
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the generator by running SplitMix64 from `seed`.
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        state = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    /// Restores a saved state.
    /// - Precondition: the state is not all zero.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        self.state = state
    }

    /// A generator for sub-stream `index` of `seed`, independent of the order in
    /// which sub-streams are used (for per-item randomness that must not depend on
    /// iteration order or parallel scheduling).
    public static func substream(seed: UInt64, index: UInt64) -> SeededGenerator {
        var sm = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        let a = sm.next()
        return SeededGenerator(seed: a &+ index &* 0xD1B5_4A32_D192_ED03)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool { a.state == b.state }
    public func hash(into h: inout Hasher) {
        h.combine(state.0); h.combine(state.1); h.combine(state.2); h.combine(state.3)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014), used only to expand a seed into ``SeededGenerator``'s
/// state (the toolkit has one seeded generator).
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var x: UInt64
    public init(seed: UInt64) { x = seed }
    public mutating func next() -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
