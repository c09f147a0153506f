import Testing
import Foundation
import SwitchGymCore
@testable import SwitchGymNN

@Suite struct FastTanhTests {
    /// Relative error against `tanh` in Double on a dense grid over [-10, 10] and on a
    /// log-spaced grid of tiny and huge magnitudes.
    @Test func maximumRelativeErrorIsBelow2e6() {
        var worst = 0.0, worstX: Float = 0
        func check(_ x: Float) {
            let exact = Foundation.tanh(Double(x))
            let err = abs(Double(fastTanh(x)) - exact) / max(abs(exact), 1e-30)
            if err > worst { worst = err; worstX = x }
        }
        var x: Float = -10
        while x <= 10 { check(x); x += 1.0 / 4096 }
        var m: Float = 1e-30
        while m < 1e30 { check(m); check(-m); m *= 1.01 }
        #expect(worst < 2e-6, "max relative error \(worst) at \(worstX)")
    }

    @Test func specialValues() {
        #expect(fastTanh(0) == 0)
        #expect(fastTanh(.infinity) <= 1 && fastTanh(.infinity) > 0.99999)
        #expect(fastTanh(-.infinity) >= -1 && fastTanh(-.infinity) < -0.99999)
        #expect(fastTanh(.nan).isNaN)
        #expect(fastTanh(-3) == -fastTanh(3))
        var v: [Float] = [-2, -1e-5, 0.5, 20]
        v.withUnsafeMutableBufferPointer { fastTanh(inPlace: $0.baseAddress!, count: 4) }
        #expect(v == [fastTanh(-2), fastTanh(-1e-5), fastTanh(0.5), fastTanh(20)])
    }
}

@Suite struct AdamFlushTests {
    /// The vector body and the scalar tail compute the same thing, and moments that would
    /// become subnormal are flushed to zero.
    @Test func vectorAndScalarPathsAgreeAndSubnormalsFlush() {
        let n = 19  // two vectors of 8 and a tail of 3
        var g = SeededGenerator(seed: 2)
        var p1 = (0..<n).map { _ in Float(g.nextUnit()) }
        let grads = (0..<n).map { i in i % 5 == 0 ? Float(0) : Float(g.nextUnit() - 0.5) }
        var p2 = p1
        let a = Adam(parameterCount: n, learningRate: 0.01)
        var steps: [Adam] = []
        for _ in 0..<n { steps.append(Adam(parameterCount: 1, learningRate: 0.01)) }
        for t in 0..<3 {
            let gt = grads.map { $0 * Float(t + 1) }
            p1.withUnsafeMutableBufferPointer { pp in gt.withUnsafeBufferPointer { a.step(parameters: pp, gradients: $0) } }
            for i in 0..<n {
                p2.withUnsafeMutableBufferPointer { pp in
                    [gt[i]].withUnsafeBufferPointer {
                        steps[i].step(parameters: UnsafeMutableBufferPointer(rebasing: pp[i..<(i + 1)]), gradients: $0)
                    }
                }
            }
        }
        #expect(p1 == p2)
        // A gradient of 1e-20 squares to a subnormal second moment: flushed, so it stays 0.
        let c = Adam(parameterCount: 8, learningRate: 0.01)
        var p = [Float](repeating: 1, count: 8)
        let tiny = [Float](repeating: 1e-20, count: 8)
        p.withUnsafeMutableBufferPointer { pp in tiny.withUnsafeBufferPointer { c.step(parameters: pp, gradients: $0) } }
        let v = c.saveState().floats["v"]!
        #expect(v.allSatisfy { $0 == 0 })
    }
}

@Suite struct BatchOneKernelTests {
    /// The AVX2/FMA kernel (when the CPU has it), the portable SIMD path and the BLAS batch
    /// path agree to float precision.
    @Test(arguments: [[16, 64, 64, 8], [4, 256, 256, 2], [3, 5, 7, 1]])
    func kernelsAgree(_ sizes: [Int]) {
        var g = SeededGenerator(seed: 8)
        let net = MLP(sizes: sizes, hiddenActivation: .tanh)
        net.initializeOrthogonal(outputGain: 1, using: &g)
        let x = (0..<sizes[0]).map { _ in Float(Orthogonal.gaussian(&g)) }
        var fast = [Float](repeating: 0, count: net.outputSize), portable = fast
        x.withUnsafeBufferPointer { xp in
            fast.withUnsafeMutableBufferPointer { net.forwardSingle(xp.baseAddress!, into: $0.baseAddress!, useAVX2: hasAVX2FMA) }
            portable.withUnsafeMutableBufferPointer { net.forwardSingle(xp.baseAddress!, into: $0.baseAddress!, useAVX2: false) }
        }
        let ws = net.makeWorkspace(maxBatch: 1)
        let batched = x.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: net.forward($0.baseAddress!, batch: 1, workspace: ws), count: net.outputSize)) }
        for o in 0..<net.outputSize {
            #expect(abs(fast[o] - portable[o]) <= 1e-5 * max(1, abs(portable[o])))
            #expect(abs(batched[o] - portable[o]) <= 1e-5 * max(1, abs(portable[o])))
        }
    }
}
