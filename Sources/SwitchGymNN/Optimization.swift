#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBLAS
import SwitchGymCore

/// Adam (Kingma and Ba, 2015) exactly as PyTorch's `torch.optim.Adam` computes it
/// (no weight decay, no AMSGrad), with CleanRL PPO's defaults (`eps = 1e-5`).
///
/// Update at step `t` (starting at 1), per parameter:
/// `m = β1 m + (1 - β1) g`, `v = β2 v + (1 - β2) g²`,
/// `p -= lr / (1 - β1ᵗ) · m / (√v / √(1 - β2ᵗ) + ε)`.
/// Moments below the smallest normal float are flushed to zero (see ``step(parameters:gradients:)``).
public final class Adam {
    /// Step size; may be changed between steps (annealing).
    public var learningRate: Float
    /// First-moment decay.
    public let beta1: Float
    /// Second-moment decay.
    public let beta2: Float
    /// Added to the denominator.
    public let epsilon: Float
    /// Steps taken so far.
    public private(set) var stepCount = 0
    /// Parameters this optimiser updates.
    public let parameterCount: Int
    private let m: UnsafeMutablePointer<Float>
    private let v: UnsafeMutablePointer<Float>

    /// An optimiser for `parameterCount` parameters with zero moments.
    public init(parameterCount: Int, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-5) {
        self.parameterCount = parameterCount
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = .allocate(capacity: parameterCount)
        m.initialize(repeating: 0, count: parameterCount)
        v = .allocate(capacity: parameterCount)
        v.initialize(repeating: 0, count: parameterCount)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }

    /// One update of `parameters` from `gradients` (same length as ``parameterCount``).
    /// - Complexity: O(parameterCount); no allocation.
    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>) {
        precondition(parameters.count == parameterCount && gradients.count == parameterCount, "Adam.step: size mismatch")
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - pow(Double(beta1), t)
        let bc2 = 1 - pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let p = parameters.baseAddress!, g = gradients.baseAddress!
        let b1 = beta1, b2 = beta2, eps = epsilon
        // Eight lanes at a time (the same operations in the same order as the scalar tail, so
        // the result does not depend on the split). Moments that fall below the smallest
        // normal float are flushed to zero: parameters whose gradient stays zero (dead ReLU
        // units) otherwise decay their moments into subnormals, which cost ~100 cycles per
        // operation on x86 and made DQN's Adam step 30x slower.
        let tiny = Float.leastNormalMagnitude
        let vb1 = SIMD8<Float>(repeating: b1), vb2 = SIMD8<Float>(repeating: b2)
        let vc1 = SIMD8<Float>(repeating: 1 - b1), vc2 = SIMD8<Float>(repeating: 1 - b2)
        let vStep = SIMD8<Float>(repeating: stepSize), vBc2 = SIMD8<Float>(repeating: bc2Sqrt)
        let vEps = SIMD8<Float>(repeating: eps), vTiny = SIMD8<Float>(repeating: tiny), zero = SIMD8<Float>()
        // AVX2 where the CPU has it (the same operations as the loop below, bit for bit).
        var i = hasAVX2FMA ? CBLAS_adam_avx2(p, g, m, v, parameterCount, b1, b2, stepSize, bc2Sqrt, eps, tiny) : 0
        while i + 8 <= parameterCount {
            let gi = loadVector(g + i)
            var mi = vb1 * loadVector(m + i) + vc1 * gi
            var vi = vb2 * loadVector(v + i) + vc2 * gi * gi
            mi.replace(with: zero, where: (mi .< vTiny) .& (mi .> -vTiny))
            vi.replace(with: zero, where: vi .< vTiny)
            storeVector(mi, m + i)
            storeVector(vi, v + i)
            storeVector(loadVector(p + i) - vStep * mi / (vi.squareRoot() / vBc2 + vEps), p + i)
            i += 8
        }
        while i < parameterCount {
            let gi = g[i]
            var mi = b1 * m[i] + (1 - b1) * gi
            var vi = b2 * v[i] + (1 - b2) * gi * gi
            if abs(mi) < tiny { mi = 0 }
            if vi < tiny { vi = 0 }
            m[i] = mi
            v[i] = vi
            p[i] -= stepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
            i += 1
        }
    }

    /// ``step(parameters:gradients:)`` for an ``MLP``'s own buffers.
    public func step(_ network: MLP) {
        step(parameters: network.parameters, gradients: UnsafeBufferPointer(network.gradients))
    }
}

