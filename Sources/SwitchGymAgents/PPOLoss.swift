#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore
import SwitchGymNN

/// The scalars of one PPO minibatch loss.
public struct PPOLossStatistics: Sendable, Equatable {
    /// Clipped surrogate loss `-mean(min(A r, A clip(r, 1 ± ε)))`.
    public var policyLoss: Double = 0
    /// `mean((R - V)²)` (with the value prediction clipped when `clipRangeVF` is set).
    public var valueLoss: Double = 0
    /// Mean entropy of the (masked) action distributions.
    public var entropy: Double = 0
    /// `mean((r - 1) - log r)` (Schulman's low-variance estimator, as SB3 logs it).
    public var approxKL: Double = 0
    /// Fraction of rows with `|r - 1| > ε`.
    public var clipFraction: Double = 0
    /// `policyLoss - entCoef · entropy + vfCoef · valueLoss`.
    public var loss: Double = 0
    public init() {}
}

/// PPO's loss on one minibatch and its gradient with respect to the actor's logits and the
/// critic's values, exactly as Stable-Baselines3's `PPO.train` defines it:
///
/// - advantages normalised per minibatch, `(A - mean) / (std + 1e-8)` with the unbiased std,
///   when `normalizeAdvantage` is set and the minibatch has more than one row;
/// - `r = exp(log π(a|s) - log π_old(a|s))` with log-probabilities over the **allowed**
///   actions only (the stored masks; masked actions have probability exactly 0 and get zero
///   gradient);
/// - `L = -mean(min(A r, A clip(r, 1-ε, 1+ε))) - c_ent · mean(H) + c_vf · mean((R - V')²)`,
///   with `V' = V_old + clip(V - V_old, ±ε_vf)` when `clipRangeVF` is set, else `V' = V`.
///
/// The gradient follows PyTorch's autograd conventions at the kinks (the clamp passes its
/// gradient at the bounds; where both branches of the min are equal the gradient is that of
/// `A r`).
public enum PPOLoss {
    /// The loss's hyperparameters.
    public struct Coefficients: Sendable, Equatable {
        public var clipRange: Float
        public var clipRangeVF: Float?
        public var entropyCoefficient: Float
        public var valueCoefficient: Float
        public var normalizeAdvantage: Bool
        public init(clipRange: Float, clipRangeVF: Float? = nil, entropyCoefficient: Float, valueCoefficient: Float,
                    normalizeAdvantage: Bool) {
            self.clipRange = clipRange
            self.clipRangeVF = clipRangeVF
            self.entropyCoefficient = entropyCoefficient
            self.valueCoefficient = valueCoefficient
            self.normalizeAdvantage = normalizeAdvantage
        }
    }

    /// Evaluates the loss on `batch` rows of one ``Discrete`` action and writes ∂L/∂logits
    /// (`batch × actionCount`) and ∂L/∂values (`batch`). `scratch` needs `batch × actionCount`
    /// floats. No allocation. (``evaluate(batch:layout:logits:masks:actions:oldLogProbabilities:advantages:values:oldValues:returns:coefficients:scratch:logitGradient:valueGradient:)``
    /// with a one-component layout.)
    public static func evaluate(
        batch m: Int, actionCount n: Int,
        logits: UnsafePointer<Float>, masks: UnsafePointer<Bool>?, actions: UnsafePointer<Int32>,
        oldLogProbabilities: UnsafePointer<Float>, advantages: UnsafePointer<Float>,
        values: UnsafePointer<Float>, oldValues: UnsafePointer<Float>, returns: UnsafePointer<Float>,
        coefficients c: Coefficients, scratch logProbabilities: UnsafeMutablePointer<Float>,
        logitGradient: UnsafeMutablePointer<Float>, valueGradient: UnsafeMutablePointer<Float>
    ) -> PPOLossStatistics {
        evaluate(batch: m, layout: .discrete(n), logits: logits, masks: masks, actions: actions,
                 oldLogProbabilities: oldLogProbabilities, advantages: advantages, values: values, oldValues: oldValues,
                 returns: returns, coefficients: c, scratch: logProbabilities, logitGradient: logitGradient,
                 valueGradient: valueGradient)
    }

