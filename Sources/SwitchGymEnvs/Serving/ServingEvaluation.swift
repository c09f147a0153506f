import SwitchGymCore

/// One policy's run over a whole arrival series: totals, per-interval details and the
/// assignments it chose.
public struct ServingRun: Sendable {
    public var name: String
    public var metrics: ServingMetrics
    public var intervals: [ServingStepInfo]
    /// Per interval, the variant each device was asked to hold (the action's choices).
    public var assignments: [[Int]]

    public init(name: String, metrics: ServingMetrics, intervals: [ServingStepInfo], assignments: [[Int]]) {
        self.name = name
        self.metrics = metrics
        self.intervals = intervals
        self.assignments = assignments
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

    /// Runs `policy` from reset to the end of the series. The policy gets the env, its
    /// observation, the action mask (``ServingModel/actionLayout``) and a choice row to fill:
    /// the variant each device should hold; the row starts as the variants held now, so a
    /// policy that writes nothing stays.
    public static func run(name: String, model: ServingModel, seed: UInt64 = 0,
                           policy: (FluidServingEnv, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Bool>,
                                    UnsafeMutableBufferPointer<Int>) -> Void) -> ServingRun {
        var env = FluidServingEnv(model: model, seed: seed)
        env.resetState(seed: seed)
        var obs = [Float](repeating: 0, count: model.observationDimension)
        var mask = [Bool](repeating: false, count: model.actionLayout.maskWidth)
        var choices = [Int](repeating: 0, count: model.deviceCount)
        var infos: [ServingStepInfo] = []
        var assignments: [[Int]] = []
        infos.reserveCapacity(model.episodeLength)
        assignments.reserveCapacity(model.episodeLength)
        while true {
            obs.withUnsafeMutableBufferPointer { env.writeObservation(into: $0.baseAddress!) }
            mask.withUnsafeMutableBufferPointer { env.writeActionMask(into: $0.baseAddress!) }
            for d in 0..<model.deviceCount { choices[d] = env.variants[d] }
            obs.withUnsafeBufferPointer { o in
                mask.withUnsafeBufferPointer { m in choices.withUnsafeMutableBufferPointer { policy(env, o, m, $0) } }
            }
            let t = choices.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            infos.append(env.last)
            assignments.append(choices)
            if t.truncated || t.terminated { break }
        }
        return ServingRun(name: name, metrics: env.totals, intervals: infos, assignments: assignments)
    }

    /// Replays a fixed sequence of assignments (the last repeats if the series is longer).
    public static func replay(name: String, model: ServingModel, assignments: [[Int]], seed: UInt64 = 0) -> ServingRun {
        precondition(!assignments.isEmpty, "replay needs at least one assignment")
        return run(name: name, model: model, seed: seed) { env, _, _, out in
            let a = assignments[min(env.time, assignments.count - 1)]
            for d in a.indices { out[d] = a[d] }
        }
    }
}
