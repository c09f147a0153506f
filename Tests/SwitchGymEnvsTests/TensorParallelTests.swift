import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Tensor parallelism as a variant property (issue 11): a device has GPUs, a variant of
/// `tensor_parallel` k needs k of them, its weights split over them and its KV cache is what
/// is left on them; both fidelities serve it by its own TP configuration's coefficients.
enum TPFixtures {
    static let spec = ScenarioFixtures.packageRoot + "/envs/llm-tp.toml"

    /// A token-level variant of `k` GPUs holding `perGPU` GB on each, whole weights `weights` GB.
    static func variant(_ name: String, k: Int, perGPU: Double = 40, weights: Double = 60,
                        b0: Double = 10_000, b1: Double = 20, b2: Double = 15) -> ModelVariant {
        let blocks = LLMStepModel.blocks(kvGB: LLMStepModel.kvGB(memoryPerGPU: perGPU, weightsGB: weights, tensorParallel: k),
                                         kvBytesPerToken: 327_680, kvBlockTokens: 16)
        let m = LLMStepModel(stepBaseUs: b0, prefillUsPerToken: b1, decodeUsPerToken: b2, weightsGB: weights,
                             kvBytesPerToken: 327_680, kvBlocks: blocks, chunkedPrefill: true, tensorParallel: k)
        return ModelVariant(name: name, accuracy: 0.8, batchSizes: [1], latencyMs: [100], memoryGB: perGPU,
                            loadSecondsDisk: 10, loadSecondsRAM: 1, costPerSecond: 1, llm: m)
    }

    /// Devices of 1, 2, 4 and 8 GPUs of 80 GB and one of 4 GPUs of 24 GB; variants of TP 1 (20 GB),
    /// and TP 2, 4, 8 (40 GB per GPU).
    static func scenario() -> ServingScenario {
        let variants = [variant("tp1", k: 1, perGPU: 20, weights: 16), variant("tp2", k: 2), variant("tp4", k: 4), variant("tp8", k: 8)]
        let fleet = [Device(name: "g1", memoryGB: 80), Device(name: "g2", memoryGB: 80, gpus: 2),
                     Device(name: "g4", memoryGB: 80, gpus: 4), Device(name: "g8", memoryGB: 80, gpus: 8),
                     Device(name: "small4", memoryGB: 24, gpus: 4)]
        let st = SLOStream(name: "s", deadlineMs: 1_000_000, penalty: .stepwise(amount: 1), dropAfterIntervals: 100)
        return ServingScenario(name: "tp-test", variants: variants, fleet: fleet, streams: [st], decisionInterval: 10,
                               weights: ServingRewardWeights(served: 1, accuracy: 0, cost: 1, slo: 1),
                               initialVariants: [0, 1, 2, 3, 0], tokenLengths: TokenFixtures.constant(prompt: 1000, output: 50))
    }
}

struct TensorParallelTests {
    // MARK: - Masks and memory

    @Test func aVariantNeedsADeviceWithAtLeastItsGPUs() throws {
        let sc = TPFixtures.scenario()
        try sc.validate()
        // Rows: devices g1, g2, g4, g8, small4; columns: tp1, tp2, tp4, tp8.
        let expected: [[Bool]] = [[true, false, false, false], [true, true, false, false], [true, true, true, false],
                                  [true, true, true, true],
                                  // 24 GB per GPU: only tp1 (20 GB) fits; tp2 and tp4 need 40 GB per GPU.
                                  [true, false, false, false]]
        #expect(sc.actionMask == expected.flatMap { $0 })
        // The serving env's mask, the EmploymentSearch reduction's and the DES's agree.
        let arrivals = DESFixtures.constant(sc, perInterval: 10, intervals: 4)
        let model = try ServingModel(scenario: sc, arrivals: arrivals)
        let es = try ScenarioReduction.employmentSearch(sc, arrivals: arrivals)
        for d in sc.fleet.indices {
            for v in sc.variants.indices {
                #expect(model.canHold(device: d, variant: v) == expected[d][v], "device \(d) variant \(v)")
                #expect(es.isFeasible(worker: d, job: v) == expected[d][v], "device \(d) variant \(v)")
            }
        }
        let des = try DiscreteEventModel(scenario: sc, arrivals: arrivals)
        for i in 0..<(sc.fleet.count * sc.variants.count) { #expect(des.t.canHold[i] == sc.actionMask[i]) }
        // Classes tell devices apart by GPU count.
        #expect(sc.classes.names == ["gpu-80gb", "gpu-2x80gb", "gpu-4x80gb", "gpu-8x80gb", "gpu-4x24gb"])
    }

    @Test func aMaskedTPChoiceStaysAndASwitchPaysTheLoad() throws {
        let sc = TPFixtures.scenario()
        var env = try FluidServingEnv(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 10, intervals: 6))
        _ = try env.reset(seed: 0)
        // g4 asks for tp8 (masked: it has 4 GPUs): it keeps tp4, nothing switches.
        var r = try env.step([0, 1, 3, 3, 0])
        #expect(r.info.switches == 0 && env.variants == [0, 1, 2, 3, 0])
        // g8 moves from tp8 to tp4: one switch, paying tp4's 10 s disk load (a whole interval).
        r = try env.step([0, 1, 2, 2, 0])
        #expect(r.info.switches == 1 && env.variants[3] == 2)
    }

