import Foundation

/// The token-level cost model of an LLM variant served by an iteration-level
/// (continuous-batching) engine such as vLLM: what one engine step costs, how much KV cache
/// the device has, and the scheduler's limits.
///
/// One step (iteration) processes the prefill tokens of newly admitted (or chunked) prompts and
/// one decode token of every running sequence, and takes
///
///     step seconds = (b0 + b1 · prefill tokens + b2 · decode tokens) / 1e6
///
/// (the linear model inference-sim fits on vLLM 0.8.4; coefficients per model, GPU and tensor
/// parallelism in `../shared/profiles/LLM-SERVING.md`). The discrete-event fidelity simulates
/// it request by request (``DiscreteEventServingEnv``); the closed forms below are what its
/// validation tests compare against.
///
/// **Tensor parallelism.** A variant of ``tensorParallel`` `k` is one engine over `k` GPUs of
/// one device (``Device/gpus`` >= `k`; the device's other GPUs idle). Its coefficients are
/// those fitted for that TP configuration (inference-sim fits each TP degree separately), so
/// the all-reduce communication of a step is inside them; nothing else in the step changes. Its
/// weights split evenly over the `k` GPUs and its KV cache is what is left on them
/// (``kvGB(memoryPerGPU:weightsGB:tensorParallel:)``): ``kvBlocks`` counts the blocks of the
/// whole group, and ``kvBytesPerToken`` is the whole model's (its KV heads split over the
/// GPUs). Pipeline parallelism, expert parallelism and replicas on the idle GPUs are not
/// modelled.
public struct LLMStepModel: Sendable, Equatable, Codable {
    /// b0: fixed cost of a step, µs.
    public var stepBaseUs: Double
    /// b1: cost per prefill token in the step, µs.
    public var prefillUsPerToken: Double
    /// b2: cost per decode token in the step, µs.
    public var decodeUsPerToken: Double
    /// Weights in device memory, GB (the rest of the variant's `memory_gb` is KV cache).
    public var weightsGB: Double
    /// KV-cache bytes per token (2 · layers · KV heads · head dim · bytes per element).
    public var kvBytesPerToken: Double
    /// Tokens per KV block (vLLM's default is 16).
    public var kvBlockTokens: Int
    /// KV blocks available to sequences.
    public var kvBlocks: Int
    /// Most sequences running at once (vLLM `max_num_seqs`).
    public var maxRunning: Int
    /// Most tokens in one step (vLLM `max_num_batched_tokens`).
    public var maxBatchedTokens: Int
    /// Chunked prefill: a step mixes the running sequences' decode tokens with prompt chunks up
    /// to ``maxBatchedTokens``; without it a step is either a prefill step (whole prompts) or a
    /// decode step, and a prompt longer than ``maxBatchedTokens`` is rejected.
    public var chunkedPrefill: Bool
    /// GPUs of the tensor-parallel group: the coefficients are those measured on it, the
    /// variant needs a device with at least this many GPUs, and ``kvBlocks`` is the KV cache
    /// left on all of them.
    public var tensorParallel: Int
    /// Sleep-mode wake-up: seconds to bring the variant back when its weights are in host RAM
    /// (instead of the variant's RAM load time); `nil` when the variant has no wake path.
    public var wakeSeconds: Double?

    public init(stepBaseUs: Double, prefillUsPerToken: Double, decodeUsPerToken: Double, weightsGB: Double,
                kvBytesPerToken: Double, kvBlockTokens: Int = 16, kvBlocks: Int, maxRunning: Int = 256,
                maxBatchedTokens: Int = 8192, chunkedPrefill: Bool = false, tensorParallel: Int = 1,
                wakeSeconds: Double? = nil) {
        self.stepBaseUs = stepBaseUs
        self.prefillUsPerToken = prefillUsPerToken
        self.decodeUsPerToken = decodeUsPerToken
        self.weightsGB = weightsGB
        self.kvBytesPerToken = kvBytesPerToken
        self.kvBlockTokens = kvBlockTokens
        self.kvBlocks = kvBlocks
        self.maxRunning = maxRunning
        self.maxBatchedTokens = maxBatchedTokens
        self.chunkedPrefill = chunkedPrefill
        self.tensorParallel = tensorParallel
        self.wakeSeconds = wakeSeconds
    }

    /// KV blocks that `kvGB` GB of device memory hold (`floor(kvGB · 1e9 / (bytes per token · block tokens))`).
    public static func blocks(kvGB: Double, kvBytesPerToken: Double, kvBlockTokens: Int) -> Int {
        let x = (kvGB * 1e9 / (kvBytesPerToken * Double(kvBlockTokens))).rounded(.down)
        return x.isFinite && x > 0 ? Int(min(x, Double(Int32.max))) : 0
    }

    /// GB of KV cache a variant of `tensorParallel` GPUs has when it occupies `memoryPerGPU` GB
    /// on each and its `weightsGB` (the whole model's) split evenly over them:
    /// `tensorParallel · memoryPerGPU − weightsGB` (`memory_gb − weights_gb` on one GPU).
    public static func kvGB(memoryPerGPU: Double, weightsGB: Double, tensorParallel: Int) -> Double {
        Double(tensorParallel) * memoryPerGPU - weightsGB
    }

