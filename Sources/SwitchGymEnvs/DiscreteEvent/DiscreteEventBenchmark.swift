import Dispatch
import SwitchGymCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Measures the discrete-event fidelity's speed in simulated queries per second on the
/// calling thread (one core). Build with `-c release` for meaningful figures.
public enum DiscreteEventBenchmark {
    /// What a run measured.
    public struct Result: Sendable, Equatable, Codable {
        /// Queries that arrived in the simulated intervals.
        public var queries: Int
        /// Intervals simulated (over one or more episodes).
        public var intervals: Int
        /// Wall-clock seconds of stepping (resets included, model construction not).
        public var seconds: Double
        /// CPU seconds the stepping thread used (equals ``seconds`` on an idle core; less when
        /// other processes share the core).
        public var cpuSeconds: Double
        /// Simulated queries per wall-clock second.
        public var queriesPerSecond: Double { seconds > 0 ? Double(queries) / seconds : 0 }
        /// Simulated queries per CPU second of the stepping thread (the per-core speed).
        public var queriesPerCPUSecond: Double { cpuSeconds > 0 ? Double(queries) / cpuSeconds : 0 }
        /// Simulated intervals per wall-clock second.
        public var intervalsPerSecond: Double { seconds > 0 ? Double(intervals) / seconds : 0 }
    }

    /// Steps a ``DiscreteEventServingEnv`` over `model` with a fixed `assignment` (a variant
    /// per device; default: the initial variants), episode after episode, until at least
    /// `minSeconds` have passed and `minIntervals` intervals were simulated.
    public static func run(model: DiscreteEventModel, assignment: [Int]? = nil, minSeconds: Double = 1,
                           minIntervals: Int = 1, seed: UInt64 = 0) -> Result {
        let a = assignment ?? model.scenario.initialVariants
        var env = DiscreteEventServingEnv(model: model, seed: seed)
        env.resetState(seed: seed)
        var queries = 0, intervals = 0
        let c0 = threadCPUSeconds()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < minSeconds || intervals < minIntervals {
            for _ in 0..<16 {
                let t = a.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
                queries += env.last.arrived
                intervals += 1
                if t.truncated { env.resetState(seed: nil) }
            }
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        return Result(queries: queries, intervals: intervals, seconds: elapsed, cpuSeconds: threadCPUSeconds() - c0)
    }

    /// CPU time of the calling thread, seconds.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The benchmark on a scenario spec (its own trace), e.g. the shipped `envs/vision-zoo.toml`.
    /// - Throws: the spec's or the trace's error.
    public static func run(specPath: String, action: [String]? = nil, minSeconds: Double = 1,
                           config: DiscreteEventConfig = DiscreteEventConfig(), seed: UInt64 = 0) throws -> Result {
        let sc = try ScenarioSpec.load(path: specPath)
        let model = try DiscreteEventModel(scenario: sc, arrivals: try sc.loadArrivals(), config: config)
        var a: [Int]?
        if let names = action {
            let idx = try names.enumerated().map { d, n in
                guard let v = sc.variants.firstIndex(where: { $0.name == n }) else {
                    throw ScenarioError(file: specPath, key: "fleet[\(d)]", message: "unknown variant \"\(n)\"")
                }
                return v
            }
            a = idx
        }
        return run(model: model, assignment: a, minSeconds: minSeconds, seed: seed)
    }
}