    @Test func memoryIsCheckedPerGPU() throws {
        // 60 GB of weights over 2 GPUs: 30 GB each, within 40 GB per GPU; over 1 GPU it would not fit.
        let v = TPFixtures.variant("tp2", k: 2, perGPU: 40, weights: 60)
        #expect(Device(name: "a", memoryGB: 40, gpus: 2).canHold(v))
        #expect(!Device(name: "b", memoryGB: 39, gpus: 8).canHold(v))   // 40 GB per GPU > 39
        #expect(!Device(name: "c", memoryGB: 80, gpus: 1).canHold(v))   // one GPU, however large
        #expect(v.totalMemoryGB == 80 && v.heldCostPerSecond == 2)
        // In a spec: weights_gb / tensor_parallel must fit memory_gb.
        let text = try String(contentsOfFile: TPFixtures.spec, encoding: .utf8)
        let first = "tensor_parallel = 8"
        let tp1 = text.replacingOccurrences(of: first, with: "tensor_parallel = 1", options: [], range: text.range(of: first))
        ScenarioFixtures.expectSpecError(tp1, key: "variants[0].llm.weights_gb", contains: "expected less than the variant's memory_gb (77.0)")
        let w = "weights_gb = 140.0"
        let heavy = text.replacingOccurrences(of: w, with: "weights_gb = 640.0", options: [], range: text.range(of: w))
        ScenarioFixtures.expectSpecError(heavy, key: "variants[0].llm.weights_gb", contains: "on each of its 8 GPUs (weights_gb / tensor_parallel = 80.0 GB)")
    }

    @Test func tensorParallelBeyondEveryDeviceIsASpecErrorNamingFileAndKey() throws {
        let text = try String(contentsOfFile: TPFixtures.spec, encoding: .utf8)
        let first = "tensor_parallel = 8"
        let bad = text.replacingOccurrences(of: first, with: "tensor_parallel = 16", options: [], range: text.range(of: first))
        ScenarioFixtures.expectSpecError(bad, key: "variants[0] (llama-3.3-70b-tp8).llm.tensor_parallel",
                                         contains: "needs 16 GPUs on one device, but no gpu device of the fleet has more than 8")
        // A spec written before devices had GPUs: the TP variant fits no device, and says so.
        let noGPUs = text.replacingOccurrences(of: "gpus = 8 ", with: "").replacingOccurrences(of: "gpus = 4 ", with: "")
        ScenarioFixtures.expectSpecError(noGPUs, key: "variants[0] (llama-3.3-70b-tp8).llm.tensor_parallel", contains: "more than 1")
        ScenarioFixtures.expectSpecError(text.replacingOccurrences(of: "gpus = 8 ", with: "gpus = 0 "), key: "fleet[0].gpus", contains: "expected an integer in [1, 1024] GPUs, got 0")
        ScenarioFixtures.expectSpecError(text.replacingOccurrences(of: "gpus = 8 ", with: "gpu = 8 "), key: "fleet[0].gpu", contains: "unknown key")
    }

