import Foundation
import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

/// Small token-level scenarios: one LLM variant with a hand-set step model.
enum TokenFixtures {
    static func model(b0: Double = 5000, b1: Double = 20, b2: Double = 10, kvBlocks: Int = 100_000, blockTokens: Int = 16,
                      maxRunning: Int = 256, maxTokens: Int = 8192, chunked: Bool = false, wake: Double? = nil) -> LLMStepModel {
        LLMStepModel(stepBaseUs: b0, prefillUsPerToken: b1, decodeUsPerToken: b2, weightsGB: 10, kvBytesPerToken: 131_072,
                     kvBlockTokens: blockTokens, kvBlocks: kvBlocks, maxRunning: maxRunning, maxBatchedTokens: maxTokens,
                     chunkedPrefill: chunked, wakeSeconds: wake)
    }

    static func constant(prompt: Int, output: Int) -> TokenLengthDistribution {
        TokenLengthDistribution(promptMedian: Double(prompt), promptSigma: 0, outputMedian: Double(output), outputSigma: 0)
    }

    static func scenario(_ m: LLMStepModel, devices: Int = 1, deadlineMs: Double = 1_000_000, ttftMs: Double? = nil,
                         interval: Double = 10, dropAfter: Int = 100, lengths: TokenLengthDistribution?) -> ServingScenario {
        let v = ModelVariant(name: "llm", accuracy: 0.8, batchSizes: [1], latencyMs: [100], memoryGB: 20, loadSecondsDisk: 1,
                             loadSecondsRAM: 0.5, costPerSecond: 1, llm: m)
        let st = SLOStream(name: "s", deadlineMs: deadlineMs, penalty: .stepwise(amount: 1), dropAfterIntervals: dropAfter,
                           dropPenalty: 1, ttftDeadlineMs: ttftMs)
        let fleet = (0..<devices).map { Device(name: "g\($0)", memoryGB: 40, hostRAMGB: 100) }
        return ServingScenario(name: "tok-test", variants: [v], fleet: fleet, streams: [st], decisionInterval: interval,
                               weights: ServingRewardWeights(served: 1, accuracy: 0, cost: 0, slo: 1),
                               initialVariants: [Int](repeating: 0, count: devices), tokenLengths: lengths)
    }

    static func env(_ sc: ServingScenario, _ arrivals: ScenarioArrivals, record: Bool = true) throws -> DiscreteEventServingEnv {
        let m = try DiscreteEventModel(scenario: sc, arrivals: arrivals, config: DiscreteEventConfig(recordBatches: record))
        var e = DiscreteEventServingEnv(model: m)
        e.resetState(seed: 7)
        return e
    }

    /// Arrivals at the given times (µs), kept as they are (thinning at scale 1).
    static func at(_ times: [Int64], interval: Double = 10, intervals: Int = 1) -> ScenarioArrivals {
        ScenarioArrivals(arrivalTimes: times, duration: Int64(Double(intervals) * interval * 1e6), interval: interval,
                         rateScale: 1, shares: [1])
    }
}

struct TokenLevelTests {
    // MARK: - Closed forms

    @Test(arguments: [false, true])
    func aSingleRequestTakesTheClosedFormLatency(chunked: Bool) throws {
        let m = TokenFixtures.model(maxTokens: chunked ? 256 : 8192, chunked: chunked)
        let sc = TokenFixtures.scenario(m, lengths: TokenFixtures.constant(prompt: 1000, output: 50))
        var env = try TokenFixtures.env(sc, TokenFixtures.at([500_000]))
        _ = env.step(assignment: [0])
        let log = env.tokenLog
        try #require(log.count == 1)
        let (ttft, e2e) = m.soloLatency(prompt: 1000, output: 50)
        #expect(abs(log[0].ttft - ttft) < 1e-9, "TTFT \(log[0].ttft) vs \(ttft)")
        #expect(abs(log[0].e2e - e2e) < 1e-9, "E2E \(log[0].e2e) vs \(e2e)")
        // 4 chunks of 256 when chunked: 4 b0 + 1000 b1; one step otherwise.
        let expectTTFT = ((chunked ? 4.0 : 1.0) * 5000 + 1000 * 20) * 1e-6
        #expect(abs(ttft - expectTTFT) < 1e-12)
        #expect(abs(e2e - (expectTTFT + 49 * 5010e-6)) < 1e-12)
    }

