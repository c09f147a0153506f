import Foundation

/// The token work of a scenario's arrivals, per decision interval and stream, and the service
/// rates it gives the scenario's LLM (token-level) variants: what makes the fluid env and the
/// discrete-event fidelity share one cost model (issue 11).
///
/// **The requests.** Both fidelities size a request of stream `s` by the same pool of (prompt,
/// output) lengths (``TokenPlan``: the trace's own requests of the stream, or lengths drawn from
/// the scenario's ``TokenLengthDistribution``), the entry a hash of its arrival time picks
/// (``TokenPlan/poolOffset(arrival:count:)``). When the discrete-event fidelity keeps the
/// trace's own arrival times (``DiscreteEventArrivalMode/thinning``, a rate scale <= 1), the
/// mean of interval `t` is taken over the trace's arrivals of the interval with the entries the
/// discrete-event fidelity gives them in an episode from the series' start: the expected token
/// mix of its requests there, exactly (thinning keeps each arrival with the same probability).
/// Otherwise (Poisson arrivals at a scale > 1, or a series without arrival times) its requests
/// draw pool entries at random times, and every interval has the stream's pool mean. An
/// interval without arrivals of a stream also has the pool mean.
///
/// **The rate.** One device holding LLM variant `v` answers `interval ×`
/// ``LLMStepModel/servingRate(prompt:output:)`` queries of stream `s` in interval `t`, at the
/// interval's mean lengths: the step model's capacity at saturation, the closed form the
/// discrete-event fidelity's throughput is validated against, and by which its dispatch weighs
/// the variant's queues. A query of it takes ``LLMStepModel/batchLatency(prompt:output:)`` at
/// saturation, and less at a lower occupancy (``LLMStepModel/occupancy(rate:prompt:output:)``,
/// which the sub-interval step charges).
struct TokenWork {
    /// Intervals and streams.
    let intervals: Int, streams: Int
    /// `meanPrompt[t * S + s]`, `meanOutput[t * S + s]`: mean prompt and output tokens of the
    /// requests of stream `s` arriving in interval `t`.
    let meanPrompt: [Double], meanOutput: [Double]
    /// The plan's pools of output lengths, `poolOutput[poolStart[s] ..< poolStart[s + 1]]` for
    /// stream `s` (``TokenPlan``), from which the sub-interval fluid step builds its
    /// ``OutputLengthSpread``.
    let poolOutput: [Int32], poolStart: [Int]

    /// The token work of `arrivals` sized by `plan`'s pools.
    init(plan: TokenPlan, arrivals a: ScenarioArrivals, interval I: Double) {
        let T = a.intervals, S = a.streams
        intervals = T; streams = S
        var prompt = [Double](repeating: 0, count: T * S), output = prompt
        if DiscreteEventArrivalMode.of(a).mode == .thinning {
            var n = [Double](repeating: 0, count: T * S)
            let width = I * 1e6
            let byOrigin = a.arrivalStreams.count == a.arrivalTimes.count
            for (i, time) in a.arrivalTimes.enumerated() {
                // Interval and episode time as the discrete-event fidelity bins and clamps them.
                let k = min(T - 1, max(0, Int(Double(time) / width)))
                let x = min(max(Double(time) * 1e-6, Double(k) * I), (Double(k + 1) * I).nextDown)
                // By origin the arrival's stream is known; by shares any stream may take it.
                let streams = byOrigin ? Int(a.arrivalStreams[i])..<(Int(a.arrivalStreams[i]) + 1) : 0..<S
                for s in streams {
                    let lo = plan.poolStart[s]
                    let j = lo + TokenPlan.poolOffset(arrival: x, count: plan.poolStart[s + 1] - lo)
                    prompt[k * S + s] += Double(plan.poolIn[j])
                    output[k * S + s] += Double(plan.poolOut[j])
                    n[k * S + s] += 1
                }
            }
            for i in 0..<(T * S) where n[i] > 0 { prompt[i] /= n[i]; output[i] /= n[i] }
            for t in 0..<T {
                for s in 0..<S where n[t * S + s] == 0 { prompt[t * S + s] = plan.meanIn[s]; output[t * S + s] = plan.meanOut[s] }
            }
        } else {
            for t in 0..<T { for s in 0..<S { prompt[t * S + s] = plan.meanIn[s]; output[t * S + s] = plan.meanOut[s] } }
        }
        meanPrompt = prompt
        meanOutput = output
        poolOutput = plan.poolOut
        poolStart = plan.poolStart
    }

    /// Prefill tokens of interval `t`'s `queries` queries of stream `s`.
    func prefillTokens(interval t: Int, stream s: Int, queries: Double) -> Double { queries * meanPrompt[t * streams + s] }

    /// Decode tokens of interval `t`'s `queries` queries of stream `s` (one per output token).
    func decodeTokens(interval t: Int, stream s: Int, queries: Double) -> Double { queries * meanOutput[t * streams + s] }
}

extension ServingScenario {
    /// Per variant and stream, the rate one device serves at over `arrivals`, queries/s
    /// (`[v * S + s]`): the latency table's SLO throughput (``throughput(variant:stream:)``) for
    /// a fixed-cost variant; for an LLM variant, the step model's
    /// ``LLMStepModel/servingRate(prompt:output:)`` at the stream's mean lengths over the whole
    /// series (``TokenPlan``), 0 below the stream's minimum accuracy. The rates the
    /// discrete-event dispatch weighs queues by, and the fluid env's average.
    public func servingRates(arrivals: ScenarioArrivals) -> [Double] {
        let V = variants.count, S = streams.count
        var rates = [Double](repeating: 0, count: V * S)
        let plan = variants.contains { $0.llm != nil } ? TokenPlan(scenario: self, arrivals: arrivals) : nil
        for v in 0..<V {
            for s in 0..<S {
                rates[v * S + s] = variants[v].llm != nil ? plan!.capacity[v * S + s] : throughput(variant: v, stream: s)
            }
        }
        return rates
    }
}

extension ServingScenario {
    /// Queries of stream `s` one device holding variant `v` answers per interval, the one table
    /// both the fluid env (``ServingModel``) and the EmploymentSearch reduction
    /// (``ScenarioReduction``) pay from: `average[v * S + s]` over the whole series
    /// (``servingRates(arrivals:)`` × the interval) and, when the scenario has LLM variants,
    /// `perInterval[(t * V + v) * S + s]` at interval `t`'s token work (``TokenWork``; fixed-cost
    /// variants keep their average there). `perInterval` is nil without LLM variants: `average`
    /// then holds for every interval.
    func capacityTable(arrivals: ScenarioArrivals) -> (average: [Double], work: TokenWork?, perInterval: [Double]?) {
        let V = variants.count, S = streams.count, T = arrivals.intervals
        let cap = servingRates(arrivals: arrivals).map { $0 * decisionInterval }
        let llm = variants.map(\.llm)
        guard llm.contains(where: { $0 != nil }) else { return (cap, nil, nil) }
        let work = TokenWork(plan: TokenPlan(scenario: self, arrivals: arrivals), arrivals: arrivals, interval: decisionInterval)
        var rates = [Double](repeating: 0, count: T * V * S)
        for t in 0..<T {
            for v in 0..<V {
                for s in 0..<S where cap[v * S + s] > 0 {
                    if let m = llm[v] {
                        rates[(t * V + v) * S + s] = m.servingRate(prompt: work.meanPrompt[t * S + s], output: work.meanOutput[t * S + s])
                            * decisionInterval
                    } else {
                        rates[(t * V + v) * S + s] = cap[v * S + s]
                    }
                }
            }
        }
        return (cap, work, rates)
    }
}
