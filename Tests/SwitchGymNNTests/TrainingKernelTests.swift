import Testing
import Foundation
import SwitchGymCore
@testable import SwitchGymNN

/// The AVX2 training kernels (Adam's step, fastTanh in place, the activation backward step,
/// a bias's gradient, the sum of squares) against the straightforward scalar loops they
/// replace, on random inputs: bit for bit where they promise it, within Double rounding for
/// the sum of squares. On a CPU without AVX2 the same checks cover the portable paths.
@Suite struct TrainingKernelTests {
    /// Random floats of mixed magnitude, with some zeros, tiny and negative values.
    func randomFloats(_ n: Int, _ g: inout SeededGenerator, scale: Float = 3) -> [Float] {
        (0..<n).map { i in
            switch i % 11 {
            case 0: return 0
            case 1: return Float(g.nextUnit()) * (Float.leastNormalMagnitude / 16)  // subnormal
            default: return (Float(g.nextUnit()) * 2 - 1) * scale * (i % 3 == 0 ? 10 : 1)
            }
        }
    }

    @Test(arguments: [1, 7, 8, 9, 67, 4_481, 66_818])
    func adamStepMatchesTheScalarUpdate(count n: Int) {
        var g = SeededGenerator(seed: UInt64(n))
        var params = randomFloats(n, &g), reference = params
        let adam = Adam(parameterCount: n, learningRate: 2.3e-3)
        var m = [Float](repeating: 0, count: n), v = [Float](repeating: 0, count: n)
        let (b1, b2, eps, tiny) = (adam.beta1, adam.beta2, adam.epsilon, Float.leastNormalMagnitude)
        for t in 1...5 {
            var grads = randomFloats(n, &g, scale: 0.1)
            if t == 3 { for i in stride(from: 0, to: n, by: 5) { grads[i] = 0 } }  // moments decaying towards subnormals
            params.withUnsafeMutableBufferPointer { p in grads.withUnsafeBufferPointer { adam.step(parameters: p, gradients: $0) } }
            let stepSize = Float(Double(adam.learningRate) / (1 - pow(Double(b1), Double(t))))
            let bc2Sqrt = Float((1 - pow(Double(b2), Double(t))).squareRoot())
            for i in 0..<n {
                let gi = grads[i]
                var mi = b1 * m[i] + (1 - b1) * gi
                var vi = b2 * v[i] + (1 - b2) * gi * gi
                if abs(mi) < tiny { mi = 0 }
                if vi < tiny { vi = 0 }
                m[i] = mi; v[i] = vi
                reference[i] -= stepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
            }
            #expect(params.map(\.bitPattern) == reference.map(\.bitPattern), "step \(t)")
        }
    }

    @Test func fastTanhInPlaceMatchesTheScalarFunction() {
        var g = SeededGenerator(seed: 7)
        var xs = randomFloats(10_003, &g, scale: 4)
        xs += [.nan, .infinity, -.infinity, 7.9053, -7.9054, 0.0004, -0.00039, 1e-30, -0.0, 20, -20]
        var ys = xs
        ys.withUnsafeMutableBufferPointer { fastTanh(inPlace: $0.baseAddress!, count: $0.count) }
        for (x, y) in zip(xs, ys) {
            let r = fastTanh(x)
            #expect(y.bitPattern == r.bitPattern || (y.isNaN && r.isNaN), "fastTanh(\(x)): \(y) vs \(r)")
        }
    }

    @Test(arguments: [Activation.tanh, .relu, .identity])
    func activationBackwardMatchesTheScalarLoop(_ activation: Activation) {
        var g = SeededGenerator(seed: 11)
        for n in [5, 8, 64 * 64 + 3] {
            let y = randomFloats(n, &g, scale: 1)
            var d = randomFloats(n, &g), reference = d
            switch activation {
            case .identity: break
            case .tanh: for i in 0..<n { reference[i] *= 1 - y[i] * y[i] }
            case .relu: for i in 0..<n where y[i] <= 0 { reference[i] = 0 }
            }
            d.withUnsafeMutableBufferPointer { dp in y.withUnsafeBufferPointer { activationBackward(activation, dp.baseAddress!, $0.baseAddress!, n) } }
            #expect(d.map(\.bitPattern) == reference.map(\.bitPattern), "\(activation), n = \(n)")
        }
    }

    @Test func columnSumsMatchTheRowByRowLoop() {
        var g = SeededGenerator(seed: 13)
        for (batch, width) in [(1, 3), (64, 256), (256, 64), (7, 13), (3, 2)] {
            let rows = randomFloats(batch * width, &g)
            var sums = randomFloats(width, &g), reference = sums
            for r in 0..<batch { for o in 0..<width { reference[o] += rows[r * width + o] } }
            sums.withUnsafeMutableBufferPointer { s in rows.withUnsafeBufferPointer { addColumnSums(s.baseAddress!, $0.baseAddress!, batch: batch, width: width) } }
            #expect(sums.map(\.bitPattern) == reference.map(\.bitPattern), "\(batch) x \(width)")
        }
    }

    @Test func sumOfSquaresAgreesWithTheSequentialSum() {
        var g = SeededGenerator(seed: 17)
        for n in [0, 1, 15, 16, 17, 66_818] {
            let xs = randomFloats(n, &g)
            var sequential = 0.0
            for x in xs { sequential += Double(x) * Double(x) }
            let fast = xs.withUnsafeBufferPointer { GradientClipping.sumOfSquares($0) }
            #expect(abs(fast - sequential) <= 1e-13 * sequential, "n = \(n): \(fast) vs \(sequential)")
        }
    }
}