/// Global-norm gradient clipping (PyTorch's `clip_grad_norm_`).
public enum GradientClipping {
    /// Σ g² over a buffer, accumulated in `Double`.
    ///
    /// Each square is exact in `Double`; where the CPU has AVX2 the sum runs in sixteen partial
    /// sums (not the sequential order: equal within `Double` rounding, ~1e-16 relative).
    public static func sumOfSquares(_ g: UnsafeBufferPointer<Float>) -> Double {
        guard let base = g.baseAddress else { return 0 }
        var done = 0
        var s = hasAVX2FMA ? CBLAS_sum_of_squares_avx2(base, g.count, &done) : 0
        while done < g.count {
            s += Double(base[done]) * Double(base[done])
            done += 1
        }
        return s
    }

    /// Scales every gradient in `buffers` by `maxNorm / (‖g‖ + 1e-6)` when the global L2 norm
    /// `‖g‖` over all of them exceeds `maxNorm`, as `torch.nn.utils.clip_grad_norm_` does.
    /// - Returns: the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ buffers: [UnsafeMutableBufferPointer<Float>], maxNorm: Float) -> Float {
        var total = 0.0
        for b in buffers { total += sumOfSquares(UnsafeBufferPointer(b)) }
        let norm = Float(total.squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for b in buffers { for i in b.indices { b[i] *= coefficient } }
        }
        return norm
    }

    /// ``clipGlobalNorm(_:maxNorm:)`` over one network's gradients without building an array.
    @discardableResult
    public static func clipGlobalNorm(_ network: MLP, maxNorm: Float) -> Float {
        let norm = Float(sumOfSquares(UnsafeBufferPointer(network.gradients)).squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for i in network.gradients.indices { network.gradients[i] *= coefficient }
        }
        return norm
    }

    /// ``clipGlobalNorm(_:maxNorm:)`` over the gradients of two networks (actor and critic)
    /// without building an array.
    @discardableResult
    public static func clipGlobalNorm(_ a: MLP, _ b: MLP, maxNorm: Float) -> Float {
        let total = sumOfSquares(UnsafeBufferPointer(a.gradients)) + sumOfSquares(UnsafeBufferPointer(b.gradients))
        let norm = Float(total.squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for i in a.gradients.indices { a.gradients[i] *= coefficient }
            for i in b.gradients.indices { b.gradients[i] *= coefficient }
        }
        return norm
    }
}

extension Adam: StateCheckpointable {
    /// The moments (`m`, `v`), the step count and the current learning rate.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.floats["m"] = Array(UnsafeBufferPointer(start: m, count: parameterCount))
        s.floats["v"] = Array(UnsafeBufferPointer(start: v, count: parameterCount))
        s.setInt(stepCount, at: "step_count")
        s.floats["learning_rate"] = [learningRate]
        return s
    }

    /// Restores the state of an optimiser over the same number of parameters.
    public func loadState(_ s: StateDict) throws {
        let mm = try s.floats("m", count: parameterCount)
        let vv = try s.floats("v", count: parameterCount)
        let t = try s.int("step_count")
        let lr = try s.floats("learning_rate", count: 1)
        mm.withUnsafeBufferPointer { m.update(from: $0.baseAddress!, count: parameterCount) }
        vv.withUnsafeBufferPointer { v.update(from: $0.baseAddress!, count: parameterCount) }
        stepCount = t
        learningRate = lr[0]
    }
}

@inline(__always)
private func loadVector(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func loadVector(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
private func storeVector(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self)
}
