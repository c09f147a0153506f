import Foundation

/// Token-level tables of a ``DiscreteEventModel``: each LLM variant's step model and
/// scheduler limits, the streams' TTFT deadlines, and per stream a pool of (prompt, output)
/// lengths that requests draw from.
///
/// A request's lengths are the pool entry that a hash of its arrival time picks
/// (``DiscreteEventEngine/tokenIndex(stream:arrival:)``): deterministic, no per-query storage,
/// and the same request keeps its lengths when it is re-queued. The pool of a stream is the
/// trace's own requests of that stream (prompt and output paired as in the trace) when the
/// trace has token counts, else lengths drawn with a fixed seed from the scenario's
/// ``TokenLengthDistribution``. The time order of long and short requests within the trace
/// is not kept (each arrival draws from its stream's pool).
struct TokenTables {
    /// Whether any variant is token-level.
    var any: Bool
    /// Largest `max_running` over token-level variants: sequence slots per device.
    var R: Int
    var isLLM: UnsafeMutablePointer<Bool>
    /// Step model in seconds: `b0 + b1 · prefill + b2 · decode`.
    var b0: UnsafeMutablePointer<Double>, b1: UnsafeMutablePointer<Double>, b2: UnsafeMutablePointer<Double>
    var kvBlocks: UnsafeMutablePointer<Int>, blockTokens: UnsafeMutablePointer<Int>
    var maxRunning: UnsafeMutablePointer<Int>, maxTokens: UnsafeMutablePointer<Int>
    var chunked: UnsafeMutablePointer<Bool>
    /// Wake-up seconds from host RAM, -1 without a wake path.
    var wake: UnsafeMutablePointer<Double>
    /// Per stream: TTFT deadline in seconds (`.infinity` without one).
    var ttftDeadline: UnsafeMutablePointer<Double>
    var poolIn: UnsafeMutablePointer<Int32>, poolOut: UnsafeMutablePointer<Int32>
    /// `poolStart[s] ..< poolStart[s + 1]`: stream `s`'s entries.
    var poolStart: UnsafeMutablePointer<Int>
}

/// The token-level tables as Swift arrays, and what the engine's dispatch needs from them.
struct TokenPlan {
    var isLLM: [Bool] = [], b0: [Double] = [], b1: [Double] = [], b2: [Double] = []
    var kvBlocks: [Int] = [], blockTokens: [Int] = [], maxRunning: [Int] = [], maxTokens: [Int] = []
    var chunked: [Bool] = [], wake: [Double] = [], ttftDeadline: [Double] = []
    var poolIn: [Int32] = [], poolOut: [Int32] = [], poolStart: [Int] = [0]
    /// `capacity[v * S + s]`: requests/s of token-level variant `v` at stream `s`'s mean lengths
    /// (``LLMStepModel/servingRate(prompt:output:)``), 0 when it may not serve `s`.
    var capacity: [Double] = []
    /// Mean prompt and output tokens per stream.
    var meanIn: [Double] = [], meanOut: [Double] = []

    /// Pool entries drawn per stream when lengths come from a distribution.
    static let drawnPool = 8192
    /// Most entries of one stream's pool taken from a trace (evenly strided beyond it).
    static let maxPool = 1 << 20
    /// The offset in a pool of `n` entries of the request arriving at `a` seconds (episode
    /// time): a SplitMix64 hash of the time's bits, so a request keeps its lengths wherever it
    /// is re-queued, and the fluid env can size the discrete-event fidelity's requests
    /// (``TokenWork``).
    @inline(__always)
    static func poolOffset(arrival a: Double, count n: Int) -> Int {
        var z = a.bitPattern &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(truncatingIfNeeded: z.multipliedFullWidth(by: UInt64(n)).high)
    }

    /// Seed of the drawn lengths.
    static let lengthSeed: UInt64 = 0x70CE_11E5_5EED_0001
    /// Lengths when a token-level scenario built in code has neither trace tokens nor a
    /// distribution: llm-zoo's calibration request (2,048 prompt and 28 output tokens, the
    /// means of the Azure LLM 2023 code trace).
    static let fallback: (Int32, Int32) = (2048, 28)

