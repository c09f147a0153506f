import Testing
import Foundation
import SwitchGymAgents
import SwitchGymCore

/// A tiny PPO minibatch.
private struct Batch {
    var m = 6, n = 4
    var logits: [Float] = []
    var masks: [Bool] = []
    var actions: [Int32] = []
    var oldLogP: [Float] = []
    var advantages: [Float] = []
    var values: [Float] = []
    var oldValues: [Float] = []
    var returns: [Float] = []

    init(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        func u(_ lo: Double, _ hi: Double) -> Float { Float(lo + (hi - lo) * g.nextUnit()) }
        for k in 0..<m {
            var row = [Bool](repeating: true, count: n)
            if k % 2 == 1 { row[(k / 2) % n] = false }  // some rows mask one action
            if k == 5 { row[3] = false }
            masks += row
            for _ in 0..<n { logits.append(u(-1.5, 1.5)) }
            var a = Int(g.next() % UInt64(n))
            while !row[a] { a = (a + 1) % n }
            actions.append(Int32(a))
            advantages.append(u(-2, 2))
            values.append(u(-1, 1))
            oldValues.append(u(-1, 1))
            returns.append(u(-2, 2))
        }
        // Old log-probabilities chosen so the ratios spread over both sides of the clip range.
        let lp = referenceLogSoftmax(logits.map(Double.init), masks, m, n)
        let shifts: [Double] = [0.05, -0.5, 0.4, -0.02, 0.6, -0.35]
        for k in 0..<m { oldLogP.append(Float(lp[k * n + Int(actions[k])] + shifts[k])) }
    }
}

private func referenceLogSoftmax(_ z: [Double], _ mask: [Bool], _ m: Int, _ n: Int) -> [Double] {
    var out = [Double](repeating: -.infinity, count: m * n)
    for k in 0..<m {
        var mx = -Double.infinity
        for j in 0..<n where mask[k * n + j] { mx = max(mx, z[k * n + j]) }
        var s = 0.0
        for j in 0..<n where mask[k * n + j] { s += exp(z[k * n + j] - mx) }
        for j in 0..<n where mask[k * n + j] { out[k * n + j] = z[k * n + j] - mx - log(s) }
    }
    return out
}

/// The loss written out in Double, straight from the definition (SB3's `PPO.train`).
private func referenceLoss(_ b: Batch, logits: [Double], values: [Double], clip: Double, clipVF: Double?,
                           ent: Double, vf: Double) -> Double {
    let m = b.m, n = b.n
    let adv = b.advantages.map(Double.init)
    let mean = adv.reduce(0, +) / Double(m)
    let std = (adv.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(m - 1)).squareRoot()
    let lp = referenceLogSoftmax(logits, b.masks, m, n)
    var pg = 0.0, h = 0.0, vl = 0.0
    for k in 0..<m {
        let a = (adv[k] - mean) / (std + 1e-8)
        let r = exp(lp[k * n + Int(b.actions[k])] - Double(b.oldLogP[k]))
        pg += -min(a * r, a * min(max(r, 1 - clip), 1 + clip))
        for j in 0..<n where b.masks[k * n + j] { h -= exp(lp[k * n + j]) * lp[k * n + j] }
        var pred = values[k]
        if let c = clipVF { pred = Double(b.oldValues[k]) + min(max(values[k] - Double(b.oldValues[k]), -c), c) }
        vl += (Double(b.returns[k]) - pred) * (Double(b.returns[k]) - pred)
    }
    return pg / Double(m) - ent * h / Double(m) + vf * vl / Double(m)
}

private func evaluate(_ b: Batch, _ c: PPOLoss.Coefficients) -> (PPOLossStatistics, [Float], [Float]) {
    var dz = [Float](repeating: 0, count: b.m * b.n), dv = [Float](repeating: 0, count: b.m)
    var scratch = [Float](repeating: 0, count: b.m * b.n)
    let s = PPOLoss.evaluate(batch: b.m, actionCount: b.n, logits: b.logits, masks: b.masks, actions: b.actions,
                             oldLogProbabilities: b.oldLogP, advantages: b.advantages, values: b.values,
                             oldValues: b.oldValues, returns: b.returns, coefficients: c, scratch: &scratch,
                             logitGradient: &dz, valueGradient: &dv)
    return (s, dz, dv)
}

@Suite struct PPOLossTests {
    @Test(arguments: [nil, 0.3] as [Double?])
    func lossAndGradientMatchReferenceAndFiniteDifferences(_ clipVF: Double?) {
        let b = Batch(seed: 5)
        let c = PPOLoss.Coefficients(clipRange: 0.2, clipRangeVF: clipVF.map { Float($0) }, entropyCoefficient: 0.05,
                                     valueCoefficient: 0.5, normalizeAdvantage: true)
        let (s, dz, dv) = evaluate(b, c)
        let z = b.logits.map(Double.init), v = b.values.map(Double.init)
        let ref = referenceLoss(b, logits: z, values: v, clip: 0.2, clipVF: clipVF, ent: 0.05, vf: 0.5)
        #expect(abs(s.loss - ref) < 1e-5, "loss \(s.loss) vs reference \(ref)")
        #expect(s.clipFraction > 0 && s.clipFraction < 1, "the batch should exercise both sides of the clip")

        let h = 1e-4
        for i in 0..<z.count {
            var zp = z, zm = z
            zp[i] += h; zm[i] -= h
            let fd = (referenceLoss(b, logits: zp, values: v, clip: 0.2, clipVF: clipVF, ent: 0.05, vf: 0.5)
                - referenceLoss(b, logits: zm, values: v, clip: 0.2, clipVF: clipVF, ent: 0.05, vf: 0.5)) / (2 * h)
            if !b.masks[i] {
                #expect(dz[i] == 0, "masked logit \(i) must get zero gradient")
                #expect(fd == 0)
            } else {
                #expect(abs(Double(dz[i]) - fd) < 2e-4, "logit \(i): \(dz[i]) vs \(fd)")
            }
        }
        for k in 0..<v.count {
            var vp = v, vm = v
            vp[k] += h; vm[k] -= h
            let fd = (referenceLoss(b, logits: z, values: vp, clip: 0.2, clipVF: clipVF, ent: 0.05, vf: 0.5)
                - referenceLoss(b, logits: z, values: vm, clip: 0.2, clipVF: clipVF, ent: 0.05, vf: 0.5)) / (2 * h)
            #expect(abs(Double(dv[k]) - fd) < 2e-4, "value \(k): \(dv[k]) vs \(fd)")
        }
    }

    @Test func statisticsMatchDefinitions() {
        let b = Batch(seed: 9)
        let c = PPOLoss.Coefficients(clipRange: 0.2, entropyCoefficient: 0, valueCoefficient: 0.5, normalizeAdvantage: false)
        let (s, _, _) = evaluate(b, c)
        let lp = referenceLogSoftmax(b.logits.map(Double.init), b.masks, b.m, b.n)
        var kl = 0.0, clipped = 0.0, pg = 0.0
        for k in 0..<b.m {
            let logRatio = lp[k * b.n + Int(b.actions[k])] - Double(b.oldLogP[k])
            let r = exp(logRatio)
            kl += (r - 1) - logRatio
            if abs(r - 1) > 0.2 { clipped += 1 }
            let a = Double(b.advantages[k])
            pg -= min(a * r, a * min(max(r, 0.8), 1.2))
        }
        #expect(abs(s.approxKL - kl / 6) < 1e-6)
        #expect(s.clipFraction == clipped / 6)
        #expect(abs(s.policyLoss - pg / 6) < 1e-5)
    }
}
