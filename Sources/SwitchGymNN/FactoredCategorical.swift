import SwitchGymCore

/// A factored categorical policy head: one ``Categorical`` per component of an
/// ``ActionLayout``, over consecutive slices of one logit row (and of its mask row). The
/// action's log-probability is the sum of its choices' log-probabilities and its entropy the
/// sum of the components' entropies (the components are independent given the logits; for the
/// family policy, whose logits for a device depend on the choices before it, the sums are the
/// chain rule's exact log-probability and the conditional entropy of the chain).
///
/// With one component this is ``Categorical`` itself, operation for operation. No function
/// allocates.
public enum FactoredCategorical {
    /// Writes per-component log-softmax of `logits` into `logProbabilities` (`maskWidth`
    /// entries) and returns the log-probability of `choices` and the total entropy.
    /// - Precondition: the mask allows at least one value of every component.
    @inline(__always)
    public static func evaluate(_ logits: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, layout: ActionLayout,
                                choices: UnsafePointer<Int32>, into logProbabilities: UnsafeMutablePointer<Float>)
        -> (logProbability: Float, entropy: Float) {
        var logP: Float = 0, h: Float = 0
        for c in 0..<layout.components {
            let o = layout.offsets[c], n = layout.sizes[c]
            Categorical.logSoftmax(logits + o, mask: mask.map { $0 + o }, count: n, into: logProbabilities + o)
            logP += logProbabilities[o + Int(choices[c])]
            h += Categorical.entropy(logProbabilities + o, count: n)
        }
        return (logP, h)
    }

    /// Samples one choice per component (each from its own uniform draw, in component order)
    /// into `choices`; returns the action's log-probability. `scratch` needs `maskWidth` floats.
    @inline(__always)
    public static func sample(_ logits: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, layout: ActionLayout,
                              using generator: inout SeededGenerator, into choices: UnsafeMutablePointer<Int32>,
                              scratch: UnsafeMutablePointer<Float>) -> Float {
        var logP: Float = 0
        for c in 0..<layout.components {
            let o = layout.offsets[c], n = layout.sizes[c]
            Categorical.logSoftmax(logits + o, mask: mask.map { $0 + o }, count: n, into: scratch + o)
            let a = Categorical.sample(scratch + o, count: n, using: &generator)
            choices[c] = Int32(a)
            logP += scratch[o + a]
        }
        return logP
    }

    /// The greedy choice of every component (the allowed value with the largest logit).
    @inline(__always)
    public static func argmax(_ logits: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, layout: ActionLayout,
                              into choices: UnsafeMutablePointer<Int>) {
        for c in 0..<layout.components {
            let o = layout.offsets[c]
            choices[c] = Categorical.argmax(logits + o, mask: mask.map { $0 + o }, count: layout.sizes[c])
        }
    }

    /// Writes ∂L/∂logits for `L = logProbabilityWeight · log π(choices) + entropyWeight · H`
    /// from the log-probabilities ``evaluate(_:mask:layout:choices:into:)`` wrote: each
    /// component's slice gets ``Categorical/backward(_:count:action:logProbabilityWeight:entropyWeight:into:)``.
    @inline(__always)
    public static func backward(_ logProbabilities: UnsafePointer<Float>, layout: ActionLayout, choices: UnsafePointer<Int32>,
                                logProbabilityWeight: Float, entropyWeight: Float, into gradient: UnsafeMutablePointer<Float>) {
        for c in 0..<layout.components {
            let o = layout.offsets[c]
            Categorical.backward(logProbabilities + o, count: layout.sizes[c], action: Int(choices[c]),
                                 logProbabilityWeight: logProbabilityWeight, entropyWeight: entropyWeight, into: gradient + o)
        }
    }
}
