import ArgumentParser
import SwitchGymData
import Foundation
import SwitchGymCore
import SwitchGymEnvs

/// `switchgym envs fidelity --env SPEC`: the same decisions on the fluid and discrete-event fidelities.
struct FidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Replay one policy's decisions on the fluid and the discrete-event fidelity and report the gap.")

    @OptionGroup var scenario: ScenarioOptions

    @Option(help: "Whose decisions: hold, static:VARIANT, static-best, a baseline (reactive, infaas, oracle, ...) or a trained policy (checkpoint .h5 or run folder).")
    var policy: String = "static-best"

    @Option(help: "Intervals to replay (default: the whole trace).")
    var intervals: Int?

    @Flag(help: "Print the totals as JSON.")
    var json = false

    func run() throws {
        try reportingErrors(inputs: scenario.inputs) {
            let sc = try scenario.loadSpec()
            let model = try ServingEvaluation.model(scenario: sc, arrivals: try sc.loadArrivals(overridePath: scenario.trace))
            let decisions = try SimulateCommand.run(policy: policy, scenario: sc, model: model, seed: 0)
            let actions = Array(decisions.assignments.prefix(intervals ?? decisions.assignments.count))
            let des = DiscreteEventModel(serving: model)
            let c = FidelityComparison.run(model: des, assignments: actions)
            if json {
                let a = c.fluid, b = c.discreteEvent.serving
                print("{\"scenario\":\(jsonString(sc.name)),\"policy\":\(jsonString(decisions.name)),\"intervals\":\(actions.count),"
                      + "\"fluid\":{\"utility\":\(a.utility),\"goodput\":\(a.goodput),\"slo_attainment\":\(a.sloAttainment),\"mean_accuracy\":\(a.meanAccuracy)},"
                      + "\"discrete_event\":{\"utility\":\(b.utility),\"goodput\":\(b.goodput),\"slo_attainment\":\(b.sloAttainment),\"mean_accuracy\":\(b.meanAccuracy),"
                      + "\"latency_p50_ms\":\(c.discreteEvent.latencyP50Ms),\"latency_p99_ms\":\(c.discreteEvent.latencyP99Ms)}}")
            } else {
                print("\(sc.name), decisions of \(decisions.name):")
                print(c.summary)
            }
        }
    }
}

/// `switchgym envs interference --env SPEC`: online RLS vs a static fit on the discrete-event batches.
struct InterferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interference",
        abstract: "Co-located batches on the discrete-event fidelity: an online RLS latency predictor vs a static fit.")

    @OptionGroup var scenario: ScenarioOptions

    @Option(help: "Batches a device runs at once.")
    var concurrency: Int = 2

    @Option(help: "Ground-truth inflation per unit of co-located load at the start.")
    var theta: Double = 0.4

    @Option(help: "Drift of θ per hour of trace time.")
    var drift: Double = 0.8

    @Option(help: "Intervals to simulate (default: the whole trace).")
    var intervals: Int?

    func run() throws {
        try reportingErrors(inputs: scenario.inputs) {
            let sc = try scenario.loadSpec()
            let model = try ServingEvaluation.model(scenario: sc, arrivals: try sc.loadArrivals(overridePath: scenario.trace))
            let s = try InterferenceStudy.run(serving: model, concurrency: concurrency, theta: theta,
                                              thetaDriftPerHour: drift, intervals: intervals)
            func f(_ x: Double) -> String { String(format: "%.2f", x) }
            print("\(sc.name): \(s.batches) batches, θ \(f(s.thetaStart)) -> \(f(s.thetaEnd)) (concurrency \(concurrency))")
            print("MAPE in the calibration part (first 20%): online RLS \(f(s.onlineCalibrationMAPE))%, static fit \(f(s.staticCalibrationMAPE))%")
            print("MAPE after it:                            online RLS \(f(s.onlineAfterMAPE))%, static fit \(f(s.staticAfterMAPE))%")
            print("coefficients [load, batches]: online \(s.onlineCoefficients.map(f)), static \(s.staticCoefficients.map(f))")
        }
    }
}
