import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The fluid env's LLM latency follows the device's occupancy (sub-interval queueing): Little's
/// law on the step model, `n = λ · L(n)`, gives the running sequences `n` a device serving `λ`
/// requests/s holds and `L(n)` a request's latency there (``LLMStepModel/latencyLine(prompt:output:)``,
/// ``LLMStepModel/occupancy(rates:bases:slopes:maxBatch:)``). A lightly loaded device answers in
/// about its solo latency; a saturated one in the full batch's cycle.
@Suite struct FluidOccupancyLatencyTests {
    func zoo() throws -> ServingScenario {
        try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
    }

    /// `L(n) = base + perSequence · n` is the full batch's cycle at the max batch and the
    /// request alone at one sequence (no chunking of a prompt within one step).
    @Test func theLatencyLineMeetsTheClosedForms() throws {
        for v in try zoo().variants {
            let m = try #require(v.llm)
            for (p, o) in [(2048.0, 28.0), (700.0, 200.0), (1.0, 1.0), (7000.0, 3.0)] {
                let line = m.latencyLine(prompt: p, output: o)
                let full = m.batchLatency(prompt: p, output: o)
                #expect(line.maxBatch == m.maxBatch(prompt: Int(p), output: Int(o)))
                let atFull = line.base + line.perSequence * Double(line.maxBatch)
                #expect(abs(atFull - full) <= 1e-12 * full, "\(v.name) \(p)/\(o): L(N) \(atFull) != \(full)")
                let solo = m.soloLatency(prompt: Int(p), output: Int(o)).e2e
                if Int(p) <= m.maxBatchedTokens {
                    #expect(abs(line.base + line.perSequence - solo) <= 1e-12 * solo, "\(v.name) \(p)/\(o): L(1) != solo")
                }
                // The rate at saturation is the full batch over its cycle.
                let rate = m.servingRate(prompt: p, output: o)
                #expect(abs(rate - Double(line.maxBatch) / atFull) <= 1e-9 * rate)
            }
        }
    }

    /// The occupancy is Little's fixed point `n = λ · L(n)` between one sequence and the max
    /// batch, the full batch at the saturation rate, one sequence as the rate goes to zero; with
    /// several kinds of request, `n = Σ λ_i · L_i(n)`.
    @Test func theOccupancyIsLittlesFixedPoint() throws {
        let m = try #require(try zoo().variants.first { $0.name == "llama3-70b-fp8" }?.llm)
        let p = 2048.0, o = 28.0
        let line = m.latencyLine(prompt: p, output: o)
        let mu = m.servingRate(prompt: p, output: o)
        var interior = 0
        for u in stride(from: 0.0, through: 1.0, by: 0.05) {
            let (n, L) = m.occupancy(rate: u * mu, prompt: p, output: o)
            #expect(n >= 1 && n <= Double(line.maxBatch))
            #expect(abs(L - (line.base + line.perSequence * n)) <= 1e-12 * L)
            if n > 1 && n < Double(line.maxBatch) {
                interior += 1
                #expect(abs(n - u * mu * L) <= 1e-9 * n, "u \(u): n \(n) != λ·L(n) \(u * mu * L)")
            }
        }
        #expect(interior > 5)
        let full = m.occupancy(rate: mu, prompt: p, output: o)
        #expect(abs(full.running - Double(line.maxBatch)) <= 1e-9 * full.running)
        #expect(abs(full.latency - m.batchLatency(prompt: p, output: o)) <= 1e-9 * full.latency)
        let idle = m.occupancy(rate: 0, prompt: p, output: o)
        #expect(idle.running == 1 && idle.latency == line.base + line.perSequence)
        // Past saturation the batch stays full.
        #expect(m.occupancy(rate: 3 * mu, prompt: p, output: o).running == Double(line.maxBatch))
        // Two kinds of request: the fixed point of the sum.
        let other = m.latencyLine(prompt: 300, output: 150)
        let rates = [0.6, 0.5], bases = [line.base, other.base], slopes = [line.perSequence, other.perSequence]
        let (n, L) = LLMStepModel.occupancy(rates: rates, bases: bases, slopes: slopes, maxBatch: 1000)
        let little = rates[0] * L + rates[1] * (other.base + other.perSequence * n)
        #expect(n > 1 && abs(n - little) <= 1e-9 * n)
    }