    /// Evaluates the loss on `batch` rows of a factored action (``ActionLayout``: row `k`'s
    /// logits and mask are `maskWidth` entries at `k × maskWidth`, its choices `components`
    /// entries at `k × components`) and writes ∂L/∂logits (`batch × maskWidth`) and
    /// ∂L/∂values (`batch`). The action's log-probability is the sum over its components and
    /// the entropy the sum of the components' (``FactoredCategorical``). `scratch` needs
    /// `batch × maskWidth` floats. No allocation.
    ///
    /// With `oldChoiceLogProbabilities` (`batch × components`, each choice's old
    /// log-probability) the surrogate clips each component's ratio on its own
    /// (``PPORatio/perChoice``): `-mean_k Σ_c min(A_k r_kc, A_k clip(r_kc, 1 ± ε))`; the
    /// approximate KL stays the whole action's and the clip fraction counts clipped choices.
    public static func evaluate(
        batch m: Int, layout: ActionLayout,
        logits: UnsafePointer<Float>, masks: UnsafePointer<Bool>?, actions: UnsafePointer<Int32>,
        oldLogProbabilities: UnsafePointer<Float>, oldChoiceLogProbabilities: UnsafePointer<Float>? = nil,
        advantages: UnsafePointer<Float>,
        values: UnsafePointer<Float>, oldValues: UnsafePointer<Float>, returns: UnsafePointer<Float>,
        coefficients c: Coefficients, scratch logProbabilities: UnsafeMutablePointer<Float>,
        logitGradient: UnsafeMutablePointer<Float>, valueGradient: UnsafeMutablePointer<Float>
    ) -> PPOLossStatistics {
        precondition(m > 0, "PPOLoss.evaluate: empty batch")
        let n = layout.maskWidth, k1 = layout.components
        var mean = 0.0, scale = 1.0
        if c.normalizeAdvantage && m > 1 {
            for k in 0..<m { mean += Double(advantages[k]) }
            mean /= Double(m)
            var v = 0.0
            for k in 0..<m { let d = Double(advantages[k]) - mean; v += d * d }
            scale = 1 / ((v / Double(m - 1)).squareRoot() + 1e-8)
        } else {
            mean = 0
        }
        let invM = 1 / Float(m)
        let eps = c.clipRange
        var pg = 0.0, vl = 0.0, ent = 0.0, kl = 0.0, clipped = 0.0
        for k in 0..<m {
            let lp = logProbabilities + k * n
            let chosen = actions + k * k1
            let (logP, h) = FactoredCategorical.evaluate(logits + k * n, mask: masks.map { $0 + k * n }, layout: layout,
                                                         choices: chosen, into: lp)
            let adv = Float((Double(advantages[k]) - mean) * scale)
            let logRatio = logP - oldLogProbabilities[k]
            let ratio = expf(logRatio)
            ent += Double(h)
            kl += Double((ratio - 1) - logRatio)
            if let old = oldChoiceLogProbabilities.map({ $0 + k * k1 }) {
                for j in 0..<k1 {
                    let o = layout.offsets[j], a = Int(chosen[j])
                    let r = expf(lp[o + a] - old[j])
                    let s1 = adv * r
                    let s2 = adv * min(max(r, 1 - eps), 1 + eps)
                    pg -= Double(min(s1, s2))
                    Categorical.backward(lp + o, count: layout.sizes[j], action: a,
                                         logProbabilityWeight: s1 <= s2 ? -invM * adv * r : 0,
                                         entropyWeight: -c.entropyCoefficient * invM, into: logitGradient + k * n + o)
                    if abs(r - 1) > eps { clipped += 1 / Double(k1) }
                }
            } else {
                let s1 = adv * ratio
                let s2 = adv * min(max(ratio, 1 - eps), 1 + eps)
                pg -= Double(min(s1, s2))
                let dLogP: Float = s1 <= s2 ? -invM * adv * ratio : 0
                FactoredCategorical.backward(lp, layout: layout, choices: chosen, logProbabilityWeight: dLogP,
                                             entropyWeight: -c.entropyCoefficient * invM, into: logitGradient + k * n)
                if abs(ratio - 1) > eps { clipped += 1 }
            }
            let v = values[k]
            var prediction = v, passes: Float = 1
            if let cv = c.clipRangeVF {
                let d = v - oldValues[k]
                prediction = oldValues[k] + min(max(d, -cv), cv)
                passes = abs(d) <= cv ? 1 : 0
            }
            let err = prediction - returns[k]
            vl += Double(err) * Double(err)
            valueGradient[k] = c.valueCoefficient * 2 * invM * err * passes
        }
        var s = PPOLossStatistics()
        let dm = Double(m)
        s.policyLoss = pg / dm
        s.valueLoss = vl / dm
        s.entropy = ent / dm
        s.approxKL = kl / dm
        s.clipFraction = clipped / dm
        s.loss = s.policyLoss - Double(c.entropyCoefficient) * s.entropy + Double(c.valueCoefficient) * s.valueLoss
        return s
    }
}
