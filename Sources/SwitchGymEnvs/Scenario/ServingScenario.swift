import Foundation
import SwitchGymCore

/// One model variant a device can hold (a model compiled for a precision, a batch-size range
/// and a hardware kind): the *job* of the reduction.
public struct ModelVariant: Sendable, Equatable, Codable {
    /// Name used in specs, actions and reports.
    public var name: String
    /// Accuracy in [0, 1] (ImageNet top-1, MMLU, ...): the job's *happiness*.
    public var accuracy: Double
    /// Batch sizes profiled, ascending.
    public var batchSizes: [Int]
    /// Latency in milliseconds to run one batch of each size in ``batchSizes``.
    public var latencyMs: [Double]
    /// Device memory the variant occupies while loaded, in GB: on each of its ``gpus`` GPUs
    /// for a tensor-parallel LLM variant (its weights' `1/k` shard and its share of the KV cache).
    public var memoryGB: Double
    /// Seconds to load from disk to the device.
    public var loadSecondsDisk: Double
    /// Seconds to load from the host RAM cache to the device.
    public var loadSecondsRAM: Double
    /// Cost per second of holding (or loading) the variant on one GPU; a variant that occupies
    /// ``gpus`` GPUs costs ``heldCostPerSecond``, the job's *hours*.
    public var costPerSecond: Double
    /// The device kind it runs on (`gpu`, `cpu`, ...).
    public var hardware: String
    /// The token-level cost model of an LLM variant (`[variants.llm]`): the discrete-event
    /// fidelity then serves its requests by continuous batching over their prompt and output
    /// tokens instead of the per-batch latency table. `nil` for fixed-cost models.
    public var llm: LLMStepModel?

    public init(name: String, accuracy: Double, batchSizes: [Int], latencyMs: [Double], memoryGB: Double,
                loadSecondsDisk: Double, loadSecondsRAM: Double, costPerSecond: Double, hardware: String = "gpu",
                llm: LLMStepModel? = nil) {
        self.llm = llm
        self.name = name
        self.accuracy = accuracy
        self.batchSizes = batchSizes
        self.latencyMs = latencyMs
        self.memoryGB = memoryGB
        self.loadSecondsDisk = loadSecondsDisk
        self.loadSecondsRAM = loadSecondsRAM
        self.costPerSecond = costPerSecond
        self.hardware = hardware
    }

    /// GPUs the variant occupies: an LLM variant's `tensor_parallel` degree
    /// (``LLMStepModel/tensorParallel``), 1 otherwise. Only a device with at least this many
    /// GPUs (``Device/gpus``) can hold it; it occupies ``memoryGB`` on each.
    public var gpus: Int { llm?.tensorParallel ?? 1 }

    /// Cost per second of holding (or loading) the variant: ``costPerSecond`` (per GPU) times
    /// the ``gpus`` it occupies. A device's GPUs beyond them idle and cost nothing.
    public var heldCostPerSecond: Double { costPerSecond * Double(gpus) }

    /// The memory the variant occupies over all its GPUs, GB (``memoryGB`` × ``gpus``): also
    /// the size of its copy in a host-RAM cache (``HostRAMCache``).
    public var totalMemoryGB: Double { memoryGB * Double(gpus) }

    /// Queries per second the variant serves while every query meets a `deadlineMs` latency
    /// SLO under deadline-aware dynamic batching: the largest `b / L(b)` over profiled batch
    /// sizes with `2·L(b) <= deadline` (a query may wait for the batch in progress, `L(b)`,
    /// then ride in the next, another `L(b)`). 0 when even batch 1 cannot meet the deadline.
    public func throughput(deadlineMs: Double) -> Double {
        var best = 0.0
        for (b, l) in zip(batchSizes, latencyMs) where 2 * l <= deadlineMs && l > 0 {
            best = max(best, Double(b) * 1000 / l)
        }
        return best
    }

    /// The largest profiled batch size whose doubled latency fits `deadlineMs` (0 if none).
    public func largestBatch(deadlineMs: Double) -> Int {
        var best = 0
        for (b, l) in zip(batchSizes, latencyMs) where 2 * l <= deadlineMs { best = max(best, b) }
        return best
    }

