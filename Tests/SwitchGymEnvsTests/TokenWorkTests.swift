import Foundation
import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

/// The fluid env's LLM costs come from the step model at each interval's token work
/// (``TokenWork``), the cost model of the discrete-event fidelity; fixed-cost variants keep
/// their latency tables.
@Suite struct TokenWorkTests {
    /// Lengths fitted to the Azure LLM 2023 code trace (llm-zoo's `[trace.lengths]`).
    static let code = TokenLengthDistribution(promptMedian: 1469, promptSigma: 0.815, outputMedian: 13, outputSigma: 1.236)
    /// llm-zoo's llama3-8b-fp8 on an H100 (its `[variants.llm]`; 20 GB of KV cache).
    static let llama8B = TokenFixtures.model(b0: 3593.2, b1: 16.97, b2: 6.0, kvBlocks: 9536, chunked: true)

    /// `n` arrival times (µs) spread unevenly over `intervals` intervals of `interval` seconds.
    static func times(_ n: Int, intervals: Int, interval: Double, seed: UInt64) -> [Int64] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in
            let u = g.nextUnit()
            return Int64(u * u * Double(intervals) * interval * 1e6)
        }.sorted()
    }

    /// Every request the discrete-event fidelity serves, binned by the interval it arrived in:
    /// its mean prompt and output tokens there equal the fluid env's, and the fluid rate is the
    /// step model's closed form at them (with lengths drawn from the spec's distribution, and
    /// with the trace's own token columns).
    @Test(arguments: [false, true])
    func fluidRateIsTheStepModelAtTheIntervalsTokenMix(traceTokens: Bool) throws {
        let m = Self.llama8B
        let sc = TokenFixtures.scenario(m, devices: 4, interval: 10, lengths: Self.code)
        let n = 900
        var arrivals = TokenFixtures.at(Self.times(n, intervals: 3, interval: 10, seed: 11), interval: 10, intervals: 6)
        if traceTokens {
            let (p, o) = Self.code.draw(n, seed: 99)
            arrivals.tokensIn = p; arrivals.tokensOut = o
        }
        let model = try ServingModel(scenario: sc, arrivals: arrivals)
        #expect(model.isTokenLevel)
        var des = try TokenFixtures.env(sc, arrivals)
        var prompt = [Double](repeating: 0, count: 6), output = prompt, count = prompt
        for _ in 0..<6 {
            _ = des.step(assignment: [0, 0, 0, 0])
            for r in des.tokenLog {
                let k = Int(r.arrival / 10)
                prompt[k] += Double(r.promptTokens); output[k] += Double(r.outputTokens); count[k] += 1
            }
        }
        #expect(count.reduce(0, +) == Double(n), "every request served once")
        var rates: [Double] = []
        for t in 0..<3 {
            try #require(count[t] > 0)
            let p = prompt[t] / count[t], o = output[t] / count[t]
            let mean = try #require(model.meanTokens(interval: t, stream: 0))
            #expect(abs(mean.prompt - p) <= 1e-9 * p && abs(mean.output - o) <= 1e-9 * o, "interval \(t): \(mean) vs DES \(p), \(o)")
            // The interval's token work: the DES's prefill and decode tokens, in total.
            let work = try #require(model.tokenWork), queries = model.arrivals(interval: t, stream: 0)
            #expect(queries == count[t])
            #expect(abs(work.prefillTokens(interval: t, stream: 0, queries: queries) - prompt[t]) <= 1e-9 * prompt[t])
            #expect(abs(work.decodeTokens(interval: t, stream: 0, queries: queries) - output[t]) <= 1e-9 * output[t])
            let closed = m.requestsPerSecond(prompt: p, output: o) * 10
            let rate = model.serviceRate(interval: t, variant: 0, stream: 0)
            #expect(abs(rate - closed) <= 1e-9 * closed, "interval \(t): fluid \(rate) vs closed form \(closed)")
            rates.append(rate)
        }
        // The mix, and so the rate, differs from interval to interval.
        #expect(Set(rates).count == 3)
    }

    /// The example: Mooncake-like requests (prompts 6x, outputs 8x the code trace's) at
    /// the same request rate get a much lower fluid capacity, where the latency table gave both
    /// the same, and a lower fluid utility on the same decisions.
    @Test func longPromptsGetLowerFluidCapacityThanTheCodeTrace() throws {
        var long = Self.code
        long.promptMedian *= 6; long.outputMedian *= 8
        var capacity: [Double] = [], table: [Double] = [], utility: [Double] = []
        for lengths in [Self.code, long] {
            let sc = TokenFixtures.scenario(Self.llama8B, devices: 2, deadlineMs: 5000, interval: 30, dropAfter: 2, lengths: lengths)
            let model = try ServingModel(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 8 * 30, intervals: 20))
            capacity.append(model.capacity(variant: 0, stream: 0))
            table.append(sc.capacityPerInterval(variant: 0, stream: 0))
            var env = FluidServingEnv(model: model)
            env.resetState(seed: 0)
            var total = 0.0
            for _ in 0..<20 { total += try env.step([0, 0]).reward }
            utility.append(total)
        }
        #expect(table[0] == table[1])
        #expect(capacity[1] < capacity[0] / 4, "fluid capacity long \(capacity[1]) vs code \(capacity[0]) per interval")
        #expect(utility[1] < utility[0] - 100, "fluid utility long \(utility[1]) vs code \(utility[0])")
    }

    /// A backlog of requests with the code trace's mixed lengths: the discrete-event
    /// fidelity's throughput and the fluid env's, on the same decisions, agree within a few
    /// percent.
    @Test func desSaturationThroughputMatchesTheFluidCapacity() throws {
        let m = Self.llama8B
        var sc = TokenFixtures.scenario(m, devices: 2, interval: 10, lengths: Self.code)
        sc.variants.insert(ModelVariant(name: "idle", accuracy: 0.8, batchSizes: [1], latencyMs: [100], memoryGB: 20, loadSecondsDisk: 1,
                                        loadSecondsRAM: 0.5, costPerSecond: 1, llm: m), at: 0)
        let model0 = try ServingModel(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 1, intervals: 1))
        let perInterval = 2 * 2 * model0.capacity(variant: 1, stream: 0)
        let arrivals = DESFixtures.constant(sc, perInterval: perInterval, intervals: 6)
        let model = try ServingModel(scenario: sc, arrivals: arrivals)
        var des = DiscreteEventServingEnv(model: try DiscreteEventModel(serving: model, config: DiscreteEventConfig(recordBatches: false)))
        des.resetState(seed: 7)
        var fluid = FluidServingEnv(model: model)
        fluid.resetState(seed: 7)
        var desServed = 0.0, fluidServed = 0.0
        for t in 0..<6 {
            _ = des.step(assignment: [1, 1])   // the first interval loads for 1 s while the queue builds
            let f = try fluid.step([1, 1])
            if t > 0 { desServed += Double(des.last.served); fluidServed += f.info.served }
        }
        #expect(des.last.queued > 100, "the fleet should stay saturated")
        let gap = (fluidServed - desServed) / desServed
        print(String(format: "backlog: fluid served %.1f, discrete-event %.0f (gap %+.2f%%)", fluidServed, desServed, 100 * gap))
        #expect(abs(gap) < 0.04, "fluid served \(fluidServed) vs discrete-event \(desServed) (gap \(gap))")
        #expect(abs(fluidServed - 5 * 2 * model.capacity(variant: 1, stream: 0)) < 1e-6 * fluidServed)
    }

    /// Fixed-cost scenarios keep the latency tables: one row of rates, equal to the tables
    /// bit for bit in every interval.
    @Test(arguments: ["vision-zoo", "vision-functions"])
    func fixedCostScenariosServeAtTheirLatencyTables(name: String) throws {
        let path = ScenarioFixtures.packageRoot + "/envs/\(name).toml"
        // vision-functions' trace is imported (`Scripts/azure_experiments.sh`), not shipped.
        guard ScenarioFixtures.shippedSpecs.contains(path) else { return }
        let sc = try ScenarioSpec.load(path: path)
        let model = try ServingModel(scenario: sc, arrivals: try sc.loadArrivals())
        #expect(!model.isTokenLevel && model.rateStride == 0 && model.serviceRates.count == sc.variants.count * sc.streams.count)
        for t in [0, model.intervalCount / 2, model.intervalCount - 1] {
            for v in sc.variants.indices {
                for s in sc.streams.indices {
                    #expect(model.serviceRate(interval: t, variant: v, stream: s) == sc.capacityPerInterval(variant: v, stream: s))
                    #expect(model.capacity(variant: v, stream: s) == sc.capacityPerInterval(variant: v, stream: s))
                }
            }
        }
    }

    /// In a token-level model the fixed-cost variants still serve at their tables: with
    /// llm-zoo's step model removed from two variants, holding only those gives exactly the
    /// rewards of the model with no step model at all (in both queueing modes).
    @Test(arguments: [FluidQueueing.interval, .subinterval])
    func fixedCostVariantsOfATokenLevelModelKeepTheirTables(queueing: FluidQueueing) throws {
        let zoo = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        var mixed = zoo, tables = zoo
        for v in [0, 2] { mixed.variants[v].llm = nil }
        for v in zoo.variants.indices { tables.variants[v].llm = nil }
        let arrivals = try zoo.loadArrivals()
        let a = try ServingModel(scenario: mixed, arrivals: arrivals, queueing: queueing)
        let b = try ServingModel(scenario: tables, arrivals: arrivals, queueing: queueing)
        #expect(a.isTokenLevel && !b.isTokenLevel)
        #expect(a.serviceRate(interval: 3, variant: 1, stream: 0) != b.serviceRate(interval: 3, variant: 1, stream: 0))
        var x = FluidServingEnv(model: a), y = FluidServingEnv(model: b)
        x.resetState(seed: 1); y.resetState(seed: 1)
        let plan = [[0, 0, 2, 2], [0, 2, 2, 2], [2, 2, 0, 0], [0, 0, 0, 2]]
        for t in 0..<a.episodeLength {
            let rx = try x.step(plan[(t / 15) % plan.count]), ry = try y.step(plan[(t / 15) % plan.count])
            #expect(rx.reward == ry.reward, "interval \(t)")
        }
        #expect(x.totals.served > 0)
    }
}
