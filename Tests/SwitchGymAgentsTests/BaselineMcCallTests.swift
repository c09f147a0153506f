import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymAgents

/// Solves an increasing scalar equation f(x) = 0 on [lo, hi] by bisection.
private func bisect(_ lo: Double, _ hi: Double, _ f: (Double) -> Double) -> Double {
    var lo = lo, hi = hi
    precondition(f(lo) <= 0 && f(hi) >= 0)
    for _ in 0..<200 {
        let mid = (lo + hi) / 2
        if f(mid) < 0 { lo = mid } else { hi = mid }
    }
    return (lo + hi) / 2
}

@Suite struct BaselineMcCallTests {
    // MARK: Classic model

    /// Continuous uniform offers on [a, b]: E[(w - w*)^+] = (b - w*)^2 / (2 (b - a)) for w* in
    /// [a, b], so w* = c + beta / (1 - beta) * (b - w*)^2 / (2 (b - a)). With u = b - w* and
    /// k = beta / (2 (1 - beta) (b - a)): k u^2 + u - (b - c) = 0, u = (sqrt(1 + 4 k (b - c)) - 1) / (2 k).
    @Test func reservationWageMatchesTheUniformClosedForm() {
        let a = 10.0, b = 20.0, c = 12.0, beta = 0.9
        let k = beta / (2 * (1 - beta) * (b - a))
        let u = ((1 + 4 * k * (b - c)).squareRoot() - 1) / (2 * k)
        let closedForm = b - u   // 16.7506...
        #expect(closedForm > a && closedForm < b)
        // Discretise U[a, b] at n midpoints.
        let n = 2000
        let offers = DiscreteDistribution.uniform((0..<n).map { a + (Double($0) + 0.5) * (b - a) / Double(n) })
        let solution = McCallModel(offers: offers, compensation: c, discount: beta).solve()
        #expect(solution.converged)
        #expect(abs(solution.reservationWage - closedForm) < 1e-3, "VI \(solution.reservationWage) vs closed form \(closedForm)")
        // And exactly the fixed point of the discretised equation.
        let discrete = bisect(a, b) { w in
            w - c - beta / (1 - beta) * offers.values.reduce(0) { $0 + max($1 - w, 0) } / Double(n)
        }
        #expect(abs(solution.reservationWage - discrete) < 1e-8)
    }

    @Test func twoPointOffersByHand() {
        // {10, 20} equally likely, c = 0, beta = 0.9: for w* in [10, 20],
        // w* = 9 * 0.5 * (20 - w*), so w* = 90 / 5.5.
        let s = McCallModel(offers: .uniform([10, 20]), compensation: 0, discount: 0.9).solve()
        #expect(abs(s.reservationWage - 90 / 5.5) < 1e-9)
        // beta = 0.5: the candidate in [10, 20] (20/3) is inconsistent; below 10,
        // w* = 0.5 * (10 - w*) + 0.5 * (20 - w*) = 15 - w*, so w* = 7.5: accept anything.
        let t = McCallModel(offers: .uniform([10, 20]), compensation: 0, discount: 0.5).solve()
        #expect(abs(t.reservationWage - 7.5) < 1e-9)
    }

    @Test func valueIterationConvergesToTheBellmanFixedPoint() {
        var g = SeededGenerator(seed: 4)
        for beta in [0.5, 0.9, 0.99] {
            let values = (0..<7).map { _ in 50 * g.nextUnit() }
            let probabilities = (0..<7).map { _ in g.nextUnit() + 0.1 }
            let model = McCallModel(offers: DiscreteDistribution(values: values, probabilities: probabilities),
                                    compensation: 5, discount: beta)
            let s = model.solve(tolerance: 1e-13)
            #expect(s.converged)
            // Geometric convergence: about log(tol) / log(beta) sweeps, not the whole budget.
            #expect(Double(s.iterations) < 2 * log(1e-13) / log(beta) + 50, "beta \(beta): \(s.iterations) sweeps")
            let total = probabilities.reduce(0, +)
            let ev = zip(s.values, probabilities).reduce(0) { $0 + $1.0 * $1.1 / total }
            let h = 5 + beta * ev
            for (v, w) in zip(s.values, values) {
                #expect(abs(v - max(w / (1 - beta), h)) < 1e-9 * max(1, abs(v)))
            }
            // Accept iff w >= w*.
            for (v, w) in zip(s.values, values) where w > s.reservationWage + 1e-9 {
                #expect(v == w / (1 - beta))
            }
        }
    }