    /// Latency in ms of a batch of `size`: the profiled latency at a profiled size (what the
    /// fluid fidelity's ``throughput(deadlineMs:)`` reads, so both fidelities run a profiled
    /// batch for the same time); between profiled sizes interpolated linearly and never below
    /// the smaller size's (extrapolated from the last two beyond the largest; batch 1's latency
    /// below it).
    public func latency(batch size: Int) -> Double {
        let n = batchSizes.count
        if n == 1 || size <= batchSizes[0] { return latencyMs[0] }
        var i = 1
        while i < n - 1 && batchSizes[i] < size { i += 1 }
        if batchSizes[i] == size { return latencyMs[i] }
        let b0 = Double(batchSizes[i - 1]), b1 = Double(batchSizes[i])
        let l0 = latencyMs[i - 1], l1 = latencyMs[i]
        return max(l0, l0 + (l1 - l0) * (Double(size) - b0) / (b1 - b0))
    }
}

/// One device of the fleet (after expanding `count`): a *worker* of the family. A device is
/// one engine: a single GPU, or a group of ``gpus`` GPUs (a node, or part of one) that holds
/// one variant at a time, possibly a tensor-parallel one spread over several of its GPUs.
public struct Device: Sendable, Equatable, Codable {
    public var name: String
    /// Device kind; a variant runs only on devices of its ``ModelVariant/hardware``.
    public var kind: String
    /// Memory of each of its GPUs in GB (the device's whole memory when ``gpus`` is 1).
    public var memoryGB: Double
    /// GPUs of the device (`gpus` in a `[[fleet]]` entry, default 1). A variant of tensor
    /// parallelism `k` needs `k <= gpus` and uses `k` of them; the others idle while it is held
    /// (no replicas).
    public var gpus: Int
    /// Host RAM set aside to cache variants for fast reloads (discrete-event fidelity), GB.
    public var hostRAMGB: Double
    /// Batches the device may run at once (discrete-event fidelity; co-located batches slow
    /// each other down). 1 runs batches one after another.
    public var concurrency: Int

    public init(name: String, kind: String = "gpu", memoryGB: Double, hostRAMGB: Double = 0, concurrency: Int = 1,
                gpus: Int = 1) {
        self.name = name
        self.kind = kind
        self.memoryGB = memoryGB
        self.hostRAMGB = hostRAMGB
        self.concurrency = concurrency
        self.gpus = gpus
    }

    /// Whether the device can hold `variant`: the same kind, at least the variant's GPUs
    /// (``ModelVariant/gpus``), and its per-GPU memory within each GPU's.
    public func canHold(_ variant: ModelVariant) -> Bool {
        variant.hardware == kind && variant.gpus <= gpus && variant.memoryGB <= memoryGB
    }

    /// The device's memory over all its GPUs, GB.
    public var totalMemoryGB: Double { memoryGB * Double(gpus) }

    private enum CodingKeys: String, CodingKey { case name, kind, memoryGB, hostRAMGB, concurrency, gpus }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), kind: try c.decode(String.self, forKey: .kind),
                  memoryGB: try c.decode(Double.self, forKey: .memoryGB), hostRAMGB: try c.decode(Double.self, forKey: .hostRAMGB),
                  concurrency: try c.decode(Int.self, forKey: .concurrency),
                  gpus: try c.decodeIfPresent(Int.self, forKey: .gpus) ?? 1)
    }

    /// Encodes `gpus` only when it is not 1, so a single-GPU fleet encodes (and fingerprints,
    /// ``ServingScenario/fingerprint``) as it did before devices had GPU counts.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(kind, forKey: .kind)
        try c.encode(memoryGB, forKey: .memoryGB)
        try c.encode(hostRAMGB, forKey: .hostRAMGB)
        try c.encode(concurrency, forKey: .concurrency)
        if gpus != 1 { try c.encode(gpus, forKey: .gpus) }
    }
}

