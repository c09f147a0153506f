import SwitchGymCore

/// One policy's run over a whole arrival series: totals, per-interval details and the actions.
public struct ServingRun: Sendable {
    public var name: String
    public var metrics: ServingMetrics
    public var intervals: [ServingStepInfo]
    public var actions: [Int]

    public init(name: String, metrics: ServingMetrics, intervals: [ServingStepInfo], actions: [Int]) {
        self.name = name
        self.metrics = metrics
        self.intervals = intervals
        self.actions = actions
    }
}

/// Runs policies over a scenario's whole arrival series at fluid fidelity (one episode from
/// the first interval to the last), for evaluation and reports.
public enum ServingEvaluation {
    /// The model for evaluation: the whole series, no random start.
    public static func model(scenario: ServingScenario, arrivals: ScenarioArrivals) throws -> ServingModel {
        var sc = scenario
        sc.episodeIntervals = nil
        return try ServingModel(scenario: sc, arrivals: arrivals, randomStart: false)
    }

    /// Runs `policy` (given the env, its observation and the action mask, returns a joint
    /// action) from reset to the end of the series.
    public static func run(name: String, model: ServingModel, seed: UInt64 = 0,
                           policy: (FluidServingEnv, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Bool>) -> Int) -> ServingRun {
        var env = FluidServingEnv(model: model, seed: seed)
        env.resetState(seed: seed)
        var obs = [Float](repeating: 0, count: model.observationDimension)
        var mask = [Bool](repeating: false, count: model.jointActionCount)
        var infos: [ServingStepInfo] = []
        var actions: [Int] = []
        infos.reserveCapacity(model.episodeLength)
        actions.reserveCapacity(model.episodeLength)
        while true {
            obs.withUnsafeMutableBufferPointer { env.writeObservation(into: $0.baseAddress!) }
            mask.withUnsafeMutableBufferPointer { env.writeActionMask(into: $0.baseAddress!) }
            let a = obs.withUnsafeBufferPointer { o in mask.withUnsafeBufferPointer { m in policy(env, o, m) } }
            let t = env.step(discrete: a)
            infos.append(env.last)
            actions.append(a)
            if t.truncated || t.terminated { break }
        }
        return ServingRun(name: name, metrics: env.totals, intervals: infos, actions: actions)
    }

    /// Replays a fixed action sequence (the last action repeats if the series is longer).
    public static func replay(name: String, model: ServingModel, actions: [Int], seed: UInt64 = 0) -> ServingRun {
        precondition(!actions.isEmpty, "replay needs at least one action")
        return run(name: name, model: model, seed: seed) { env, _, _ in actions[min(env.time, actions.count - 1)] }
    }

    /// Every device that can hold `variant` holds it; the others keep their initial variant.
    public static func staticAction(_ sc: ServingScenario, variant v: Int) -> Int {
        sc.encode(variants: sc.fleet.indices.map { sc.fleet[$0].canHold(sc.variants[v]) ? v : sc.initialVariants[$0] })
    }

    /// The best constant joint action in hindsight (every feasible one is tried), and its run.
    public static func bestStatic(model: ServingModel) -> ServingRun {
        var best: ServingRun?
        for a in 0..<model.jointActionCount where model.isFeasible(jointAction: a) {
            let r = replay(name: "static-best", model: model, actions: [a])
            if best == nil || r.metrics.utility > best!.metrics.utility { best = r }
        }
        return best!
    }

    /// Describes a joint action as `device=variant` pairs.
    public static func describe(_ sc: ServingScenario, action a: Int) -> String {
        zip(sc.fleet, sc.decode(jointAction: a)).map { "\($0.name)=\(sc.variants[$1].name)" }.joined(separator: " ")
    }
}
