import Testing
import SwitchGymAgents
import SwitchGymCore

/// The textbook definition, written differently from the recursion: for each valid step,
/// `A_t = Σ_l (γλ)^l δ_{t+l}` over the steps up to and including the episode's end (or the
/// rollout's end), in Double.
private func referenceGAE(steps: Int, envs: Int, gamma: Double, lambda: Double, rewards: [Float], values: [Float],
                          terminations: [Bool], truncations: [Bool], truncationValues: [Float], valid: [Bool],
                          lastValues: [Float]) -> [Double] {
    func v(_ t: Int, _ i: Int) -> Double { Double(values[t * envs + i]) }
    func delta(_ t: Int, _ i: Int) -> Double {
        let k = t * envs + i
        let next: Double
        if terminations[k] { next = 0 }
        else if truncations[k] { next = Double(truncationValues[k]) }
        else { next = t + 1 < steps ? v(t + 1, i) : Double(lastValues[i]) }
        return Double(rewards[k]) + gamma * next - v(t, i)
    }
    var out = [Double](repeating: 0, count: steps * envs)
    for i in 0..<envs {
        for t in 0..<steps where valid[t * envs + i] {
            var sum = 0.0, weight = 1.0
            var u = t
            while u < steps {
                sum += weight * delta(u, i)
                let k = u * envs + i
                if terminations[k] || truncations[k] { break }
                weight *= gamma * lambda
                u += 1
            }
            out[t * envs + i] = sum
        }
    }
    return out
}

@Suite struct GAETests {
    @Test func matchesReferenceWithTerminationsTruncationsAndResetSteps() {
        var g = SeededGenerator(seed: 11)
        let steps = 40, envs = 3
        let n = steps * envs
        var rewards = [Float](), values = [Float](), term = [Bool](), trunc = [Bool](), tv = [Float](), valid = [Bool]()
        for _ in 0..<n {
            rewards.append(Float(g.nextUnit() * 2 - 0.5))
            values.append(Float(g.nextUnit() * 3))
            let u = g.nextUnit()
            term.append(u < 0.08)
            trunc.append(u >= 0.08 && u < 0.14 || u < 0.02)  // some rows both terminated and truncated
            tv.append(Float(g.nextUnit() * 5))
        }
        // Next-step style: the step after every episode end is a reset step.
        for t in 0..<steps {
            for i in 0..<envs {
                let prev = (t - 1) * envs + i
                valid.append(t == 0 ? g.nextUnit() < 0.8 : !(term[prev] || trunc[prev]))
            }
        }
        let last: [Float] = [0.5, -1, 2]
        let (adv, ret) = GAE.compute(steps: steps, envs: envs, gamma: 0.97, lambda: 0.9, rewards: rewards, values: values,
                                     terminations: term, truncations: trunc, truncationValues: tv, valid: valid,
                                     lastValues: last)
        let ref = referenceGAE(steps: steps, envs: envs, gamma: 0.97, lambda: 0.9, rewards: rewards, values: values,
                               terminations: term, truncations: trunc, truncationValues: tv, valid: valid, lastValues: last)
        #expect(term.contains(true) && trunc.contains(true) && valid.contains(false))
        for k in 0..<n {
            #expect(abs(Double(adv[k]) - ref[k]) <= 1e-4 * max(1, abs(ref[k])), "row \(k)")
            if valid[k] {
                #expect(ret[k] == adv[k] + values[k])
            } else {
                #expect(adv[k] == 0 && ret[k] == values[k])
            }
        }
    }

    @Test func handWorkedEpisodeBoundaries() {
        // One env, γ = 0.5, λ = 1 (advantages are discounted returns minus values).
        // t0: r=1, t1: r=2 truncated (final value 4), t2: r=3 terminated, t3: r=1 (rollout end, last value 8).
        let (adv, _) = GAE.compute(steps: 4, envs: 1, gamma: 0.5, lambda: 1, rewards: [1, 2, 3, 1], values: [0, 0, 0, 0],
                                   terminations: [false, false, true, false], truncations: [false, true, false, false],
                                   truncationValues: [0, 4, 0, 0], valid: nil, lastValues: [8])
        let expected: [Float] = [3, 4, 3, 5]  // [1 + 0.5 (2 + 0.5 · 4), 2 + 0.5 · 4, 3, 1 + 0.5 · 8]
        #expect(adv == expected)
    }

    /// Next-step autoreset: the reset step's row holds the final observation, so its value
    /// bootstraps the truncation, and the row itself is left out.
    @Test func nextStepTruncationBootstrapsFromTheResetRow() {
        let buffer = RolloutBuffer(steps: 3, envs: 1, observationDimension: 1, actionLayout: .discrete(2))
        let values: [Float] = [1, 7, 2]
        for t in 0..<3 { buffer.values[t] = values[t]; buffer.rewards[t] = 1 }
        buffer.truncations[0] = true   // step 0 truncates; step 1 is the reset step
        buffer.valid[1] = false
        buffer.lastValues[0] = 3
        buffer.fillNextStepTruncationValues()
        buffer.computeAdvantages(gamma: 0.9, lambda: 0.8)
        #expect(buffer.truncationValues[0] == 7)
        let gamma: Float = 0.9
        let a0: Float = 1 + gamma * 7 - 1, a2: Float = 1 + gamma * 3 - 2
        #expect(buffer.advantages[0] == a0)
        #expect(buffer.advantages[1] == 0)
        #expect(buffer.advantages[2] == a2)
    }
}