/// A class of queries sharing one SLO: a *bill stream*.
public struct SLOStream: Sendable, Equatable, Codable {
    public var name: String
    /// Latency deadline per query in ms.
    public var deadlineMs: Double
    /// Fraction of the trace's arrivals that belong to this stream (the shares sum to 1).
    /// 0 when the scenario's streams select their requests by origin (``select``): the mix is
    /// then the trace's own and changes over time (``ScenarioArrivals/shares`` measures it).
    public var share: Double
    /// Which of the trace's requests belong to this stream, by origin (trace stream kind,
    /// prompt size), instead of a fixed share of every interval. `nil` with shares; with
    /// selection, exactly one stream has an empty selector and takes the rest.
    public var select: StreamSelector?
    /// Queries of this stream may only be answered by variants at least this accurate.
    public var minAccuracy: Double
    /// Penalty per query for each interval it stays unanswered past its deadline.
    public var penalty: LatenessPenalty
    /// Weight of this stream's penalties.
    public var weight: Double
    /// A query late this many intervals is dropped.
    public var dropAfterIntervals: Int
    /// Extra penalty per dropped query.
    public var dropPenalty: Double
    /// Time-to-first-token deadline in ms for requests served by token-level (LLM) variants in
    /// the discrete-event fidelity: such a request is on time only if its first token comes
    /// within it and its last within ``deadlineMs``. `nil`: the end-to-end deadline only.
    public var ttftDeadlineMs: Double?

    public init(name: String, deadlineMs: Double, share: Double = 1, minAccuracy: Double = 0,
                penalty: LatenessPenalty = .stepwise(amount: 1), weight: Double = 1,
                dropAfterIntervals: Int = 4, dropPenalty: Double = 0, select: StreamSelector? = nil,
                ttftDeadlineMs: Double? = nil) {
        self.ttftDeadlineMs = ttftDeadlineMs
        self.name = name
        self.deadlineMs = deadlineMs
        self.share = share
        self.select = select
        self.minAccuracy = minAccuracy
        self.penalty = penalty
        self.weight = weight
        self.dropAfterIntervals = dropAfterIntervals
        self.dropPenalty = dropPenalty
    }
}

/// Selects a stream's requests from a trace by their origin. A request belongs to the first
/// stream (in spec order) whose every set criterion it meets; the one stream whose selector
/// sets no criterion takes every request no other stream selects, wherever it stands.
public struct StreamSelector: Sendable, Equatable, Codable {
    /// Kinds of trace streams (`TraceStream.kind`; the trigger of an Azure Function, such as
    /// `event` or `http`) whose requests belong here; `nil` for any kind.
    public var kinds: [String]?
    /// Requests with at least this many input tokens (LLM traces); `nil` for any size.
    public var minTokensIn: Int?
    /// Requests with at most this many input tokens; `nil` for any size.
    public var maxTokensIn: Int?

    public init(kinds: [String]? = nil, minTokensIn: Int? = nil, maxTokensIn: Int? = nil) {
        self.kinds = kinds
        self.minTokensIn = minTokensIn
        self.maxTokensIn = maxTokensIn
    }

    /// True when no criterion is set: the stream takes every request no other stream selects.
    public var isRest: Bool { kinds == nil && minTokensIn == nil && maxTokensIn == nil }

    /// True when the selector needs per-request input token counts.
    public var needsTokens: Bool { minTokensIn != nil || maxTokensIn != nil }

    /// Whether a request of trace-stream kind `kind` with `tokensIn` input tokens matches.
    @inlinable
    public func matches(kind: String, tokensIn: Int32) -> Bool {
        if let k = kinds, !k.contains(kind) { return false }
        if let lo = minTokensIn, Int(tokensIn) < lo { return false }
        if let hi = maxTokensIn, Int(tokensIn) > hi { return false }
        return true
    }
}

/// Weights of the serving reward (per interval):
/// `served·answered + accuracy·Σ accuracy·answered − cost·cost − slo·(lateness + drop penalties)`.
/// Answers that miss their deadline still count as answered; their lateness is what `slo` prices.
public struct ServingRewardWeights: Sendable, Equatable, Codable {
    /// Per query answered (R1, goodput, with `slo` pricing lateness).
    public var served: Double
    /// Per unit of accuracy-weighted service (R2, accuracy).
    public var accuracy: Double
    /// Per unit of cost (R3).
    public var cost: Double
    /// Per unit of SLO lateness and drop penalty.
    public var slo: Double

