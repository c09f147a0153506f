import Testing
import SwitchGymCore
#if canImport(Glibc)
import Glibc
#endif
@testable import SwitchGymNN

/// Loss used for gradient checks: L = Σ c_ij y_ij with fixed coefficients c.
private func loss(_ net: MLP, _ x: [Float], batch: Int, _ c: [Float], _ ws: MLPWorkspace) -> Double {
    let y = x.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch: batch, workspace: ws) }
    var s = 0.0
    for i in 0..<c.count { s += Double(c[i]) * Double(y[i]) }
    return s
}

private func logSoftmax(_ logits: [Float], _ mask: [Bool]) -> [Float] {
    var lp = [Float](repeating: 0, count: logits.count)
    logits.withUnsafeBufferPointer { l in
        mask.withUnsafeBufferPointer { m in
            lp.withUnsafeMutableBufferPointer {
                Categorical.logSoftmax(l.baseAddress!, mask: m.baseAddress!, count: logits.count, into: $0.baseAddress!)
            }
        }
    }
    return lp
}

@Suite struct MLPTests {
    @Test(arguments: [Activation.tanh, .relu])
    func gradientsMatchFiniteDifferences(_ act: Activation) {
        var g = SeededGenerator(seed: 1)
        let net = MLP(sizes: [3, 5, 4, 2], hiddenActivation: act)
        net.initializeOrthogonal(hiddenGain: 1.3, outputGain: 1, using: &g)
        for i in net.parameters.indices { net.parameters[i] += Float(Orthogonal.gaussian(&g) * 0.1) }
        let batch = 4
        let x = (0..<(batch * 3)).map { _ in Float(Orthogonal.gaussian(&g)) }
        let c = (0..<(batch * 2)).map { _ in Float(Orthogonal.gaussian(&g)) }
        let ws = net.makeWorkspace(maxBatch: batch)
        _ = loss(net, x, batch: batch, c, ws)
        net.zeroGradients()
        var dx = [Float](repeating: 0, count: batch * 3)
        c.withUnsafeBufferPointer { cb in
            dx.withUnsafeMutableBufferPointer {
                net.backward(outputGradient: cb.baseAddress!, batch: batch, workspace: ws, inputGradient: $0.baseAddress!)
            }
        }
        let h: Float = 1e-2
        var worst = 0.0
        for i in 0..<net.parameterCount {
            let saved = net.parameters[i]
            net.parameters[i] = saved + h
            let lp = loss(net, x, batch: batch, c, ws)
            net.parameters[i] = saved - h
            let lm = loss(net, x, batch: batch, c, ws)
            net.parameters[i] = saved
            let fd = (lp - lm) / (2 * Double(h))
            worst = max(worst, abs(fd - Double(net.gradients[i])) / max(1, abs(fd)))
        }
        for i in 0..<x.count {
            var xp = x, xm = x
            xp[i] += h; xm[i] -= h
            let fd = (loss(net, xp, batch: batch, c, ws) - loss(net, xm, batch: batch, c, ws)) / (2 * Double(h))
            worst = max(worst, abs(fd - Double(dx[i])) / max(1, abs(fd)))
        }
        // Float central differences with h = 1e-2: truncation O(h²) plus rounding ~1e-5
        // (ReLU kinks are unlikely to be crossed with these random inputs).
        #expect(worst < 2e-3, "worst relative gradient error \(worst)")
    }