    /// One H100 holding the 70B FP8 variant and the zoo's chat stream with a 2.5 s deadline. Its
    /// full batch's cycle at chat's lengths (4.3 s here) is above the deadline, so with one latency
    /// per cohort no chat request it serves would finish in time; at a third of its
    /// capacity it runs a small batch and answers all but its longest answers on time; saturated by
    /// a backlog, the requests it runs at the interval's end (lost when it switches) are its
    /// rate times the full batch's cycle.
    func seventyBChat(perInterval: (Double) -> [Double]) throws -> (ServingModel, Int) {
        var sc = try zoo()
        sc.fleet = [sc.fleet[0]]
        sc.streams = [sc.streams[0]]
        sc.streams[0].share = 1
        sc.episodeIntervals = nil
        sc.targetMeanRate = nil
        let big = sc.variants.firstIndex { $0.name == "llama3-70b-fp8" }!
        sc.initialVariants = [big]
        // A switch to the 8B loads for longer than an interval (it serves nothing there).
        let small = sc.variants.firstIndex { $0.name == "llama3-8b-fp8" }!
        sc.variants[small].loadSecondsDisk = 2 * sc.decisionInterval
        // A deadline the full batch's cycle misses even for a cohort served the moment its
        // sub-bin starts (due half a sub-bin plus the deadline later): 2.5 s.
        sc.streams[0].deadlineMs = 2500
        // The token-level capacity (the latency table's is 0 for chat on a 70B).
        let probe = try ServingModel(scenario: sc, arrivals: ScenarioArrivals(intervals: 1, streams: 1, counts: [1]))
        let counts = perInterval(probe.serviceRate(interval: 0, variant: big, stream: 0))
        let arrivals = ScenarioArrivals(intervals: counts.count, streams: 1, counts: counts)
        return (try ServingModel(scenario: sc, arrivals: arrivals), big)
    }

    @Test func aLightlyLoadedSeventyBAnswersChatOnTime() throws {
        let (model, big) = try seventyBChat { c in [Double](repeating: c / 3, count: 6) }
        let deadline = model.deadlineSeconds[0]
        let delta = model.interval / Double(model.subBins)
        let full = model.serviceLatency[model.rateRow(0) + big]
        #expect(full > 0.5 * delta + deadline, "the premise: the full batch's cycle \(full) s misses every deadline")
        var env = FluidServingEnv(model: model)
        _ = try env.reset(seed: 0)
        var served = 0.0, onTime = 0.0
        for _ in 0..<6 {
            let info = try env.step([big]).info
            served += info.served
            onTime += info.servedOnTime
        }
        #expect(served > 0)
        // Charged at the full batch's cycle (one latency per cohort), none of it would be on
        // time: the latest start that finishes by the deadline is before the sub-bin's start.
        // At a small batch nearly all of it is, except the long answers: each request's
        // latency grows with its own output (``OutputLengthSpread``), and those whose latency
        // alone (one sequence, started the moment their sub-bin starts) passes the cohort's due
        // (half a sub-bin plus the deadline) can never be on time.
        #expect(onTime >= 0.9 * served, "on time \(onTime) of \(served)")
        let chat = try #require(model.tokenWork)
        let llm = try #require(model.scenario.variants[big].llm)
        let plan = TokenPlan(scenario: model.scenario, arrivals: model.arrivals)
        var hopeless = 0
        for j in plan.poolStart[0]..<plan.poolStart[1] {
            let line = llm.latencyLine(prompt: chat.meanPrompt[0], output: Double(plan.poolOut[j]))
            if line.base + line.perSequence > 0.5 * delta + deadline { hopeless += 1 }
        }
        let tail = Double(hopeless) / Double(plan.poolStart[1] - plan.poolStart[0])
        #expect(tail > 0.01, "the premise: chat's pool has long answers (\(tail))")
        #expect(served - onTime >= tail * served * 0.999, "late \(served - onTime) of \(served), the hopeless tail \(tail)")
    }

    @Test func aSaturatedSeventyBRunsTheFullBatch() throws {
        let (model, big) = try seventyBChat { c in [3 * c, 3 * c, 0, 0] }
        let small = model.scenario.variants.firstIndex { $0.name == "llama3-8b-fp8" }!
        let rate = model.serviceRate(interval: 0, variant: big, stream: 0)
        let full = model.serviceLatency[model.rateRow(0) + big]
        var env = FluidServingEnv(model: model)
        _ = try env.reset(seed: 0)
        let first = try env.step([big]).info
        #expect(abs(first.served - rate) <= 1e-9 * rate)
        // Switching away loses what the device runs at the interval's end: its rate per second
        // times the latency it runs at, the full batch's.
        let switched = try env.step([small]).info
        let running = rate / model.interval * full
        #expect(abs(switched.served + running) <= 1e-9 * rate, "lost \(-switched.served), expected \(running)")
        try env.checkInvariants()
    }
}
