import Testing
@testable import SwitchGymEnvs

/// Three variants of one model: large (slow, accurate), medium, small (fast, least accurate);
/// `scale` servers each. Capacity 85 × scale queries/s.
func dispatchTestClasses(scale: Int) -> [ServerClass] {
    [
        ServerClass(serviceRate: 10, accuracy: 0.90, count: scale),
        ServerClass(serviceRate: 25, accuracy: 0.80, count: scale),
        ServerClass(serviceRate: 50, accuracy: 0.65, count: scale),
    ]
}

@Suite("Dispatch: accuracy-constrained latency bound")
struct DispatchBoundTests {
    /// Light load: capacity never binds, so the optimum is the cheapest pair mixed exactly at
    /// a* = 0.76: medium (0.80) and small (0.65) with p = 0.11 / 0.15 on medium, mean service
    /// time p/25 + (1 − p)/50.
    @Test func lightLoadIsBestPair() throws {
        let classes = dispatchTestClasses(scale: 10)
        let s = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 10, accuracyTarget: 0.76).solution)
        let p = 0.11 / 0.15
        #expect(abs(s.meanLatency - (p / 25 + (1 - p) / 50)) < 1e-12)
        #expect(abs(s.fractions[0]) < 1e-12 && abs(s.fractions[1] - p) < 1e-12 && abs(s.fractions[2] - (1 - p)) < 1e-12)
        #expect(abs(s.accuracy - 0.76) < 1e-12)
        #expect(abs(s.classRates[1] - 10 * p) < 1e-9)
        #expect(abs(s.utilization[1] - 10 * p / 250) < 1e-12)
        // A target the fastest class already meets: everything to it.
        let easy = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 10, accuracyTarget: 0.6).solution)
        #expect(abs(easy.meanLatency - 0.02) < 1e-12 && abs(easy.fractions[2] - 1) < 1e-12)
    }

    /// The LP agrees with a brute-force grid over the simplex of fractions.
    @Test(arguments: [(100.0, 0.76), (250.0, 0.74), (350.0, 0.70), (150.0, 0.80), (60.0, 0.85)])
    func matchesGridSearch(lambda: Double, target: Double) throws {
        let classes = dispatchTestClasses(scale: 5)  // capacities 50, 125, 250
        let s = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: lambda, accuracyTarget: target).solution)
        let steps = 800
        var best = Double.infinity
        for i in 0...steps {
            for j in 0...(steps - i) {
                let f = [Double(i) / Double(steps), Double(j) / Double(steps), Double(steps - i - j) / Double(steps)]
                var acc = 0.0, lat = 0.0, ok = true
                for k in 0..<3 {
                    acc += f[k] * classes[k].accuracy
                    lat += f[k] / classes[k].serviceRate
                    if f[k] * lambda > classes[k].capacity + 1e-9 { ok = false }
                }
                if ok && acc >= target - 1e-12 { best = min(best, lat) }
            }
        }
        #expect(s.meanLatency <= best + 1e-12)
        #expect(s.meanLatency >= best - 2e-4)  // grid resolution
        #expect(s.accuracy >= target - 1e-9)
        #expect(abs(s.fractions.reduce(0, +) - 1) < 1e-12)
        for k in 0..<3 { #expect(s.utilization[k] <= 1 + 1e-9) }
    }

    @Test func infeasibleCases() {
        let classes = dispatchTestClasses(scale: 10)  // capacity 850
        // Above every class's accuracy.
        #expect(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 10, accuracyTarget: 0.95)
            == .accuracyUnreachable(maximumAccuracy: 0.9))
        // More traffic than all servers can carry.
        #expect(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 900, accuracyTarget: 0.7)
            == .overloaded(totalCapacity: 850))
        // Reachable at light load, not at 400/s: the accurate classes fill up first.
        let best = (100 * 0.9 + 250 * 0.8 + 50 * 0.65) / 400
        #expect(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 400, accuracyTarget: 0.88)
            == .accuracyUnreachable(maximumAccuracy: best))
        #expect(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 10, accuracyTarget: 0.88).solution != nil)
        // The cap shrinks capacity.
        #expect(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 820, accuracyTarget: 0.6, utilizationCap: 0.9)
            == .overloaded(totalCapacity: 765))
        #expect(RJIQPolicy(classes: classes, arrivalRate: 900, accuracyTarget: 0.7) == nil)
        #expect(POPPolicy(classes: classes, accuracyTarget: 0.95) == nil)
    }

    /// More traffic or a stricter target can only raise the bound.
    @Test func monotone() throws {
        let classes = dispatchTestClasses(scale: 10)
        var previous = 0.0
        for lambda in stride(from: 50.0, through: 550, by: 50) {
            let s = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: lambda, accuracyTarget: 0.76).solution)
            #expect(s.meanLatency >= previous - 1e-12)
            previous = s.meanLatency
        }
        previous = 0
        for target in stride(from: 0.6, through: 0.9, by: 0.02) {
            let s = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: 80, accuracyTarget: target).solution)
            #expect(s.meanLatency >= previous - 1e-12)
            previous = s.meanLatency
        }
    }

    /// POP's pairs: the cheapest is (medium, small) at p = 11/15; singletons appear for classes
    /// meeting the target; pairs only mix a class below the target that is faster.
    @Test func popPairs() throws {
        let pop = try #require(POPPolicy(classes: dispatchTestClasses(scale: 1), accuracyTarget: 0.76))
        let first = pop.pairs[0]
        #expect(first.accurate == 1 && first.fast == 2 && abs(first.probabilityAccurate - 11.0 / 15) < 1e-12)
        #expect(pop.pairs.contains { $0.accurate == 0 && $0.fast == 0 && $0.probabilityAccurate == 1 })
        #expect(pop.pairs.contains { $0.accurate == 1 && $0.fast == 1 })
        #expect(pop.pairs.count == 4)  // (1,2), (1,1), (0,2), (0,0)
        for (a, b) in zip(pop.pairs, pop.pairs.dropFirst()) { #expect(a.meanServiceTime <= b.meanServiceTime) }
    }
}
