import SwitchGymCore

/// The accepted range of every number in a scenario spec, and the limits on the sizes they
/// imply together.
///
/// ``ScenarioSpec`` checks each key against its bounds as it reads it (the error names the
/// file, the key and the range); ``ServingScenario/validate()`` checks them again for
/// scenarios built in code, and checks the sizes: the late-query queues
/// (``maxLateSlots``) and, once the trace is known, the interval tables
/// (``maxIntervalCells``). The ranges are wide, several orders of magnitude beyond the specs
/// in `envs/`: they keep every accepted value finite and every size computed from it within
/// `Int` and memory.
public enum ScenarioBounds {
    /// `decision_interval_s`.
    public static let decisionInterval = InputBounds.closed(0.001, 86_400, unit: "s")
    /// `episode_intervals`.
    public static let episodeIntervals = InputBounds.closed(1, 1_000_000_000, unit: "intervals")
    /// `trace.rate_scale`.
    public static let rateScale = InputBounds.above(0, upTo: 1_000_000)
    /// `trace.mean_rate`.
    public static let meanRate = InputBounds.above(0, upTo: 10_000_000, unit: "queries/s")
    /// `reward.served`, `reward.accuracy`, `reward.cost`, `reward.slo`.
    public static let rewardWeight = InputBounds.closed(-1_000_000, 1_000_000)
    /// `observation.forecast_noise` (a coefficient of variation).
    public static let forecastNoise = InputBounds.closed(0, 10)
    /// Each of `observation.history_windows`.
    public static let historyWindow = InputBounds.closed(1, 100_000, unit: "intervals")
    /// `variants[i].accuracy`, `streams[i].min_accuracy`, `streams[i].share`.
    public static let fraction = InputBounds.closed(0, 1)
    /// Each of `variants[i].batch_sizes`.
    public static let batchSize = InputBounds.closed(1, 1_048_576)
    /// Each of `variants[i].latency_ms`.
    public static let latency = InputBounds.above(0, upTo: 3_600_000, unit: "ms")
    /// `variants[i].memory_gb`, `fleet[i].memory_gb`, `fleet[i].host_ram_gb`.
    public static let memory = InputBounds.closed(0, 1_000_000, unit: "GB")
    /// `variants[i].load_s_disk`, `variants[i].load_s_ram`.
    public static let loadSeconds = InputBounds.closed(0, 86_400, unit: "s")
    /// `variants[i].cost_per_s`.
    public static let cost = InputBounds.closed(0, 1_000_000_000)
    /// `fleet[i].count` (the whole fleet is limited to ``ServingScenario/maxDevices`` too).
    public static let deviceCount = InputBounds.closed(1, Double(ServingScenario.maxDevices))
    /// `fleet[i].concurrency`.
    public static let concurrency = InputBounds.closed(1, 1024, unit: "batches")
    /// `fleet[i].gpus`: GPUs of one device (a node or GPU group), as many as `tensor_parallel` allows.
    public static let gpus = InputBounds.closed(1, 1024, unit: "GPUs")
    /// `streams[i].deadline_ms` (at most a day).
    public static let deadline = InputBounds.above(0, upTo: 86_400_000, unit: "ms")
    /// `streams[i].penalty_amount`, each of `streams[i].penalty_table`, `streams[i].drop_penalty`.
    public static let penalty = InputBounds.closed(0, 1_000_000_000)
    /// Entries of `streams[i].penalty_table`.
    public static let penaltyTableLength = InputBounds.closed(1, 100_000, unit: "entries")
    /// `streams[i].weight`.
    public static let streamWeight = InputBounds.closed(0, 1_000_000)
    /// `streams[i].drop_after`.
    public static let dropAfter = InputBounds.closed(1, 100_000, unit: "intervals")
    /// `streams[i].min_tokens_in`, `streams[i].max_tokens_in` (the trace stores int32 counts).
    public static let tokens = InputBounds.closed(0, Double(Int32.max), unit: "tokens")
    /// `variants[i].llm.step_base_us`, `prefill_us_per_token`, `decode_us_per_token` (at most 10 s).
    public static let stepMicroseconds = InputBounds.closed(0, 10_000_000, unit: "µs")
    /// `variants[i].llm.weights_gb`.
    public static let weightsGB = InputBounds.closed(0, 1_000_000, unit: "GB")
    /// `variants[i].llm.kv_bytes_per_token`.
    public static let kvBytesPerToken = InputBounds.above(0, upTo: 1_000_000_000, unit: "bytes")
    /// `variants[i].llm.kv_block_tokens`.
    public static let kvBlockTokens = InputBounds.closed(1, 65_536, unit: "tokens")
    /// `variants[i].llm.kv_blocks` (and the count derived from memory).
    public static let kvBlocks = InputBounds.closed(1, Double(Int32.max), unit: "blocks")
    /// `variants[i].llm.max_running`: sequences in one engine (the DES keeps a slot per sequence).
    public static let maxRunning = InputBounds.closed(1, 65_536, unit: "sequences")
    /// `variants[i].llm.max_batched_tokens`.
    public static let maxBatchedTokens = InputBounds.closed(1, 16_777_216, unit: "tokens")
    /// `variants[i].llm.tensor_parallel`.
    public static let tensorParallel = InputBounds.closed(1, 1024, unit: "GPUs")
    /// `trace.lengths.prompt_median`, `trace.lengths.output_median`.
    public static let lengthMedian = InputBounds.closed(1, 16_777_216, unit: "tokens")
    /// `trace.lengths.prompt_sigma`, `trace.lengths.output_sigma` (log-standard deviations).
    public static let lengthSigma = InputBounds.closed(0, 5)
    /// `trace.lengths.prompt_max`, `trace.lengths.output_max`.
    public static let lengthMax = InputBounds.closed(1, 16_777_216, unit: "tokens")