    public init(served: Double = 1, accuracy: Double = 0, cost: Double = 0, slo: Double = 1) {
        self.served = served
        self.accuracy = accuracy
        self.cost = cost
        self.slo = slo
    }
}

/// Where a scenario's arrivals come from.
public enum ScenarioTraceSource: Sendable, Equatable {
    /// A trace dataset (canonical HDF5) at this path.
    case dataset(String)
    /// The built-in default synthetic trace (`DefaultDataset`), generated in memory.
    case defaultSynthetic
}

/// Which load time the fluid fidelity charges on a switch.
public enum LoadSource: String, Sendable, Equatable, Codable, CaseIterable {
    case disk, ram
}

/// A serving scenario: a model zoo, a fleet, SLO streams, a decision interval, reward weights
/// and a trace. Read from a TOML spec in `envs/` by ``ScenarioSpec``; reduced to an
/// ``EmploymentSearch`` instance by ``ScenarioReduction``.
public struct ServingScenario: Sendable, Equatable {
    public var name: String
    public var summary: String
    /// The spec file it was read from (for messages), or "" when built in code.
    public var sourcePath: String
    public var variants: [ModelVariant]
    /// The fleet, one entry per device.
    public var fleet: [Device]
    public var streams: [SLOStream]
    /// Seconds between two decisions.
    public var decisionInterval: Double
    /// Intervals per training episode; `nil` runs the whole trace.
    public var episodeIntervals: Int?
    /// The load time the fluid fidelity charges.
    public var loadFrom: LoadSource
    public var weights: ServingRewardWeights
    public var trace: ScenarioTraceSource
    /// Multiplies the trace's arrival counts (to bring a public trace to the fleet's scale).
    public var rateScale: Double
    /// When set, the scale is instead chosen so the trace's mean rate becomes this many
    /// queries per second (independent of which trace is replayed).
    public var targetMeanRate: Double?
    /// Per device, the index of the variant held at the start of an episode.
    public var initialVariants: [Int]
    /// Observation: windows (in intervals) of the recent-arrival means.
    public var historyWindows: [Int]
    /// Observation: include the next interval's arrivals (an oracle forecast).
    public var forecast: Bool
    /// Relative error of that forecast: 0 is an oracle (the true next arrivals); `x > 0`
    /// multiplies each value by a mean-one log-normal factor with coefficient of variation `x`.
    public var forecastNoise: Double
    /// Prompt and output lengths for token-level (LLM) variants when the trace has no
    /// per-request token counts (`[trace.lengths]`).
    public var tokenLengths: TokenLengthDistribution?
    /// Training only: each training episode's arrivals scaled by a factor drawn from this
    /// range (`[training] load_scale`, ``LoadAugmentation``); `nil` (the default) replays the
    /// trace as it is. Evaluation never scales.
    public var trainingLoadScale: LoadAugmentation?
    /// Training only: the training trace replayed as block-bootstrap resamples
    /// (`[training] block_bootstrap`, ``BlockBootstrap``); `nil` (the default) replays the trace
    /// in its own order. Evaluation never resamples.
    public var trainingBlockBootstrap: BlockBootstrap?

    public init(name: String, summary: String = "", sourcePath: String = "", variants: [ModelVariant],
                fleet: [Device], streams: [SLOStream], decisionInterval: Double, episodeIntervals: Int? = nil,
                loadFrom: LoadSource = .disk, weights: ServingRewardWeights = ServingRewardWeights(),
                trace: ScenarioTraceSource = .defaultSynthetic, rateScale: Double = 1,
                targetMeanRate: Double? = nil, initialVariants: [Int]? = nil, historyWindows: [Int] = [1, 4, 16], forecast: Bool = false,
                forecastNoise: Double = 0, tokenLengths: TokenLengthDistribution? = nil,
                trainingLoadScale: LoadAugmentation? = nil, trainingBlockBootstrap: BlockBootstrap? = nil) {
        self.tokenLengths = tokenLengths
        self.trainingLoadScale = trainingLoadScale
        self.trainingBlockBootstrap = trainingBlockBootstrap
        self.name = name
        self.summary = summary
        self.sourcePath = sourcePath
        self.variants = variants
        self.fleet = fleet
        self.streams = streams
        self.decisionInterval = decisionInterval
        self.episodeIntervals = episodeIntervals
        self.loadFrom = loadFrom
        self.weights = weights
        self.trace = trace
        self.rateScale = rateScale
        self.targetMeanRate = targetMeanRate
        self.initialVariants = initialVariants ?? fleet.map { d in variants.firstIndex(where: { d.canHold($0) }) ?? 0 }
        self.historyWindows = historyWindows
        self.forecast = forecast
        self.forecastNoise = forecastNoise
    }