    @Test func singleForwardMatchesBLAS() {
        var g = SeededGenerator(seed: 2)
        for act in [Activation.tanh, .relu] {
            let net = MLP(sizes: [16, 64, 64, 8], hiddenActivation: act)
            net.initializeOrthogonal(outputGain: 1, using: &g)
            let ws = net.makeWorkspace(maxBatch: 1)
            let x = (0..<16).map { _ in Float(Orthogonal.gaussian(&g)) }
            let a = net.forwardSingle(x)
            let b = x.withUnsafeBufferPointer {
                Array(UnsafeBufferPointer(start: net.forward($0.baseAddress!, batch: 1, workspace: ws), count: 8))
            }
            for i in 0..<8 { #expect(abs(a[i] - b[i]) < 1e-5) }
        }
    }

    @Test(arguments: [[64, 16], [16, 64], [8, 8], [2, 64]])
    func orthogonalInit(_ shape: [Int]) {
        let rows = shape[0], cols = shape[1]
        var g = SeededGenerator(seed: 3)
        var w = [Float](repeating: 0, count: rows * cols)
        let gain = Float(2).squareRoot()
        w.withUnsafeMutableBufferPointer { Orthogonal.fill($0, rows: rows, columns: cols, gain: gain, using: &g) }
        // rows >= cols: WᵀW = gain² I (cols × cols); else WWᵀ = gain² I (rows × rows).
        let k = min(rows, cols)
        var worst: Float = 0
        for a in 0..<k {
            for b in 0..<k {
                var s: Float = 0
                if rows >= cols {
                    for r in 0..<rows { s += w[r * cols + a] * w[r * cols + b] }
                } else {
                    for c in 0..<cols { s += w[a * cols + c] * w[b * cols + c] }
                }
                worst = max(worst, abs(s / (gain * gain) - (a == b ? 1 : 0)))
            }
        }
        #expect(worst < 1e-5, "max |WᵀW/g² - I| = \(worst)")
    }

    @Test func adamMatchesHandComputedReference() {
        let adam = Adam(parameterCount: 3, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-5)
        var p: [Float] = [1, -2, 0.5]
        let grads: [[Float]] = [[0.5, -1, 0], [0.1, 2, -3]]
        for gr in grads {
            p.withUnsafeMutableBufferPointer { pb in gr.withUnsafeBufferPointer { adam.step(parameters: pb, gradients: $0) } }
        }
        // By hand, PyTorch's formula p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + ε):
        // t=1: m = 0.1 g, v = 0.001 g², so p -= 0.1 · g / (|g| + ε)  (0 when g = 0).
        //   p = [1 - 0.1·0.5/0.50001, -2 + 0.1·1/1.00001, 0.5]
        // t=2: m = 0.09 g₁ + 0.1 g₂, v = 0.000999 g₁² + 0.001 g₂², bias corrections 0.19 and 0.001999.
        func ref(_ p0: Double, _ g1: Double, _ g2: Double) -> Double {
            var p = p0
            p -= 0.1 / 0.1 * (0.1 * g1) / ((0.001 * g1 * g1).squareRoot() / 0.001.squareRoot() + 1e-5)
            let m = 0.09 * g1 + 0.1 * g2, v = 0.000999 * g1 * g1 + 0.001 * g2 * g2
            p -= 0.1 / 0.19 * m / (v.squareRoot() / 0.001999.squareRoot() + 1e-5)
            return p
        }
        let expected = [ref(1, 0.5, 0.1), ref(-2, -1, 2), ref(0.5, 0, -3)]
        for i in 0..<3 { #expect(abs(Double(p[i]) - expected[i]) < 1e-5, "p[\(i)] = \(p[i]), reference \(expected[i])") }
        // The third entry as a number: 0.5 - 0.1/0.19 · (-0.3) / (√0.009/√0.001999 + 1e-5) = 0.5744133.
        #expect(abs(Double(p[2]) - 0.5744133) < 1e-5)
    }

    @Test func clipGlobalNorm() {
        var a: [Float] = [3, 0], b: [Float] = [0, 4]
        let n = a.withUnsafeMutableBufferPointer { ab in
            b.withUnsafeMutableBufferPointer { GradientClipping.clipGlobalNorm([ab, $0], maxNorm: 1) }
        }
        #expect(abs(n - 5) < 1e-6)
        #expect(abs(a[0] - 0.6) < 1e-5 && abs(b[1] - 0.8) < 1e-5)
    }
}

@Suite struct CategoricalTests {
    @Test func maskedHeadNeverSamplesMaskedAction() {
        var g = SeededGenerator(seed: 4)
        let logits: [Float] = [5, -1, 30, 0.5, 2]
        let mask = [true, false, false, true, true]
        let lp = logSoftmax(logits, mask)
        #expect(lp[1] == -.infinity && lp[2] == -.infinity)
        var counts = [0, 0, 0, 0, 0]
        for _ in 0..<20_000 {
            counts[lp.withUnsafeBufferPointer { Categorical.sample($0.baseAddress!, count: 5, using: &g) }] += 1
        }
        #expect(counts[1] == 0 && counts[2] == 0)
        #expect(abs(Double(counts[0]) / 20_000 - exp(Double(lp[0]))) < 0.02)
        let greedy = logits.withUnsafeBufferPointer { l in
            mask.withUnsafeBufferPointer { Categorical.argmax(l.baseAddress!, mask: $0.baseAddress!, count: 5) }
        }
        #expect(greedy == 0)
        let h = lp.withUnsafeBufferPointer { Categorical.entropy($0.baseAddress!, count: 5) }
        #expect(h.isFinite && h > 0)
    }

    @Test func headGradientMatchesFiniteDifferences() {
        let logits: [Float] = [0.3, -0.7, 1.2, 0.1]
        let mask = [true, true, false, true]
        func objective(_ z: [Float]) -> Double {
            let lp = logSoftmax(z, mask)
            let h = lp.withUnsafeBufferPointer { Categorical.entropy($0.baseAddress!, count: 4) }
            return 0.7 * Double(lp[3]) + 0.3 * Double(h)
        }
        let lp = logSoftmax(logits, mask)
        var grad = [Float](repeating: 0, count: 4)
        lp.withUnsafeBufferPointer { l in
            grad.withUnsafeMutableBufferPointer {
                Categorical.backward(l.baseAddress!, count: 4, action: 3, logProbabilityWeight: 0.7, entropyWeight: 0.3,
                                     into: $0.baseAddress!)
            }
        }
        for j in 0..<4 {
            var zp = logits, zm = logits
            zp[j] += 1e-2; zm[j] -= 1e-2
            let fd = (objective(zp) - objective(zm)) / 2e-2
            #expect(abs(fd - Double(grad[j])) < 1e-3, "logit \(j): fd \(fd) vs \(grad[j])")
        }
        #expect(grad[2] == 0)
    }
}

@Suite struct GradientOverwriteTests {
    @Test func backwardOverwriteEqualsZeroingFirst() {
        var g = SeededGenerator(seed: 5)
        let net = MLP(sizes: [3, 8, 2], hiddenActivation: .relu)
        net.initializeOrthogonal(outputGain: 1, using: &g)
        let x = (0..<12).map { _ in Float(Orthogonal.gaussian(&g)) }
        let dy = (0..<8).map { _ in Float(Orthogonal.gaussian(&g)) }
        let ws = net.makeWorkspace(maxBatch: 4)
        net.forward(x, batch: 4, workspace: ws)
        net.zeroGradients()
        net.backward(outputGradient: dy, batch: 4, workspace: ws)
        let reference = Array(net.gradients)
        for i in net.gradients.indices { net.gradients[i] = 1e3 }   // stale values to overwrite
        net.backward(outputGradient: dy, batch: 4, workspace: ws, overwrite: true)
        #expect(Array(net.gradients) == reference)
        net.backward(outputGradient: dy, batch: 4, workspace: ws)   // the default adds
        for i in net.gradients.indices { #expect(abs(net.gradients[i] - 2 * reference[i]) <= 1e-6 * max(1, abs(reference[i]))) }
    }

    @Test func clipGlobalNormOfOneNetwork() {
        let net = MLP(sizes: [2, 2], hiddenActivation: .relu)   // 4 weights + 2 biases
        for (i, v) in [Float(3), 0, 0, 4, 0, 0].enumerated() { net.gradients[i] = v }
        #expect(abs(GradientClipping.clipGlobalNorm(net, maxNorm: 1) - 5) < 1e-6)
        #expect(abs(net.gradients[0] - 0.6) < 1e-5 && abs(net.gradients[3] - 0.8) < 1e-5)
        // Below the limit: untouched (torch's clip coefficient is clamped at 1).
        let before = Array(net.gradients)
        #expect(abs(GradientClipping.clipGlobalNorm(net, maxNorm: 10) - 1) < 1e-5)
        #expect(Array(net.gradients) == before)
    }
}