    /// The most token-level sequence slots (largest `max_running` × devices); the DES keeps two
    /// 48-byte slots each (running and preempted): 400 MB per env copy at the limit.
    public static let maxSequenceSlots = 1 << 22

    /// The most late-query queue slots over all streams: each stream queues
    /// `deadline intervals + drop_after + 2` intervals of arrivals and keeps a penalty
    /// increment per late interval. 2^24 slots are 128 MB per env copy.
    public static let maxLateSlots = 1 << 24
    /// The most cells of a scenario's interval tables (decision intervals of the trace ×
    /// streams); the arrival series, its prefix sums and the forecast each hold one
    /// `Double` per cell, and an env keeps about 800 bytes per interval in all (1.6 GB at the limit; 2^21 is 24 days of 1 s intervals).
    public static let maxIntervalCells = 1 << 21
    /// The most requests the discrete-event fidelity may hold at once: the expected arrivals of
    /// the busiest window a request can stay in the system (its interval, its deadline and
    /// `drop_after` intervals). Each is an arrival (12 bytes), a queue entry (up to 16) and,
    /// token-level, its lengths: about 1.6 GB at the limit. The same limit caps the records
    /// `envs simulate --fidelity des` keeps (one per request of the whole trace).
    public static let maxDiscreteEventRequests = 1 << 25
}

extension ServingScenario {
    /// Checks that the discrete-event fidelity's requests over `arrivals` (fluid counts per
    /// interval and stream) fit ``ScenarioBounds/maxDiscreteEventRequests``, before any is
    /// generated: the expected arrivals of the busiest window of `deadline + drop_after + 1`
    /// intervals (what can be in the system at once), and with `wholeTrace` those of every
    /// interval (what a per-request record of the run keeps).
    /// - Throws: ``ScenarioError`` (key `trace`) naming the count, the limit and the knobs.
    public func checkDiscreteEventRequests(_ arrivals: ScenarioArrivals, wholeTrace: Bool = false) throws {
        let S = max(1, arrivals.streams), T = arrivals.intervals
        var window = 1
        for st in streams {
            let d = Checked.int((st.deadlineMs / 1000 / decisionInterval).rounded(.up)) ?? T
            window = max(window, min(T, (Checked.sum([d, st.dropAfterIntervals, 1]) ?? T)))
        }
        if wholeTrace { window = max(1, T) }
        var rows = [Double](repeating: 0, count: T)
        for t in 0..<T { for s in 0..<arrivals.streams { rows[t] += arrivals.counts[t * S + s] } }
        var sum = 0.0, busiest = 0.0
        for t in 0..<T {
            sum += rows[t]
            if t >= window { sum -= rows[t - window] }
            busiest = max(busiest, sum)
        }
        let what = wholeTrace
            ? "requests of the discrete-event fidelity's records (every request of the trace's \(T) interval\(T == 1 ? "" : "s"), one record each)"
            : "requests the discrete-event fidelity holds at once (the expected arrivals of the busiest \(window) intervals: a deadline, drop_after and the interval itself)"
        let estimate = ResourceEstimate(what, count: Checked.int(busiest.rounded(.up)), limit: ScenarioBounds.maxDiscreteEventRequests,
                                        knob: "lower trace.mean_rate (or rate_scale)" + (wholeTrace ? " or use a shorter trace (switchgym traces split)" : ", drop_after or the deadlines"))
        if let m = estimate.violation { throw ScenarioError(file: sourcePath, key: "trace", message: m) }
    }

    /// The late-query queue slots the scenario needs (``ScenarioBounds/maxLateSlots``):
    /// per stream its deadline in intervals, `drop_after` and 2, plus a penalty increment
    /// per stream and late interval. `nil` when the count overflows.
    public var lateSlots: Int? {
        var terms: [Int] = []
        for s in streams.indices {
            guard let d = Checked.int(streams[s].deadlineMs / 1000 / decisionInterval, rounding: .down),
                  let one = Checked.sum([d, streams[s].dropAfterIntervals, 2]) else { return nil }
            terms.append(one)
        }
        guard let maxDrop = streams.map(\.dropAfterIntervals).max(),
              let table = Checked.product(streams.count, maxDrop) else { return nil }
        return Checked.sum(terms + [table])
    }

    /// The decision intervals a trace of `duration` µs is cut into, or `nil` if the count
    /// does not fit an `Int`.
    public func intervalCount(duration: Int64) -> Int? {
        Checked.int((Double(duration) / (decisionInterval * 1e6)).rounded(.up)).map { max(1, $0) }
    }

    /// Checks that the interval tables over a trace of `duration` µs fit
    /// ``ScenarioBounds/maxIntervalCells``, before they are allocated.
    /// - Throws: ``ScenarioError`` naming `decision_interval_s`, the trace, the limit and the knobs.
    public func checkIntervalTables(duration: Int64, trace: String) throws {
        let n = intervalCount(duration: duration)
        let estimate = ResourceEstimate(
            "cells of decision intervals x streams (\(n.map { "\($0)" } ?? "too many") intervals of \(decisionInterval) s over the \(Double(duration) / 1e6) s of \(trace), x \(streams.count) streams)",
            count: n.flatMap { Checked.product($0, streams.count) }, limit: ScenarioBounds.maxIntervalCells,
            knob: "raise decision_interval_s or use a shorter trace (switchgym traces split)")
        if let m = estimate.violation { throw ScenarioError(file: sourcePath, key: "decision_interval_s", message: m) }
    }
}