    /// True when the streams take their requests by origin (``SLOStream/select``) rather than
    /// by fixed shares.
    public var selectsByOrigin: Bool { streams.contains { $0.select != nil } }

    /// The throughput (queries/s) of variant `v` for stream `s`: 0 when the variant is less
    /// accurate than the stream's minimum or cannot meet its deadline.
    public func throughput(variant v: Int, stream s: Int) -> Double {
        let variant = variants[v], stream = streams[s]
        guard variant.accuracy >= stream.minAccuracy else { return 0 }
        return variant.throughput(deadlineMs: stream.deadlineMs)
    }

    /// Queries of stream `s` one device holding variant `v` answers in a full interval.
    public func capacityPerInterval(variant v: Int, stream s: Int) -> Double {
        throughput(variant: v, stream: s) * decisionInterval
    }

    /// The switch delay of loading variant `v`, in seconds.
    public func loadSeconds(variant v: Int) -> Double {
        loadFrom == .disk ? variants[v].loadSecondsDisk : variants[v].loadSecondsRAM
    }

    /// Intervals after its arrival interval a query of stream `s` is due: 0 when its deadline
    /// is shorter than an interval.
    public func deadlineIntervals(stream s: Int) -> Int {
        // Within ScenarioBounds this is at most 8.64e7; Int.max stands for "never due" beyond.
        Checked.int(streams[s].deadlineMs / 1000 / decisionInterval, rounding: .down) ?? Int.max
    }

    /// The first pair of equal names `(i, j)`, `i < j`, or `nil` when the names are unique.
    public static func firstDuplicate(_ names: [String]) -> (Int, Int)? {
        var seen: [String: Int] = [:]
        for (j, n) in names.enumerated() {
            if let i = seen[n] { return (i, j) }
            seen[n] = j
        }
        return nil
    }

    /// The largest fleet a scenario may have: observations, masks and per-device state grow
    /// linearly with it (a fleet of this size costs a few MB per env copy).
    public static let maxDevices = 16_384

    /// The fleet's device classes: devices of one class (same kind and memory) are
    /// interchangeable in every fidelity's switching decisions and share a policy's parameters.
    public var classes: FleetClasses { FleetClasses(fleet: fleet, variants: variants) }

    /// The scenario on a fleet of `devices` devices of the same classes, each class keeping
    /// its share of the fleet (largest remainder, at least one device per class), with the
    /// arrival rate scaled by the same factor so that each device sees the same load: the same
    /// scenario at another fleet size (for `bench fleet` and fleet-size transfer).
    /// - Precondition: `devices` is at least the number of classes and at most ``maxDevices``.
    public func resizedFleet(to devices: Int) -> ServingScenario {
        let cls = classes
        precondition(devices >= cls.count && devices <= Self.maxDevices, "resizedFleet: \(devices) devices for \(cls.count) classes")
        let D = fleet.count
        var counts = cls.sizes.map { max(1, $0 * devices / D) }
        var order = Array(cls.sizes.indices)
        order.sort { (cls.sizes[$0] * devices % D, -$0) > (cls.sizes[$1] * devices % D, -$1) }
        var i = 0
        while counts.reduce(0, +) < devices { counts[order[i % order.count]] += 1; i += 1 }
        while counts.reduce(0, +) > devices, let k = counts.indices.max(by: { counts[$0] < counts[$1] }) { counts[k] -= 1 }
        var out = self
        out.fleet = []
        out.initialVariants = []
        for k in cls.names.indices {
            let first = fleet.indices.first { cls.classOf[$0] == k }!
            for j in 0..<counts[k] {
                var d = fleet[first]
                d.name = "\(cls.names[k])-\(j)"
                out.fleet.append(d)
                out.initialVariants.append(initialVariants[first])
            }
        }
        let factor = Double(devices) / Double(D)
        if let r = targetMeanRate { out.targetMeanRate = r * factor } else { out.rateScale = rateScale * factor }
        out.name = "\(name)@\(devices)"
        return out
    }