    @Test func theStepModelCapacityIsTheCycleOfAFullBatch() {
        let m = TokenFixtures.model(maxRunning: 8, maxTokens: 2048)
        #expect(m.maxBatch(prompt: 200, output: 20) == 8)
        let cycle = (5000 + 20 * 1600.0) * 1e-6 + 19 * (5000 + 10 * 8.0) * 1e-6
        #expect(abs(m.requestsPerSecond(prompt: 200, output: 20) - 8 / cycle) < 1e-9)
        // KV-limited: 14 blocks per request (220 tokens), 100 blocks hold 7.
        #expect(TokenFixtures.model(kvBlocks: 100, maxRunning: 8).maxBatch(prompt: 200, output: 20) == 7)
        // Prompt-limited without chunking: 2 prompts of 900 per 2048-token step.
        #expect(TokenFixtures.model(maxTokens: 2048).maxBatch(prompt: 900, output: 20) == 2)
        #expect(LLMStepModel.blocks(kvGB: 20, kvBytesPerToken: 131_072, kvBlockTokens: 16) == 9536)
    }

    /// The engine's KV block count, `ceil(tokens / block)`, by a shift for a power-of-two block
    /// and a division otherwise (``DiscreteEventEngine/blocksFor(_:_:)``).
    @Test(arguments: [1, 3, 16, 17, 32])
    func blocksAreTheCeilingOfTokensOverTheBlockSize(block: Int) throws {
        let m = TokenFixtures.model(blockTokens: block)
        let sc = TokenFixtures.scenario(m, lengths: TokenFixtures.constant(prompt: 100, output: 10))
        let model = try DiscreteEventModel(scenario: sc, arrivals: TokenFixtures.at([500_000]), config: DiscreteEventConfig())
        let engine = DiscreteEventEngine(model: model)
        defer { engine.free() }
        for tokens in Int32(0)...Int32(2_000) {
            #expect(engine.blocksFor(tokens, 0) == (tokens + Int32(block) - 1) / Int32(block), "\(tokens) tokens, block \(block)")
        }
        #expect(engine.blocksFor(Int32.max - Int32(block), 0) == Int32((Int(Int32.max) - block + block - 1) / block))
    }

    // MARK: - Queueing

    /// One sequence at a time (max_running 1) makes the engine an FCFS server with a
    /// deterministic service time: the mean response time is M/D/1's `S + ρS / (2(1 − ρ))`.
    @Test(arguments: [0.3, 0.6])
    func oneSequenceAtATimeMatchesMD1(rho: Double) throws {
        let m = TokenFixtures.model(b0: 1000, b1: 10, b2: 0, maxRunning: 1)
        let sc = TokenFixtures.scenario(m, interval: 100, lengths: TokenFixtures.constant(prompt: 100, output: 99))
        let service = m.soloLatency(prompt: 100, output: 99).e2e  // 2 ms + 98 ms
        #expect(abs(service - 0.1) < 1e-12)
        let lambda = rho / service
        var env = try TokenFixtures.env(sc, DESFixtures.constant(sc, perInterval: lambda * 100, intervals: 200))
        var sum = 0.0, n = 0
        for _ in 0..<200 {
            _ = env.step(assignment: [0])
            for r in env.tokenLog { sum += r.e2e; n += 1 }
        }
        let expected = service + rho * service / (2 * (1 - rho))
        let mean = sum / Double(n)
        #expect(n > Int(lambda * 20_000 * 0.9))
        #expect(abs(mean - expected) / expected < 0.08, "mean response \(mean) s vs M/D/1 \(expected) s at rho \(rho)")
    }

    /// A backlog of identical requests: the device starts after a load, admits a full batch of 8
    /// prompts in one prefill step, decodes them together to completion, and repeats.
    @Test func saturationThroughputIsTheStepModelCapacity() throws {
        let m = TokenFixtures.model(maxRunning: 8, maxTokens: 2048)
        let cap = m.requestsPerSecond(prompt: 200, output: 20)
        var sc = TokenFixtures.scenario(m, interval: 10, lengths: TokenFixtures.constant(prompt: 200, output: 20))
        sc.variants.insert(ModelVariant(name: "idle", accuracy: 0.8, batchSizes: [1], latencyMs: [100], memoryGB: 20, loadSecondsDisk: 1,
                                        loadSecondsRAM: 0.5, costPerSecond: 1, llm: m), at: 0)
        var env = try TokenFixtures.env(sc, DESFixtures.constant(sc, perInterval: 2 * cap * 10, intervals: 6), record: false)
        _ = env.step(assignment: [1])   // loads for 1 s while the queue builds
        var served = 0
        for _ in 0..<5 { _ = env.step(assignment: [1]); served += env.last.served }
        #expect(env.last.dropped == 0 && env.last.queued > 1000)
        let rate = Double(served) / 50
        #expect(abs(rate - cap) / cap < 0.01, "served \(rate) req/s vs capacity \(cap)")
    }

    // MARK: - KV cache