    init(scenario sc: ServingScenario, arrivals: ScenarioArrivals) {
        let S = sc.streams.count, V = sc.variants.count
        for v in sc.variants {
            let m = v.llm
            isLLM.append(m != nil)
            b0.append((m?.stepBaseUs ?? 0) * 1e-6)
            b1.append((m?.prefillUsPerToken ?? 0) * 1e-6)
            b2.append((m?.decodeUsPerToken ?? 0) * 1e-6)
            kvBlocks.append(m?.kvBlocks ?? 0)
            blockTokens.append(max(1, m?.kvBlockTokens ?? 1))
            maxRunning.append(m?.maxRunning ?? 0)
            maxTokens.append(m?.maxBatchedTokens ?? 0)
            chunked.append(m?.chunkedPrefill ?? false)
            wake.append(m?.wakeSeconds ?? -1)
        }
        ttftDeadline = sc.streams.map { $0.ttftDeadlineMs.map { $0 / 1000 } ?? .infinity }
        let n = arrivals.arrivalTimes.count
        let fromTrace = n > 0 && arrivals.tokensIn.count == n && arrivals.tokensOut.count == n
        for s in 0..<S {
            if fromTrace {
                var members: [Int] = []
                if arrivals.arrivalStreams.count == n {
                    for i in 0..<n where Int(arrivals.arrivalStreams[i]) == s { members.append(i) }
                }
                if members.isEmpty { members = Array(0..<n) }
                let stride = max(1, (members.count + Self.maxPool - 1) / Self.maxPool)
                var k = 0
                while k < members.count {
                    let i = members[k]
                    poolIn.append(max(1, arrivals.tokensIn[i])); poolOut.append(max(1, arrivals.tokensOut[i]))
                    k += stride
                }
            } else if let dist = sc.tokenLengths {
                let (p, o) = dist.draw(Self.drawnPool, seed: Self.lengthSeed &+ UInt64(s))
                poolIn += p; poolOut += o
            } else {
                poolIn.append(Self.fallback.0); poolOut.append(Self.fallback.1)
            }
            poolStart.append(poolIn.count)
            let lo = poolStart[s], hi = poolStart[s + 1]
            var si = 0.0, so = 0.0
            for k in lo..<hi { si += Double(poolIn[k]); so += Double(poolOut[k]) }
            meanIn.append(si / Double(hi - lo)); meanOut.append(so / Double(hi - lo))
        }
        capacity = [Double](repeating: 0, count: V * S)
        for v in 0..<V {
            guard let m = sc.variants[v].llm else { continue }
            for s in 0..<S where sc.variants[v].accuracy >= sc.streams[s].minAccuracy {
                capacity[v * S + s] = m.servingRate(prompt: meanIn[s], output: meanOut[s])
            }
        }
    }

    /// Copies the tables into manually allocated memory, recording each allocation in `allocs`.
    func tables(_ allocs: inout [UnsafeMutableRawPointer]) -> TokenTables {
        func table<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
            a.withUnsafeBufferPointer { b in if let base = b.baseAddress { p.initialize(from: base, count: b.count) } }
            allocs.append(UnsafeMutableRawPointer(p))
            return p
        }
        return TokenTables(
            any: isLLM.contains(true), R: maxRunning.max() ?? 0, isLLM: table(isLLM), b0: table(b0), b1: table(b1),
            b2: table(b2), kvBlocks: table(kvBlocks), blockTokens: table(blockTokens), maxRunning: table(maxRunning),
            maxTokens: table(maxTokens), chunked: table(chunked), wake: table(wake), ttftDeadline: table(ttftDeadline),
            poolIn: table(poolIn), poolOut: table(poolOut), poolStart: table(poolStart))
    }
}

/// Where an LLM variant's token-level capacity and its per-batch latency table disagree.
public struct TokenCapacityComparison: Sendable, Equatable, Codable {
    public var variant: String
    public var stream: String
    /// Mean prompt and output tokens of the stream's requests.
    public var meanPromptTokens: Double, meanOutputTokens: Double
    /// Requests/s from the latency table under the stream's deadline (``ModelVariant/throughput(deadlineMs:)``).
    public var tableRequestsPerSecond: Double
    /// Requests/s of the step model at the mean lengths (``LLMStepModel/requestsPerSecond(prompt:output:)``).
    public var tokenRequestsPerSecond: Double
    /// `token / table` (infinity when the table serves nothing).
    public var ratio: Double { tokenRequestsPerSecond / tableRequestsPerSecond }
}

extension ServingScenario {
    /// For every token-level variant and every stream it may serve, its throughput by the
    /// latency table and by the step model at the stream's mean lengths over `arrivals`.
    public func tokenCapacityComparison(arrivals: ScenarioArrivals) -> [TokenCapacityComparison] {
        let plan = TokenPlan(scenario: self, arrivals: arrivals)
        var out: [TokenCapacityComparison] = []
        for (v, variant) in variants.enumerated() where variant.llm != nil {
            for (s, stream) in streams.enumerated() where variant.accuracy >= stream.minAccuracy {
                out.append(TokenCapacityComparison(
                    variant: variant.name, stream: stream.name, meanPromptTokens: plan.meanIn[s], meanOutputTokens: plan.meanOut[s],
                    tableRequestsPerSecond: throughput(variant: v, stream: s),
                    tokenRequestsPerSecond: plan.capacity[v * streams.count + s]))
            }
        }
        return out
    }
}
