import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The fluid env charges an LLM part's on-time share over its requests' output lengths
/// (``OutputLengthSpread``): the mean, over the part's start times, of the share of the stream's
/// pool short enough to finish by the deadline. Checked against brute force on the pool itself.
@Suite struct OutputLengthSpreadTests {
    /// A log-normal pool like `[trace.lengths]` draws (median 60, σ 1.2, clamped to 4,096).
    func pool(count: Int, seed: UInt64) -> [Int32] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Int32(min(4096, max(1, (60 * exp(1.2 * Sample.normal(using: &g))).rounded()))) }
    }

    /// `Z = o / ō` of a pool, for brute force.
    func shape(_ p: [Int32]) -> [Double] {
        let mean = p.reduce(0.0) { $0 + Double($1) } / Double(p.count)
        return p.map { Double($0) / mean }
    }

    /// `G(z) = E[(z − Z)⁺]` from the table agrees with the pool's own, at every scale of `z`.
    @Test func theTableIsThePoolsIntegratedCDF() {
        let p = pool(count: 5000, seed: 7)
        let spread = OutputLengthSpread(outputs: p, start: [0, p.count])
        let z = shape(p)
        let zmax = z.max()!
        #expect(spread.top[0] == zmax)
        spread.table.withUnsafeBufferPointer { t in
            for x in [0.0, 1e-7, 0.01, 0.1, 0.3, 0.5, 0.9, 1, 1.5, 3, 10, zmax / 2, zmax, 2 * zmax] {
                let exact = z.reduce(0.0) { $0 + max(0, x - $1) } / Double(z.count)
                let g = OutputLengthSpread.g(x, table: t.baseAddress!, top: spread.top[0])
                #expect(abs(g - exact) <= 1e-3 * max(0.01, x), "G(\(x)) = \(g), pool \(exact)")
            }
        }
        // At the knots, exactly the pool's (up to rounding).
        for j in [0, 100, 400, 600] where j < spread.table.count - 1 {
            let x = Double(bitPattern: UInt64(OutputLengthSpread.lowestKey + j) << OutputLengthSpread.shift)
            let exact = z.reduce(0.0) { $0 + max(0, x - $1) } / Double(z.count)
            #expect(abs(spread.table[j] - exact) <= 1e-12 * max(1, x), "knot \(j) at \(x)")
        }
    }

    /// The share of a part equals the pool's on-time fraction averaged over evenly spread
    /// start times (10,001 of them), for parts on time, late, and straddling the deadline.
    @Test(arguments: [(3.0, 2.0), (1.2, 0.4), (0.8, -0.5), (0.2, 0.1), (40.0, 1.0), (-0.1, -2.0)])
    func theShareIsTheMeanOnTimeFractionOverTheStarts(high: Double, low: Double) {
        let p = pool(count: 4000, seed: 11)
        let spread = OutputLengthSpread(outputs: p, start: [0, p.count])
        let z = shape(p).sorted()
        func cdf(_ x: Double) -> Double {
            var lo = 0, hi = z.count
            while lo < hi { let mid = (lo + hi) / 2; if z[mid] <= x { lo = mid + 1 } else { hi = mid } }
            return Double(lo) / Double(z.count)
        }
        let n = 10_000
        var brute = 0.0
        for i in 0...n { brute += cdf(low + (high - low) * Double(i) / Double(n)) }
        brute /= Double(n + 1)
        let share = spread.share(stream: 0, high: high, low: low)
        #expect(abs(share - brute) <= 5e-3, "share \(share), brute force \(brute) over [\(low), \(high)]")
        #expect(share >= 0 && share <= 1)
    }

    /// A stream whose requests all have one length gets the mean rule: the starts before the
    /// latest on-time start are on time, the others late (what the step charged before).
    @Test func aSingleLengthGivesTheMeanRule() {
        let spread = OutputLengthSpread(outputs: [Int32](repeating: 28, count: 50), start: [0, 50])
        for (high, low) in [(3.0, 2.0), (1.5, 0.5), (1.2, 0.2), (0.9, -1.0)] {
            let rule = min(max((high - 1) / (high - low), 0), 1)
            #expect(abs(spread.share(stream: 0, high: high, low: low) - rule) <= 1e-12)
        }
    }

    /// Non-finite slack (an extreme but accepted step model) never reads outside the table:
    /// infinitely early starts are on time, NaN ones late, and a spread that would overflow is 0
    /// (the mean rule).
    @Test func nonFiniteSlackStaysInTheTable() {
        let p = pool(count: 500, seed: 5)
        let spread = OutputLengthSpread(outputs: p, start: [0, p.count])
        #expect(spread.share(stream: 0, high: .infinity, low: 0.5) == 1)
        #expect(spread.share(stream: 0, high: 0.5, low: -.infinity) == 0)
        #expect(spread.share(stream: 0, high: .nan, low: 0.5) == 0)
        #expect(spread.share(stream: 0, high: 2, low: .nan) == 0)
        spread.table.withUnsafeBufferPointer { t in
            #expect(OutputLengthSpread.g(.nan, table: t.baseAddress!, top: spread.top[0]) == 0)
        }
        // L − B subnormal: (ō − 1) / (ō·(L − B)) overflows to infinity without the guard.
        let b0 = 1e-300 * (1 - 0x1p-40)
        #expect((1e-300 - b0) > 0 && 1 / (2 * (1e-300 - b0)) == .infinity, "the premise")
        #expect(OutputLengthSpread.spread(latency: 1e-300, first: b0, meanOutput: 2, stepBase: b0) == 0)
    }

    /// Streams keep their own pools: a stream of short answers is on time where one of long
    /// answers is not, at the same slack over their means.
    @Test func eachStreamHasItsOwnSpread() {
        let p = pool(count: 2000, seed: 3) + [Int32](repeating: 100, count: 10)
        let spread = OutputLengthSpread(outputs: p, start: [0, 2000, 2010])
        // Half the mean's latency of slack: the spread stream has its short requests on time,
        // the single-length one none.
        let wide = spread.share(stream: 0, high: 0.5, low: 0.5)
        let narrow = spread.share(stream: 1, high: 0.5, low: 0.5)
        let z = shape(Array(p[0..<2000]))
        let exact = Double(z.filter { $0 <= 0.5 }.count) / Double(z.count)
        #expect(abs(wide - exact) <= 0.01, "\(wide) against the pool's \(exact)")
        #expect(exact > 0.3)
        #expect(narrow == 0)
    }

    /// The latency the spread implies for a request of `o` output tokens, `B + (L − B)·(o − 1)/(ō − 1)`,
    /// is the step model's own line at one sequence (the solo latency, a line in `o`) for every
    /// `o`, and at any occupancy its mean over the lengths is `L`, the latency at the mean.
    @Test func theImpliedLatencyIsTheStepModelsLine() throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        for variant in sc.variants {
            let m = try #require(variant.llm)
            let p = 1800.0, mean = 40.0
            let line = m.latencyLine(prompt: p, output: mean)
            for n in [1.0, 7.5, Double(line.maxBatch)] {
                let L = line.base + line.perSequence * n
                let first = OutputLengthSpread.firstStep(perSequence: line.perSequence, running: n, meanOutput: mean,
                                                         stepBase: m.stepBaseUs * 1e-6, stepPerSequence: m.decodeUsPerToken * 1e-6)
                let c = OutputLengthSpread.spread(latency: L, first: first, meanOutput: mean, stepBase: m.stepBaseUs * 1e-6)
                #expect(c > 0)
                // Per further output token A, so that z = o/ō is on time for 1 + slack·c.
                let A = 1 / (c * mean), B = L - A * (mean - 1)
                func implied(_ o: Double) -> Double { B + A * (o - 1) }
                #expect(abs(implied(mean) - L) <= 1e-12 * L)
                #expect(B > 0 && A > 0 && abs(B - first) <= 1e-9 * L)
                if n == 1 {
                    for o in [1.0, 5, 40, 300] {
                        let solo = m.latencyLine(prompt: p, output: o)
                        let own = solo.base + solo.perSequence
                        #expect(abs(implied(o) - own) <= 1e-9 * own, "\(variant.name) o \(o)")
                    }
                }
            }
        }
        // A fixed-cost variant keeps its one latency.
        #expect(OutputLengthSpread.spread(latency: 0.2, first: 0, meanOutput: 1, stepBase: 0) == 0)
    }
}