    // MARK: - The shipped spec

    @Test func theShippedSpecReadsItsSourcedTPCoefficients() throws {
        let sc = try ScenarioSpec.load(path: TPFixtures.spec)
        #expect(sc.fleet.map(\.gpus) == [8, 8, 8, 4, 4] && sc.fleet.allSatisfy { $0.memoryGB == 80 })
        let byName = Dictionary(uniqueKeysWithValues: sc.variants.map { ($0.name, $0) })
        // (b0, b1, b2, k) of inference-sim's vLLM 0.8.4 fits on H100 (LLM-SERVING.md).
        let fits: [String: (Double, Double, Double, Int)] = [
            "llama-3.3-70b-tp8": (14140.8, 10.03, 19.40, 8), "llama-3.3-70b-tp4": (12601.3, 76.42, 66.84, 4),
            "llama-3.1-8b-tp2": (6910.4, 17.67, 2.84, 2), "llama-3.1-8b-tp1": (5752.7, 17.25, 6.00, 1)]
        for (name, f) in fits {
            let m = try #require(byName[name]?.llm, "\(name)")
            #expect(m.stepBaseUs == f.0 && m.prefillUsPerToken == f.1 && m.decodeUsPerToken == f.2 && m.tensorParallel == f.3, "\(name)")
        }
        // The 4-GPU groups cannot hold the TP8 variant; the nodes hold everything.
        let tp8 = sc.variants.firstIndex { $0.name == "llama-3.3-70b-tp8" }!
        #expect(sc.fleet.indices.map { sc.fleet[$0].canHold(sc.variants[tp8]) } == [true, true, true, false, false])
        // Cost per interval: k GPUs x 1 per GPU-second x 30 s.
        let model = try ServingModel(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 100, intervals: 2))
        #expect(sc.variants.indices.map { model.costPerInterval[$0] } == sc.variants.map { Double($0.gpus) * 30 })
        let jobs = ScenarioReduction.jobs(sc, arrivals: model.arrivals)
        #expect(jobs.map(\.hours) == model.costPerInterval)
    }

    @Test func kvBlocksScaleWithTheGPUs() throws {
        let sc = try ScenarioSpec.load(path: TPFixtures.spec)
        let des = try DiscreteEventModel(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 100, intervals: 2))
        for (v, variant) in sc.variants.enumerated() {
            let m = try #require(variant.llm)
            // k x 77 GB per GPU less the whole model's weights, in 16-token blocks.
            let kv = Double(m.tensorParallel) * 77 - m.weightsGB
            #expect(m.kvBlocks == Int((kv * 1e9 / (m.kvBytesPerToken * 16)).rounded(.down)), "\(variant.name)")
            #expect(des.t.tok.kvBlocks[v] == m.kvBlocks, "\(variant.name)")
        }
        let blocks = Dictionary(uniqueKeysWithValues: sc.variants.map { ($0.name, $0.llm!.kvBlocks) })
        #expect(blocks["llama-3.1-8b-tp1"] == 29_087)   // BLIS: 29,205 on one H100
        #expect(blocks["llama-3.1-8b-tp2"] == 65_803 && blocks["llama-3.3-70b-tp4"] == 32_043 && blocks["llama-3.3-70b-tp8"] == 90_789)
        // Every TP degree of one model: more GPUs, more blocks, and the same model on one GPU
        // keeps what it had before devices had GPUs (memory_gb - weights_gb).
        let counts = [1, 2, 4, 8].map { TPFixtures.variant("v", k: $0, perGPU: 77, weights: 16).llm!.kvBlocks }
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 < $1 })
        #expect(counts[0] == LLMStepModel.blocks(kvGB: 77 - 16, kvBytesPerToken: 327_680, kvBlockTokens: 16))
    }

    // MARK: - Both fidelities use the TP configuration

    @Test(arguments: ["llama-3.3-70b-tp8", "llama-3.3-70b-tp4", "llama-3.1-8b-tp2"])
    func aSingleRequestTakesTheTPCoefficientsClosedForm(name: String) throws {
        let spec = try ScenarioSpec.load(path: TPFixtures.spec)
        let variant = spec.variants.first { $0.name == name }!
        let m = try #require(variant.llm)
        let st = SLOStream(name: "s", deadlineMs: 1_000_000, penalty: .stepwise(amount: 1), dropAfterIntervals: 100)
        let sc = ServingScenario(name: "tp-solo", variants: [variant], fleet: [Device(name: "node", memoryGB: 80, gpus: 8)],
                                 streams: [st], decisionInterval: 10, initialVariants: [0],
                                 tokenLengths: TokenFixtures.constant(prompt: 1000, output: 50))
        try sc.validate()
        var env = try TokenFixtures.env(sc, TokenFixtures.at([500_000]))
        _ = env.step(assignment: [0])
        let log = env.tokenLog
        try #require(log.count == 1)
        // One prefill step of 1,000 tokens (chunked at 8,192: one chunk), then 49 decode steps of one.
        let ttft = (m.stepBaseUs + 1000 * m.prefillUsPerToken) * 1e-6
        let e2e = ttft + 49 * (m.stepBaseUs + m.decodeUsPerToken) * 1e-6
        #expect(abs(log[0].ttft - ttft) < 1e-9, "TTFT \(log[0].ttft) vs \(ttft)")
        #expect(abs(log[0].e2e - e2e) < 1e-9, "E2E \(log[0].e2e) vs \(e2e)")
        #expect(abs(m.soloLatency(prompt: 1000, output: 50).e2e - e2e) < 1e-12)
    }

    @Test func theFluidCapacityIsTheStepModelRateOfTheTPCoefficients() throws {
        let sc = try ScenarioSpec.load(path: TPFixtures.spec)
        let arrivals = try sc.loadArrivals()
        let table = sc.capacityTable(arrivals: arrivals)
        let work = try #require(table.work), rates = try #require(table.perInterval)
        let V = sc.variants.count, S = sc.streams.count
        // The sourced fits with the KV blocks their GPUs leave (k x 77 GB - weights).
        func fitted(_ b0: Double, _ b1: Double, _ b2: Double, weights: Double, kvBytes: Double, k: Int) -> LLMStepModel {
            LLMStepModel(stepBaseUs: b0, prefillUsPerToken: b1, decodeUsPerToken: b2, weightsGB: weights, kvBytesPerToken: kvBytes,
                         kvBlocks: LLMStepModel.blocks(kvGB: Double(k) * 77 - weights, kvBytesPerToken: kvBytes, kvBlockTokens: 16),
                         maxRunning: 256, maxBatchedTokens: 8192, chunkedPrefill: true, tensorParallel: k)
        }
        let models = [fitted(14140.8, 10.03, 19.40, weights: 140, kvBytes: 327_680, k: 8),
                      fitted(12601.3, 76.42, 66.84, weights: 140, kvBytes: 327_680, k: 4),
                      fitted(6910.4, 17.67, 2.84, weights: 16, kvBytes: 131_072, k: 2),
                      fitted(5752.7, 17.25, 6.00, weights: 16, kvBytes: 131_072, k: 1)]
        #expect(sc.variants.map(\.llm) == models.map { Optional($0) })
        for t in Swift.stride(from: 0, to: arrivals.intervals, by: 7) {
            for v in 0..<V {
                for s in 0..<S where sc.variants[v].accuracy >= sc.streams[s].minAccuracy {
                    let expected = models[v].servingRate(prompt: work.meanPrompt[t * S + s], output: work.meanOutput[t * S + s]) * sc.decisionInterval
                    #expect(abs(rates[(t * V + v) * S + s] - expected) <= 1e-12 * expected, "t \(t) v \(v) s \(s)")
                }
            }
        }
        // The fleet's ServingModel pays that table, and the DES dispatch weighs by the same rates.
        let model = try ServingModel(scenario: sc, arrivals: arrivals)
        #expect(model.capacity == table.average)
        #expect(sc.servingRates(arrivals: arrivals).map { $0 * sc.decisionInterval } == table.average)
        // The TP8 node out-serves the TP4 group by its coefficients (41.5 against 7.2 req/s at the trace's sizes).
        #expect(table.average[0] > 4 * table.average[S])
    }
}