    /// Describes a per-device assignment as `device=variant` pairs.
    public func describe(assignment: [Int]) -> String {
        zip(fleet, assignment).map { "\($0.name)=\(variants[$1].name)" }.joined(separator: " ")
    }

    /// Every device that can hold variant `v` holds it; the others keep their initial variant.
    public func staticAssignment(variant v: Int) -> [Int] {
        fleet.indices.map { fleet[$0].canHold(variants[v]) ? v : initialVariants[$0] }
    }

    /// Checks the scenario is consistent.
    /// - Throws: ``ScenarioError`` naming the spec file and the offending key.
    public func validate() throws {
        func fail(_ key: String, _ m: String) -> ScenarioError { ScenarioError(file: sourcePath, key: key, message: m) }
        func check(_ key: String, _ x: Double, _ bounds: InputBounds) throws {
            if let m = bounds.violation(x) { throw fail(key, m) }
        }
        func check(_ key: String, _ x: Int, _ bounds: InputBounds) throws {
            if let m = bounds.violation(x) { throw fail(key, m) }
        }
        func named(_ key: String, _ name: String) throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw fail(key, "expected a non-empty name") }
        }
        typealias B = ScenarioBounds
        try named("name", name)
        guard !variants.isEmpty else { throw fail("variants", "expected at least one [[variants]] table") }
        guard !fleet.isEmpty else { throw fail("fleet", "expected at least one [[fleet]] table") }
        guard !streams.isEmpty else { throw fail("streams", "expected at least one [[streams]] table") }
        guard streams.count <= Int(UInt8.max) else { throw fail("streams", "\(streams.count) streams; at most \(UInt8.max) are supported") }
        try check("decision_interval_s", decisionInterval, B.decisionInterval)
        for (key, x) in [("reward.served", weights.served), ("reward.accuracy", weights.accuracy),
                         ("reward.cost", weights.cost), ("reward.slo", weights.slo)] {
            try check(key, x, B.rewardWeight)
        }
        for (what, names) in [("variants", variants.map(\.name)), ("streams", streams.map(\.name)), ("fleet", fleet.map(\.name))] {
            for (i, n) in names.enumerated() { try named("\(what)[\(i)].name", n) }
            if let (i, j) = Self.firstDuplicate(names) {
                // Fleet entries expand by count: name the devices, not the tables.
                let k = what == "fleet" ? "fleet" : "\(what)[\(j)].name"
                let other = what == "fleet" ? "devices \(i) and \(j)" : "also \(what)[\(i)]"
                throw fail(k, "duplicate name \"\(names[j])\" (\(other)); names must be unique")
            }
        }
        for (i, v) in variants.enumerated() {
            let k = "variants[\(i)] (\(v.name))"
            try check("\(k).accuracy", v.accuracy, B.fraction)
            guard !v.batchSizes.isEmpty, v.batchSizes.count == v.latencyMs.count else {
                throw fail("\(k).latency_ms", "expected one latency per batch size (\(v.batchSizes.count)), got \(v.latencyMs.count)")
            }
            for (j, b) in v.batchSizes.enumerated() { try check("\(k).batch_sizes[\(j)]", b, B.batchSize) }
            guard zip(v.batchSizes, v.batchSizes.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw fail("\(k).batch_sizes", "expected strictly increasing sizes >= 1, got \(v.batchSizes)")
            }
            for (j, l) in v.latencyMs.enumerated() { try check("\(k).latency_ms[\(j)]", l, B.latency) }
            for (key, x, b) in [("memory_gb", v.memoryGB, B.memory), ("load_s_disk", v.loadSecondsDisk, B.loadSeconds),
                                ("load_s_ram", v.loadSecondsRAM, B.loadSeconds), ("cost_per_s", v.costPerSecond, B.cost)] {
                try check("\(k).\(key)", x, b)
            }
            if let m = v.llm {
                for (key, x, b) in [("step_base_us", m.stepBaseUs, B.stepMicroseconds), ("prefill_us_per_token", m.prefillUsPerToken, B.stepMicroseconds),
                                    ("decode_us_per_token", m.decodeUsPerToken, B.stepMicroseconds), ("weights_gb", m.weightsGB, B.weightsGB),
                                    ("kv_bytes_per_token", m.kvBytesPerToken, B.kvBytesPerToken)] {
                    try check("\(k).llm.\(key)", x, b)
                }
                for (key, x, b) in [("kv_block_tokens", m.kvBlockTokens, B.kvBlockTokens), ("kv_blocks", m.kvBlocks, B.kvBlocks),
                                    ("max_running", m.maxRunning, B.maxRunning), ("max_batched_tokens", m.maxBatchedTokens, B.maxBatchedTokens),
                                    ("tensor_parallel", m.tensorParallel, B.tensorParallel)] {
                    try check("\(k).llm.\(key)", x, b)
                }
                if let w = m.wakeSeconds { try check("\(k).llm.wake_s", w, B.loadSeconds) }
            }
            if v.gpus > 1, !fleet.contains(where: { $0.kind == v.hardware && $0.gpus >= v.gpus }) {
                let most = fleet.filter { $0.kind == v.hardware }.map(\.gpus).max() ?? 0
                throw fail("\(k).llm.tensor_parallel", "needs \(v.gpus) GPUs on one device, but no \(v.hardware) device of the fleet has more than \(most) (set gpus on a [[fleet]] entry, or lower tensor_parallel)")
            }
            guard fleet.contains(where: { $0.canHold(v) }) else {
                throw fail("\(k)", "no device of the fleet can hold it (hardware \(v.hardware), \(v.memoryGB) GB\(v.gpus > 1 ? " per GPU on \(v.gpus) GPUs" : ""))")
            }
        }
        for (d, dev) in fleet.enumerated() {
            let k = "fleet[\(d)] (\(dev.name))"
            try check("\(k).memory_gb", dev.memoryGB, B.memory)
            try check("\(k).host_ram_gb", dev.hostRAMGB, B.memory)
            try check("\(k).concurrency", dev.concurrency, B.concurrency)
            try check("\(k).gpus", dev.gpus, B.gpus)
        }
        for (i, s) in streams.enumerated() {
            let k = "streams[\(i)] (\(s.name))"
            try check("\(k).deadline_ms", s.deadlineMs, B.deadline)
            try check("\(k).share", s.share, B.fraction)
            try check("\(k).min_accuracy", s.minAccuracy, B.fraction)
            try check("\(k).weight", s.weight, B.streamWeight)
            try check("\(k).drop_after", s.dropAfterIntervals, B.dropAfter)
            try check("\(k).drop_penalty", s.dropPenalty, B.penalty)
            if let x = s.ttftDeadlineMs { try check("\(k).ttft_deadline_ms", x, B.deadline) }
            switch s.penalty {
            case .stepwise(let x), .linear(let x), .logarithmic(let x): try check("\(k).penalty_amount", x, B.penalty)
            case .table(let t):
                if let m = B.penaltyTableLength.violation(t.count) { throw fail("\(k).penalty_table", "length: \(m)") }
                for (j, x) in t.enumerated() { try check("\(k).penalty_table[\(j)]", x, B.penalty) }
            }
            guard variants.indices.contains(where: { throughput(variant: $0, stream: i) > 0 }) else {
                throw fail(k, "no variant meets its deadline of \(s.deadlineMs) ms and minimum accuracy \(s.minAccuracy)")
            }
        }
        let slots = ResourceEstimate(
            "late-query queue slots (per stream: deadline_ms / decision_interval_s + drop_after + 2, and drop_after penalty steps)",
            count: lateSlots, limit: B.maxLateSlots,
            knob: "lower deadline_ms or drop_after, or raise decision_interval_s")
        if let m = slots.violation { throw fail("streams", m) }
        if selectsByOrigin {
            for (i, s) in streams.enumerated() {
                let k = "streams[\(i)] (\(s.name))"
                guard let sel = s.select else {
                    throw fail("\(k)", "every stream needs a selector (trace_kinds, min_tokens_in, max_tokens_in) or none at all, once one stream selects")
                }
                guard s.share == 0 else {
                    throw fail("\(k).share", "the mix comes from the trace when streams select their requests; remove share")
                }
                if let k2 = sel.kinds, k2.isEmpty { throw fail("\(k).trace_kinds", "expected at least one kind") }
                if let lo = sel.minTokensIn { try check("\(k).min_tokens_in", lo, B.tokens) }
                if let hi = sel.maxTokensIn { try check("\(k).max_tokens_in", hi, B.tokens) }
                if let lo = sel.minTokensIn, let hi = sel.maxTokensIn, lo > hi {
                    throw fail("\(k).max_tokens_in", "expected >= min_tokens_in (\(lo)), got \(hi)")
                }
            }
            let rest = streams.filter { $0.select?.isRest == true }
            guard rest.count == 1 else {
                throw fail("streams", "expected exactly one stream without trace_kinds / min_tokens_in / max_tokens_in to take the requests no other stream selects, found \(rest.count)")
            }
        } else {
            let total = streams.reduce(0) { $0 + $1.share }
            guard abs(total - 1) < 1e-6 else { throw fail("streams.share", "expected shares summing to 1, got \(total)") }
        }
        try check("trace.rate_scale", rateScale, B.rateScale)
        if let r = targetMeanRate { try check("trace.mean_rate", r, B.meanRate) }
        if let e = episodeIntervals { try check("episode_intervals", e, B.episodeIntervals) }
        if let l = tokenLengths {
            try check("trace.lengths.prompt_median", l.promptMedian, B.lengthMedian)
            try check("trace.lengths.output_median", l.outputMedian, B.lengthMedian)
            try check("trace.lengths.prompt_sigma", l.promptSigma, B.lengthSigma)
            try check("trace.lengths.output_sigma", l.outputSigma, B.lengthSigma)
            try check("trace.lengths.prompt_max", l.promptMax, B.lengthMax)
            try check("trace.lengths.output_max", l.outputMax, B.lengthMax)
        }
        for (j, w) in historyWindows.enumerated() { try check("observation.history_windows[\(j)]", w, B.historyWindow) }
        try check("observation.forecast_noise", forecastNoise, B.forecastNoise)
        if let m = trainingLoadScale?.violation { throw fail("training.load_scale", m) }
        if let m = trainingBlockBootstrap?.violation { throw fail("training.block_bootstrap", m) }
        guard initialVariants.count == fleet.count else {
            throw fail("fleet.initial", "expected one initial variant per device")
        }
        for (d, v) in initialVariants.enumerated() {
            guard variants.indices.contains(v), fleet[d].canHold(variants[v]) else {
                throw fail("fleet[\(d)].initial", "device \(fleet[d].name) cannot hold its initial variant")
            }
        }
        if let r = variants.compactMap({ $0.llm?.maxRunning }).max(), let slots = Checked.product(r, fleet.count), slots > B.maxSequenceSlots {
            throw fail("variants", "token-level serving keeps max_running (\(r)) x devices (\(fleet.count)) = \(slots) sequence slots, over the limit of \(B.maxSequenceSlots); lower max_running")
        }
        guard fleet.count <= Self.maxDevices else {
            throw fail("fleet", "\(fleet.count) devices; at most \(Self.maxDevices) are supported (lower the fleet's count)")
        }
    }
}

/// A scenario that cannot be read or is inconsistent: names the file and the key.
public struct ScenarioError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String
    public var message: String

    public init(file: String, key: String, message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        let where_ = file.isEmpty ? "" : "\(file): "
        return key.isEmpty ? "\(where_)\(message)" : "\(where_)key '\(key)': \(message)"
    }
}
