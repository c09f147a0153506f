#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore

/// A categorical (softmax) policy head over one row of logits, with optional action masking.
///
/// Masked actions get log-probability `-∞` (probability exactly 0): they are never sampled
/// or chosen greedily, contribute nothing to the entropy, and get zero gradient. This is the
/// exact limit of the `logits = -1e8` trick (CleanRL's masked PPO) without its rounding.
/// All functions work on caller-owned rows and allocate nothing.
public enum Categorical {
    /// Writes `log softmax(logits)` over the allowed actions into `logProbabilities`
    /// (`-∞` where `mask[i]` is false).
    /// - Precondition: the mask, if given, allows at least one action.
    public static func logSoftmax(_ logits: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, count n: Int,
                                  into logProbabilities: UnsafeMutablePointer<Float>) {
        var mx = -Float.infinity
        for i in 0..<n where mask?[i] ?? true { mx = max(mx, logits[i]) }
        precondition(mx > -Float.infinity, "Categorical.logSoftmax: the mask allows no action")
        var s: Float = 0
        for i in 0..<n where mask?[i] ?? true { s += expf(logits[i] - mx) }
        let lse = mx + logf(s)
        for i in 0..<n { logProbabilities[i] = (mask?[i] ?? true) ? logits[i] - lse : -.infinity }
    }

    /// Entropy `-Σ p log p` from log-probabilities (masked entries, `-∞`, count as 0).
    public static func entropy(_ logProbabilities: UnsafePointer<Float>, count n: Int) -> Float {
        var h: Float = 0
        for i in 0..<n where logProbabilities[i] > -.infinity {
            h -= expf(logProbabilities[i]) * logProbabilities[i]
        }
        return h
    }

    /// Samples an action by inversion of one uniform draw; never returns an action with
    /// log-probability `-∞`.
    public static func sample(_ logProbabilities: UnsafePointer<Float>, count n: Int,
                              using generator: inout SeededGenerator) -> Int {
        let u = Float(generator.nextUnit())
        var cumulative: Float = 0
        var last = -1
        for i in 0..<n where logProbabilities[i] > -.infinity {
            cumulative += expf(logProbabilities[i])
            if u < cumulative { return i }
            last = i
        }
        return last  // rounding left u above the total: the last allowed action
    }

    /// The allowed action with the largest logit (greedy action; ties go to the lowest index).
    public static func argmax(_ logits: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, count n: Int) -> Int {
        var best = -1
        var bestValue = -Float.infinity
        for i in 0..<n where (mask?[i] ?? true) && (best < 0 || logits[i] > bestValue) {
            best = i
            bestValue = logits[i]
        }
        return best
    }

    /// Writes ∂L/∂logits for `L = logProbabilityWeight · log p[action] + entropyWeight · H`
    /// into `gradient` (zero on masked actions):
    /// `∂log p[a]/∂z_j = 1[j = a] - p_j`, `∂H/∂z_j = -p_j (log p_j + H)`.
    public static func backward(_ logProbabilities: UnsafePointer<Float>, count n: Int, action: Int,
                                logProbabilityWeight: Float, entropyWeight: Float,
                                into gradient: UnsafeMutablePointer<Float>) {
        let h = entropyWeight != 0 ? entropy(logProbabilities, count: n) : 0
        for j in 0..<n {
            let lp = logProbabilities[j]
            guard lp > -.infinity else { gradient[j] = 0; continue }
            let p = expf(lp)
            var g = -logProbabilityWeight * p
            if j == action { g += logProbabilityWeight }
            if entropyWeight != 0 { g -= entropyWeight * p * (lp + h) }
            gradient[j] = g
        }
    }
}