    // MARK: - Closed forms

    /// Seconds of one step with `prefill` prefill tokens and `decode` decode tokens.
    @inlinable
    public func stepSeconds(prefill: Int, decode: Int) -> Double {
        (stepBaseUs + prefillUsPerToken * Double(prefill) + decodeUsPerToken * Double(decode)) * 1e-6
    }

    /// KV blocks a sequence holding `tokens` tokens occupies.
    @inlinable
    public func blocksFor(tokens: Int) -> Int { (tokens + kvBlockTokens - 1) / kvBlockTokens }

    /// Whether a request can ever be served alone: its prompt and output fit the KV cache and,
    /// without chunked prefill, its prompt fits one step.
    public func canServe(prompt: Int, output: Int) -> Bool {
        blocksFor(tokens: prompt + output) <= kvBlocks && (chunkedPrefill || prompt <= maxBatchedTokens)
    }

    /// Time to first token and end-to-end latency of one request alone on an idle engine: the
    /// prompt in `ceil(prompt / maxBatchedTokens)` prefill steps (one without chunking), which
    /// emit the first token, then `output − 1` decode steps of one token.
    public func soloLatency(prompt: Int, output: Int) -> (ttft: Double, e2e: Double) {
        let chunks = chunkedPrefill ? max(1, (prompt + maxBatchedTokens - 1) / maxBatchedTokens) : 1
        let ttft = (Double(chunks) * stepBaseUs + prefillUsPerToken * Double(prompt)) * 1e-6
        return (ttft, ttft + Double(max(0, output - 1)) * stepSeconds(prefill: 0, decode: 1))
    }

    /// The most requests of `prompt` + `output` tokens that run at once: limited by
    /// ``maxRunning``, by the KV blocks of a whole request, and (without chunked prefill) by
    /// the prompts one prefill step takes.
    public func maxBatch(prompt: Int, output: Int) -> Int {
        var n = min(maxRunning, kvBlocks / max(1, blocksFor(tokens: prompt + output)))
        if !chunkedPrefill { n = min(n, maxBatchedTokens / max(1, prompt)) }
        return max(0, n)
    }

    /// Requests per second at saturation for requests of `prompt` and `output` tokens: a batch
    /// of ``maxBatch(prompt:output:)`` prompts prefilled in one step, then `output − 1` decode
    /// steps of the whole batch (the schedule a backlog of identical requests settles into
    /// without chunked prefill). With mixed lengths, pass the means: an estimate.
    public func requestsPerSecond(prompt: Double, output: Double) -> Double {
        let p = max(1, Int(prompt.rounded())), o = max(1, Int(output.rounded()))
        let n = maxBatch(prompt: p, output: o)
        guard n > 0 else { return 0 }
        let cycle = stepSeconds(prefill: n * p, decode: 0) + Double(o - 1) * stepSeconds(prefill: 0, decode: n)
        return Double(n) / cycle
    }

    /// The rate both fidelities serve requests of `prompt` and `output` tokens at (requests/s):
    /// ``requestsPerSecond(prompt:output:)``, or, when such a request does not fit a full batch
    /// (a prompt beyond a step without chunking, or beyond the KV cache), one request at a time
    /// (`1 / ` its ``soloLatency(prompt:output:)``): the discrete-event dispatch still weighs the
    /// device, and requests that never fit are rejected there.
    public func servingRate(prompt: Double, output: Double) -> Double {
        let rps = requestsPerSecond(prompt: prompt, output: output)
        if rps > 0 { return rps }
        let solo = soloLatency(prompt: max(1, Int(prompt.rounded())), output: max(1, Int(output.rounded()))).e2e
        return 1 / max(solo, 1e-9)
    }

    /// Seconds a request of `prompt` and `output` tokens spends in the engine when it runs in
    /// the full batch that sets ``servingRate(prompt:output:)`` (the batch's cycle: its prefill
    /// step and `output − 1` decode steps), or alone when no batch fits.
    public func batchLatency(prompt: Double, output: Double) -> Double {
        let p = max(1, Int(prompt.rounded())), o = max(1, Int(output.rounded()))
        let n = maxBatch(prompt: p, output: o)
        guard n > 0 else { return soloLatency(prompt: p, output: o).e2e }
        return stepSeconds(prefill: n * p, decode: 0) + Double(o - 1) * stepSeconds(prefill: 0, decode: n)
    }

    // MARK: - Latency at a batch's occupancy

