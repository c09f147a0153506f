import SwitchGymCore
import SwitchGymEnvs

/// Random valid-but-extreme scenario specs (TOML) for property tests: counts, intervals,
/// deadlines, rates and penalties at and between the accepted bounds of ``ScenarioBounds``
/// (issue 13). Deterministic for a seed.
public enum ExtremeSpecs {
    /// How the specs are used, which decides how far they go.
    public enum Use: Sendable {
        /// Parsed and stepped a few times in process: values just outside the bounds too
        /// (about 2% of them), any decision interval, an observation section.
        case model
        /// Run whole by `envs simulate`: values inside the bounds only, and half the specs
        /// with a 60 s decision interval so that most runs end quickly.
        case simulate
    }

    /// One value of `b`: its lower or upper end, (for ``Use/model``) just outside it, or
    /// one between.
    public static func pick(_ b: InputBounds, _ g: inout SeededGenerator, integer: Bool = false,
                            use: Use = .model) -> String {
        let r = g.nextUnit()
        var x: Double
        let atLower = b.lower + (b.lowerOpen ? max(abs(b.lower) * 1e-9, 1e-9) : 0)
        switch use {
        case .model:
            switch r {
            case ..<0.25: x = atLower
            case ..<0.5: x = b.upper
            case ..<0.51: x = b.upper * 1.5 + 1
            case ..<0.52: x = b.lower - 1
            default: x = b.lower + (b.upper - b.lower) * g.nextUnit() * g.nextUnit()
            }
        case .simulate:
            switch r {
            case ..<0.33: x = atLower
            case ..<0.66: x = b.upper
            default: x = b.lower + (b.upper - b.lower) * g.nextUnit() * g.nextUnit() * g.nextUnit()
            }
        }
        if integer { x = x.rounded(.up) }
        return integer ? String(Int64(x)) : "\(x)"
    }

    /// A spec with 1 to 3 variants, one device type and 1 to 3 streams. About 40% of the
    /// specs are token-level: each variant gets a `[variants.llm]` step model (coefficients,
    /// KV sizes, running and batched-token limits, chunked prefill, tensor parallelism up to
    /// the devices' `gpus`, a wake-up time) and the trace a `[trace.lengths]` distribution.
    public static func randomSpec(seed: UInt64, use: Use = .model) -> String {
        var g = SeededGenerator(seed: seed)
        let tokenLevel = g.nextUnit() < 0.4
        typealias B = ScenarioBounds
        let model = use == .model
        func p(_ b: InputBounds, integer: Bool = false) -> String { pick(b, &g, integer: integer, use: use) }
        var s = """
            name = "extreme\(model ? "" : "-\(seed)")"
            decision_interval_s = \(model || g.nextUnit() < 0.5 ? p(B.decisionInterval) : "60.0")
            episode_intervals = \(p(B.episodeIntervals, integer: true))
            [trace]
            synthetic = "default"
            \(g.nextUnit() < 0.5 ? "rate_scale = \(p(B.rateScale))" : "mean_rate = \(p(B.meanRate))")

            """
        if tokenLevel {
            s += """
                [trace.lengths]
                prompt_median = \(p(B.lengthMedian))
                prompt_sigma = \(p(B.lengthSigma))
                prompt_max = \(p(B.lengthMax, integer: true))
                output_median = \(p(B.lengthMedian))
                output_sigma = \(p(B.lengthSigma))
                output_max = \(p(B.lengthMax, integer: true))

                """
        }
        // GPUs per device: a token-level variant may shard over up to that many.
        let gpus = tokenLevel ? Int(min(B.gpus.upper, Double(p(B.gpus, integer: true)) ?? 1)) : 1
        s += """
            [reward]
            served = \(p(B.rewardWeight))

            """
        let weights = model ? ["accuracy", "cost", "slo"] : ["slo", "cost"]
        for key in weights { s += "\(key) = \(p(B.rewardWeight))\n" }
        if model {
            s += """
                [observation]
                history_windows = [\(p(B.historyWindow, integer: true)), 1]
                forecast = "noisy"
                forecast_noise = \(p(B.forecastNoise))

                """
        }
        for v in 0..<(1 + Int(g.next() % 3)) {
            // Sizes must increase: the second is at least 2 (at most the bound, or just past it
            // for ``Use/model``).
            let batch = model ? String(Int(min(B.batchSize.upper, 1 + (Double(p(B.batchSize, integer: true)) ?? 1))))
                : String(max(2, Int(p(B.batchSize, integer: true)) ?? 2))
            s += """
                [[variants]]
                name = "v\(v)"
                accuracy = \(p(B.fraction))
                batch_sizes = [1, \(batch)]
                latency_ms = [\(p(B.latency)), \(p(B.latency))]
                memory_gb = \(model || v != 0 ? p(B.memory) : "1.0")
                load_s_disk = \(p(B.loadSeconds))
                load_s_ram = \(p(B.loadSeconds))
                cost_per_s = \(p(B.cost))

                """
            if tokenLevel {
                // kv_blocks set, so that weights need not fit memory; every value at or
                // between its bounds (tensor_parallel up to the devices' GPUs).
                s += """
                    [variants.llm]
                    step_base_us = \(p(B.stepMicroseconds))
                    prefill_us_per_token = \(p(B.stepMicroseconds))
                    decode_us_per_token = \(p(B.stepMicroseconds))
                    weights_gb = \(p(B.weightsGB))
                    kv_bytes_per_token = \(p(B.kvBytesPerToken))
                    kv_block_tokens = \(p(B.kvBlockTokens, integer: true))
                    kv_blocks = \(p(B.kvBlocks, integer: true))
                    max_running = \(p(B.maxRunning, integer: true))
                    max_batched_tokens = \(p(B.maxBatchedTokens, integer: true))
                    chunked_prefill = \(g.nextUnit() < 0.5)
                    tensor_parallel = \(1 + Int(g.next() % UInt64(gpus)))
                    wake_s = \(p(B.loadSeconds))

                    """
            }
        }
        let memory = !model || g.nextUnit() < 0.9 ? "\(B.memory.upper)" : "\(Double(p(B.memory)) ?? 0)"
        let count = !model || g.nextUnit() < 0.1 ? p(B.deviceCount, integer: true) : String(1 + g.next() % 40)
        s += """
            [[fleet]]
            name = "d"
            memory_gb = \(memory)
            count = \(count)
            concurrency = \(p(B.concurrency, integer: true))
            gpus = \(gpus)

            """
        for k in 0..<(1 + Int(g.next() % 3)) {
            let kind = ["stepwise", "linear", "logarithmic", "table"][Int(g.next() % 4)]
            let deadline = !model ? p(B.deadline) : "\(g.nextUnit() < 0.5 ? 1000.0 : Double(p(B.deadline)) ?? 1)"
            s += """
                [[streams]]
                name = "s\(k)"
                deadline_ms = \(deadline)
                share = \(k == 0 ? "1.0" : "0.0")

                """
            if model { s += "min_accuracy = \(g.nextUnit() < 0.8 ? "0.0" : p(B.fraction))\n" }
            s += """
                weight = \(p(B.streamWeight))
                drop_after = \(p(B.dropAfter, integer: true))
                drop_penalty = \(p(B.penalty))
                penalty = "\(kind)"
                \(kind == "table" ? "penalty_table = [\(p(B.penalty)), \(p(B.penalty))]" : "penalty_amount = \(p(B.penalty))")

                """
        }
        return s
    }
}