    // MARK: Switching adaptation

    @Test func discountedWeightsFollowTheSwitchingTiming() {
        // delay 1.5, beta 0.5: pending = 1 * 1 + 0.5 * 0.5 = 1.25; serving = 2 - 1.25 = 0.75.
        let w = McCallSwitchingPolicy.discountedWeights(discount: 0.5, delay: 1.5)
        #expect(w.pending == 1.25 && w.serving == 0.75)
        let z = McCallSwitchingPolicy.discountedWeights(discount: 0.9, delay: 0)
        #expect(z.pending == 0 && abs(z.serving - 10) < 1e-12)
        // The closed form equals the definition sum_k beta^k clamp(d - k, 0, 1).
        for beta in [0.0, 0.3, 0.9, 0.99] {
            for d in [0.0, 0.2, 1, 1.75, 3, 7.5] {
                var direct = 0.0
                for k in 0..<20 { direct += pow(beta, Double(k)) * min(1, max(0, d - Double(k))) }
                let w = McCallSwitchingPolicy.discountedWeights(discount: beta, delay: d)
                #expect(abs(w.pending - direct) < 1e-12, "beta \(beta) d \(d)")
            }
        }
    }

    @Test func reducesToTheClassicModel() {
        // One offer, no cost or delay, a point-mass current reward c: the implied reservation
        // wage (1 - beta) (R + S) equals the classic w*.
        let beta = 0.9, c = 12.0
        let offers = DiscreteDistribution.uniform((0..<200).map { 10 + (Double($0) + 0.5) * 0.05 })
        let classic = McCallModel(offers: offers, compensation: c, discount: beta).solve()
        var policy = McCallSwitchingPolicy(discount: beta, tolerance: 1e-13)
        let current = McCallHeld(configuration: 0, rewards: .point(c))
        let d = policy.evaluate(current: current, offers: [McCallOffer(configuration: 1, rewards: offers, switchCost: 0)])
        #expect(d.converged)
        let implied = (1 - beta) * (d.reservationValue + c / (1 - beta))
        #expect(abs(implied - classic.reservationWage) < 1e-8, "\(implied) vs \(classic.reservationWage)")
        // The offer's mean (15) is below w* (16.75): keep searching.
        #expect(d.configuration == 0 && d.acceptedOffer == nil)
    }

    @Test func reservationValueMatchesAnIndependentFixedPoint() {
        // Two alternatives with three equally likely rewards each; G' = max of the two gains is
        // enumerated over the 9 joint outcomes, and R = beta E[max(G', R)] solved by bisection.
        let beta = 0.8
        let current = McCallHeld(configuration: 0, rewards: .uniform([9, 10, 11]))
        let offers = [
            McCallOffer(configuration: 1, rewards: .uniform([8, 11, 14]), switchCost: 3, delay: 0.5, pendingReward: 1),
            McCallOffer(configuration: 2, rewards: .uniform([9, 10.5, 13]), switchCost: 1, delay: 2),
        ]
        var policy = McCallSwitchingPolicy(discount: beta, tolerance: 1e-14)
        let d = policy.evaluate(current: current, offers: offers)
        let stay = 10 / (1 - beta)
        func gain(_ o: McCallOffer, _ w: Double) -> Double {
            let wt = McCallSwitchingPolicy.discountedWeights(discount: beta, delay: o.delay)
            return -o.switchCost + o.pendingReward * wt.pending + w * wt.serving - stay
        }
        var outcomes: [Double] = []
        for w1 in offers[0].rewards.values {
            for w2 in offers[1].rewards.values { outcomes.append(max(gain(offers[0], w1), gain(offers[1], w2))) }
        }
        let exact = bisect(-1000, 1000) { r in r - beta * outcomes.reduce(0) { $0 + max($1, r) } / 9 }
        #expect(d.converged && abs(d.reservationValue - exact) < 1e-9, "VI \(d.reservationValue) vs \(exact)")
        // Today's gains at the means; the decision follows the rule.
        let g1 = gain(offers[0], 11), g2 = gain(offers[1], 32.5 / 3)
        #expect(abs(d.bestGain - max(g1, g2)) < 1e-9)
        #expect((d.acceptedOffer != nil) == (d.bestGain > d.reservationValue))
    }