    /// A request's latency as a line in the batch's occupancy: a request of `prompt` and
    /// `output` tokens among `n` running sequences of its kind takes
    ///
    ///     L(n) = base + perSequence · n,   1 <= n <= maxBatch
    ///
    /// seconds: one prefill step of the `n` prompts and `output − 1` decode steps of `n`
    /// sequences (`base = output · b0`, `perSequence = b1 · prompt + (output − 1) · b2`, in
    /// seconds). `L(maxBatch)` is ``batchLatency(prompt:output:)`` (the cycle of the full batch
    /// that sets ``servingRate(prompt:output:)``, equal up to rounding) and `L(1)` the request
    /// alone (``soloLatency(prompt:output:)`` without chunking). When no batch fits, the line is
    /// flat at the solo latency (`perSequence = 0`, `maxBatch = 1`). Lengths are rounded as
    /// ``batchLatency(prompt:output:)`` rounds them.
    public func latencyLine(prompt: Double, output: Double) -> (base: Double, perSequence: Double, maxBatch: Int) {
        let p = max(1, Int(prompt.rounded())), o = max(1, Int(output.rounded()))
        let n = maxBatch(prompt: p, output: o)
        guard n > 0 else { return (soloLatency(prompt: p, output: o).e2e, 0, 1) }
        return (Double(o) * stepBaseUs * 1e-6, (prefillUsPerToken * Double(p) + decodeUsPerToken * Double(o - 1)) * 1e-6, n)
    }

    /// The occupancy at which a device serving `rate` requests/s of `prompt` + `output`
    /// tokens runs: the fixed point of Little's law on the step model, `n = rate · L(n)` with
    /// `L` the ``latencyLine(prompt:output:)``, in closed form
    ///
    ///     n = rate · base / (1 − rate · perSequence),
    ///
    /// clamped to `[1, maxBatch]` (a request always runs with itself; at
    /// ``servingRate(prompt:output:)`` the fixed point is the full batch). Returns `n` and
    /// `L(n)`, the latency of a request there.
    /// - Complexity: O(1) after ``latencyLine(prompt:output:)``.
    public func occupancy(rate: Double, prompt: Double, output: Double) -> (running: Double, latency: Double) {
        let line = latencyLine(prompt: prompt, output: output)
        return Self.occupancy(rates: [rate], bases: [line.base], slopes: [line.perSequence], maxBatch: Double(line.maxBatch))
    }

    /// Little's law over several kinds of request sharing one engine: kind `i` arrives at
    /// `rates[i]` requests/s and its latency at occupancy `n` is `bases[i] + slopes[i] · n`, so
    /// `n = Σ rates[i] · L_i(n)` solves to `n = Σ rates[i] · bases[i] / (1 − Σ rates[i] · slopes[i])`
    /// (unbounded when the denominator is not positive: the engine is past saturation). Returns
    /// that `n` clamped to `[1, maxBatch]` and the first kind's latency there. The fluid env
    /// computes the same sums in place over its tables (``FluidServingEnv/stepSubintervals(choices:)``);
    /// this is the reference form its tests compare against.
    public static func occupancy(rates: [Double], bases: [Double], slopes: [Double], maxBatch: Double) -> (running: Double, latency: Double) {
        var load = 0.0, slope = 0.0
        for i in rates.indices {
            load += rates[i] * bases[i]
            slope += rates[i] * slopes[i]
        }
        let n = slope < 1 ? load / (1 - slope) : Double.infinity
        let running = min(max(n, 1), maxBatch)
        return (running, bases[0] + slopes[0] * running)
    }
}

/// The prompt and output lengths of requests whose trace has no token counts: independent
/// log-normals, each given by its median and log-standard deviation and clamped to
/// `[1, max]` (`[trace.lengths]` in a spec). Drawn with a fixed seed, so every run sees the same
/// lengths.
public struct TokenLengthDistribution: Sendable, Equatable, Codable {
    public var promptMedian: Double
    public var promptSigma: Double
    public var promptMax: Int
    public var outputMedian: Double
    public var outputSigma: Double
    public var outputMax: Int

    public init(promptMedian: Double, promptSigma: Double, promptMax: Int = 32_768,
                outputMedian: Double, outputSigma: Double, outputMax: Int = 8192) {
        self.promptMedian = promptMedian
        self.promptSigma = promptSigma
        self.promptMax = promptMax
        self.outputMedian = outputMedian
        self.outputSigma = outputSigma
        self.outputMax = outputMax
    }

    /// `n` (prompt, output) pairs drawn with `seed` (Box–Muller over SplitMix64).
    public func draw(_ n: Int, seed: UInt64) -> (prompt: [Int32], output: [Int32]) {
        var state = seed
        func unit() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Double(z >> 11) + 0.5) * 0x1p-53
        }
        func normal() -> Double { (-2 * log(unit())).squareRoot() * cos(2 * Double.pi * unit()) }
        var p = [Int32](), o = [Int32]()
        p.reserveCapacity(n); o.reserveCapacity(n)
        for _ in 0..<n {
            let a = (promptMedian * exp(promptSigma * normal())).rounded()
            let b = (outputMedian * exp(outputSigma * normal())).rounded()
            p.append(Int32(min(Double(promptMax), max(1, a))))
            o.append(Int32(min(Double(outputMax), max(1, b))))
        }
        return (p, o)
    }
}