    /// Two sequences of 32 prompt tokens in 10 blocks of 16: after their prefills each holds 33
    /// tokens (3 blocks); decode step j brings each to 33 + j tokens, so step 48 (81 tokens,
    /// 6 blocks each) is the first that does not fit and preempts the newer one.
    @Test func kvExhaustionPreemptsExactlyWhenTheBlocksRunOut() throws {
        let m = TokenFixtures.model(kvBlocks: 10, maxRunning: 8, maxTokens: 4096)
        let sc = TokenFixtures.scenario(m, lengths: TokenFixtures.constant(prompt: 32, output: 100))
        var env = try TokenFixtures.env(sc, TokenFixtures.at([0, 1]))
        _ = env.step(assignment: [0])
        let prefill = (5000 + 32 * 20.0) * 1e-6, decode2 = (5000 + 2 * 10.0) * 1e-6
        let expected = 2 * prefill + 47 * decode2
        #expect(abs(env.lastPreemptionTime - expected) < 1e-9, "preempted at \(env.lastPreemptionTime) s, expected \(expected) s")
        #expect(env.last.preemptions == 1)
        let log = env.tokenLog.sorted { $0.arrival < $1.arrival }
        try #require(log.count == 2)
        #expect(log[0].preemptions == 0 && log[1].preemptions == 1)
        // The newer one finishes after the older, recomputing its 80 tokens.
        #expect(log[1].e2e > log[0].e2e)
        #expect(env.invariantViolation() == nil)
    }

    @Test func requestsThatCanNeverFitAreRejected() throws {
        let m = TokenFixtures.model(kvBlocks: 10)
        let sc = TokenFixtures.scenario(m, lengths: TokenFixtures.constant(prompt: 150, output: 20))  // 11 blocks
        var env = try TokenFixtures.env(sc, TokenFixtures.at([0, 1000, 2000]))
        _ = env.step(assignment: [0])
        #expect(env.last.rejected == 3 && env.last.dropped == 3 && env.last.served == 0)
    }

    // MARK: - Deadlines

    @Test func aLateFirstTokenIsNotOnTime() throws {
        let m = TokenFixtures.model()
        let lengths = TokenFixtures.constant(prompt: 1000, output: 10)
        let (ttft, _) = m.soloLatency(prompt: 1000, output: 10)  // 25 ms
        for (limit, onTime) in [(ttft * 1000 + 1, 1), (ttft * 1000 - 1, 0)] {
            let sc = TokenFixtures.scenario(m, ttftMs: limit, lengths: lengths)
            var env = try TokenFixtures.env(sc, TokenFixtures.at([0]))
            _ = env.step(assignment: [0])
            #expect(env.last.served == 1 && env.last.servedOnTime == onTime, "TTFT limit \(limit) ms")
        }
    }

    // MARK: - Workloads

    /// Mooncake-like requests (prompts 6x, outputs 8x the code trace's) at the same request
    /// rate cost visibly more: longer latency, lower utility.
    @Test func longPromptsCostMoreThanCodeRequestsAtTheSameRate() throws {
        let m = TokenFixtures.model(b0: 5752.7, b1: 17.25, b2: 6.0, kvBlocks: 29_205, chunked: true)
        let code = TokenLengthDistribution(promptMedian: 1469, promptSigma: 0.815, outputMedian: 13, outputSigma: 1.236)
        var long = code
        long.promptMedian *= 6; long.outputMedian *= 8
        var results: [(Double, Double)] = []
        for lengths in [code, long] {
            let sc = TokenFixtures.scenario(m, devices: 2, deadlineMs: 5000, interval: 30, dropAfter: 2, lengths: lengths)
            var env = try TokenFixtures.env(sc, DESFixtures.constant(sc, perInterval: 8 * 30, intervals: 20), record: false)
            var reward = 0.0
            for _ in 0..<20 { reward += env.step(assignment: [0, 0]).reward }
            results.append((reward, env.episodeMetrics().latencyP50Ms))
        }
        #expect(results[1].1 > 3 * results[0].1, "p50 \(results[1].1) ms vs \(results[0].1) ms")
        #expect(results[1].0 < results[0].0 - 100, "reward \(results[1].0) vs \(results[0].0)")
    }

    // MARK: - Engine properties

    @Test func tokenLevelRunsAreReproducibleFromTheSeed() throws {
        let m = TokenFixtures.model(kvBlocks: 2000, maxRunning: 32, chunked: true)
        let sc = TokenFixtures.scenario(m, devices: 2, deadlineMs: 3000, interval: 10, dropAfter: 2,
                                        lengths: TokenLengthDistribution(promptMedian: 1500, promptSigma: 0.8, outputMedian: 40, outputSigma: 1))
        let arrivals = DESFixtures.constant(sc, perInterval: 150, intervals: 10)
        func run(_ seed: UInt64) throws -> DiscreteEventMetrics {
            var env = try TokenFixtures.env(sc, arrivals, record: false)
            env.resetState(seed: seed)
            for _ in 0..<10 { _ = env.step(assignment: [0, 0]) }
            #expect(env.invariantViolation() == nil)
            return env.episodeMetrics()
        }
        let a = try run(3), b = try run(3), c = try run(4)
        #expect(a == b)
        #expect(a != c)
        #expect(a.served > 1000 && a.preemptions > 0)
    }