    @Test func neverSwitchesWhenTheCostExceedsTheLargestPossibleGain() {
        var g = SeededGenerator(seed: 12)
        var policy = McCallSwitchingPolicy(discount: 0.95)
        for _ in 0..<200 {
            let w0 = 10 * g.nextUnit()
            let current = McCallHeld(configuration: 7, rewards: .uniform([w0 - 1, w0, w0 + 1]))
            let stay = w0 / (1 - 0.95)
            let offers = (0..<4).map { i -> McCallOffer in
                let values = (0..<5).map { _ in 20 * g.nextUnit() }
                let delay = 3 * g.nextUnit(), pending = g.nextUnit()
                let wt = McCallSwitchingPolicy.discountedWeights(discount: 0.95, delay: delay)
                let maxGainBeforeCost = pending * wt.pending + values.max()! * wt.serving - stay
                return McCallOffer(configuration: i, rewards: .uniform(values),
                                   switchCost: max(0, maxGainBeforeCost) + 0.01, delay: delay, pendingReward: pending)
            }
            let d = policy.evaluate(current: current, offers: offers)
            #expect(d.configuration == 7 && d.acceptedOffer == nil)
            #expect(d.reservationValue == 0 && d.bestGain < 0)
        }
    }

    @Test func switchesToADominatingOffer() {
        // Current earns 10, the offer 20 for sure; cost 5, one interval of delay, beta 0.9:
        // gain = -5 + 20 * (10 - 1) - 100 = 75 and R = 0.9 * 75 = 67.5 < 75.
        var policy = McCallSwitchingPolicy(discount: 0.9)
        let current = McCallHeld(configuration: 0, rewards: .point(10))
        let noisy = McCallOffer(configuration: 1, rewards: .uniform([5, 12, 19]), switchCost: 1)
        let dominating = McCallOffer(configuration: 2, rewards: .point(20), switchCost: 5, delay: 1)
        let d = policy.evaluate(current: current, offers: [noisy, dominating])
        #expect(d.configuration == 2 && d.acceptedOffer == 1)
        #expect(abs(d.bestGain - 75) < 1e-9)
        // A single sure offer: R = beta * gain.
        let single = policy.evaluate(current: current, offers: [dominating])
        #expect(abs(single.reservationValue - 67.5) < 1e-7 && single.configuration == 2)
        #expect(policy.decide(current: current, offers: [dominating]) == 2)
    }

    @Test func delayAndUncertaintyRaiseTheBar() {
        var policy = McCallSwitchingPolicy(discount: 0.9)
        let current = McCallHeld(configuration: 0, rewards: .point(10))
        // 10 % better for sure and instant: gain 10 > R = 9, switch.
        #expect(policy.decide(current: current, offers: [McCallOffer(configuration: 1, rewards: .point(11), switchCost: 0)]) == 1)
        // The same offer after 20 idle intervals loses more than it gains.
        #expect(policy.decide(current: current, offers: [McCallOffer(configuration: 1, rewards: .point(11), switchCost: 0, delay: 20)]) == 0)
        // The same mean with a wide spread: waiting for a good draw is worth more than taking
        // the mean now (gain 10 < R), so the policy holds.
        let spread = McCallOffer(configuration: 1, rewards: .uniform([1, 11, 21]), switchCost: 0)
        let d = policy.evaluate(current: current, offers: [spread])
        #expect(d.configuration == 0 && abs(d.bestGain - 10) < 1e-9 && d.reservationValue > d.bestGain)
        // No offers: stay.
        #expect(policy.decide(current: current, offers: []) == 0)
    }
}