/// First-token deadlines in the fluid step (`ttft_deadline_ms`, ``ServingModel/ttftLead``): an
/// LLM request is on time only if its first token, one step `B` after its start, is in time too;
/// one finishing in time with a late first token costs one interval's increment.
@Suite struct FluidFirstTokenDeadlineTests {
    func run(ttft: Double?) throws -> [ServingStepInfo] {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        sc.episodeIntervals = 60
        sc.streams[0].ttftDeadlineMs = ttft
        let model = try ServingModel(scenario: sc, arrivals: try sc.loadArrivals())
        var env = FluidServingEnv(model: model, seed: 1)
        _ = try env.reset(seed: 1)
        let hold = model.initialVariants
        return try (0..<60).map { _ in try env.step(hold).info }
    }

    /// A first-token deadline far beyond every start changes nothing, bit for bit; one below a
    /// single step (20 ms: the 8B's step with a chat prompt alone is about 32 ms, the 70B's
    /// 270 ms) makes every chat request late, charging each one at least an increment, and
    /// never changes what is served.
    @Test func aFirstTokenDeadlineBelowOneStepMissesEveryRequest() throws {
        let none = try run(ttft: nil), far = try run(ttft: 5_000_000), tight = try run(ttft: 20)
        #expect(none == far)
        let onTime = { (x: [ServingStepInfo]) in x.reduce(0) { $0 + $1.servedOnTime } }
        let late = { (x: [ServingStepInfo]) in x.reduce(0) { $0 + $1.latenessPenalty } }
        for (a, b) in zip(none, tight) { #expect(b.servedOnTime <= a.servedOnTime + 1e-9 * max(1, a.servedOnTime)) }
        #expect(zip(none, tight).allSatisfy { abs($0.served - $1.served) <= 1e-9 * max(1, $0.served) })
        // Chat is 60% of llm-zoo's requests: what stays on time is the batch stream's at most.
        #expect(onTime(tight) < 0.5 * onTime(none), "on time \(onTime(tight)) against \(onTime(none))")
        // Each chat request on time before is now charged at least chat's one-interval increment (1).
        #expect(late(tight) - late(none) >= 0.999 * (onTime(none) - onTime(tight)), "lateness \(late(tight)) against \(late(none))")
    }
}