    @Test func tokenLevelStepsDoNotAllocate() throws {
        guard AllocationCounter.isSupported else { return }
        let m = TokenFixtures.model(kvBlocks: 5000, maxRunning: 64, chunked: true)
        let sc = TokenFixtures.scenario(m, devices: 4, deadlineMs: 5000, interval: 10, dropAfter: 2,
                                        lengths: TokenLengthDistribution(promptMedian: 1469, promptSigma: 0.815, outputMedian: 13, outputSigma: 1.236))
        var env = try TokenFixtures.env(sc, DESFixtures.constant(sc, perInterval: 200, intervals: 200), record: false)
        let a = [0, 0, 0, 0]
        for _ in 0..<50 { _ = env.step(assignment: a) }
        var served = 0
        let count = AllocationCounter.count {
            for _ in 0..<50 { _ = env.step(assignment: a); served += env.last.served }
        }
        #expect(served > 5000)
        #expect(count == 0, "\(count ?? -1) allocations in 50 token-level steps")
    }

    @Test func aSwitchRequeuesTheRequestsInFlightAndWakesFromHostRAM() throws {
        var m = TokenFixtures.model(wake: 0.05)
        let lengths = TokenFixtures.constant(prompt: 500, output: 200)
        var sc = TokenFixtures.scenario(m, interval: 10, lengths: lengths)
        m.wakeSeconds = nil
        sc.variants.append(ModelVariant(name: "other", accuracy: 0.8, batchSizes: [1], latencyMs: [100], memoryGB: 20,
                                        loadSecondsDisk: 1, loadSecondsRAM: 0.5, costPerSecond: 1, llm: m))
        var env = try TokenFixtures.env(sc, DESFixtures.constant(sc, perInterval: 100, intervals: 4), record: false)
        _ = env.step(assignment: [0])
        _ = env.step(assignment: [1])   // from disk: 1 s
        #expect(env.last.loadsFromDisk == 1)
        _ = env.step(assignment: [0])   // back from host RAM through the wake path: 0.05 s
        #expect(env.last.loadsFromRAM == 1)
        #expect(env.invariantViolation() == nil)
        #expect(env.totals.arrived == env.totals.served + env.totals.dropped + env.last.queued)
    }

    // MARK: - Specs

    @Test func theLLMSpecsAreTokenLevel() throws {
        for name in ["llm-zoo", "llm-code", "llm-cluster", "llm-tp"] {
            let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/\(name).toml")
            #expect(sc.variants.allSatisfy { $0.llm != nil }, "\(name)")
        }
    }

    @Test func badStepModelKeysNameTheKey() throws {
        let path = ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let base = ScenarioFixtures.packageRoot + "/envs"
        for (from, to, key) in [("kv_block_tokens = 16", "kv_block_tokens = 0", "variants[0].llm.kv_block_tokens"),
                                ("max_running = 256", "max_running = 256\nmax_runing = 3", "variants[0].llm.max_runing"),
                                ("weights_gb = 8.00", "weights_gb = 80.00", "variants[0].llm.weights_gb")] {
            let bad = text.replacingOccurrences(of: from, with: to, options: [], range: text.range(of: from))
            do {
                _ = try ScenarioSpec.parse(bad, file: "spec.toml", baseDirectory: base)
                Issue.record("expected an error for \(to)")
            } catch let e as ScenarioError {
                #expect(e.key == key, "\(e)")
            }
        }
    }
}

struct TokenCapacityComparisonTests {
    /// Every token-level variant of the shipped LLM specs gets a finite step-model capacity
    /// (printed next to its latency table's, the disagreement the README reports).
    @Test(arguments: ["llm-zoo", "llm-cluster", "llm-tp"])
    func everyLLMVariantHasAStepModelCapacity(name: String) throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/\(name).toml")
        let rows = sc.tokenCapacityComparison(arrivals: try sc.loadArrivals())
        #expect(Set(rows.map(\.variant)).count == sc.variants.count)
        for r in rows {
            #expect(r.tokenRequestsPerSecond.isFinite && r.tokenRequestsPerSecond > 0, "\(r)")
            print(String(format: "capacity %@ %@ %@: prompt %.0f output %.1f table %.2f req/s token %.2f req/s ratio %.2f",
                         name, r.variant, r.stream, r.meanPromptTokens, r.meanOutputTokens, r.tableRequestsPerSecond,
                         r.tokenRequestsPerSecond, r.ratio))
        }
    }
}
