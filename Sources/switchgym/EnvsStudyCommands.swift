import ArgumentParser
import SwitchGymData
import Foundation
import SwitchGymCore
import SwitchGymEnvs

/// `switchgym envs fidelity --env SPEC|shipped`: the same decisions on the fluid and
/// discrete-event fidelities: one policy at the spec's own rate, or the fidelity gap table
/// (``FidelityGapStudy``) over loads and policies.
struct FidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Replay policies' decisions on the fluid and the discrete-event fidelity and report the gap.",
        discussion: """
            Without --loads and --policies: --policy's decisions at the spec's own rate. With either: the \
            fidelity gap table, every policy of --policies (default: --policy) at every load of --loads \
            (default 0.5,1,1.5; the mean rate over the fleet's capacity for the stream mix), gap = \
            (fluid - discrete-event) / |discrete-event|. --env shipped runs every shipped spec whose trace \
            is at hand.
            """)

    @OptionGroup var scenario: ScenarioOptions

    @Option(help: "Whose decisions: hold, static:VARIANT, static-best, a baseline (reactive, infaas, oracle, ...) or a trained policy (checkpoint .h5, run folder, or a policy file from `export`, run with its own beam width).")
    var policy: String = "static-best"

    @Option(help: ArgumentHelp("Comma-separated policies for the gap table (as --policy).", valueName: "a,b,..."))
    var policies: String?

    @Option(help: ArgumentHelp("Comma-separated loads for the gap table: mean rate over the fleet's capacity.", valueName: "x,y,..."))
    var loads: String?

    @Option(help: "How the fluid env queues inside an interval: subinterval (default) or interval (the old, lenient model).")
    var fluidQueueing: FluidQueueing = .subinterval

    @Option(help: "Intervals to replay (default: the whole trace).")
    var intervals: Int?

    @Option(help: ArgumentHelp("The router's queued queries at a decision, in both fidelities: pinned (default: they stay on the device they were sent to unless it switches) or rebalanced (every device's are dispatched again when any device switches; the fluid queue stays pooled).", valueName: "pinned|rebalanced"))
    var dispatch: QueuedDispatch = .pinned

    @Flag(help: "Print the totals (or the table) as JSON.")
    var json = false

    func validate() throws {
        if let intervals, intervals <= 0 { throw ValidationError("--intervals must be positive, got \(intervals).") }
        if let loads {
            for x in loads.split(separator: ",", omittingEmptySubsequences: false) {
                guard let v = Double(x.trimmingCharacters(in: .whitespaces)), v > 0, v.isFinite else {
                    throw ValidationError("--loads: '\(x)' is not a positive number (expected e.g. 0.5,1,1.5).")
                }
            }
        }
        if let policies, policies.split(separator: ",").isEmpty { throw ValidationError("--policies: expected a comma-separated list, got '\(policies)'.") }
    }

    /// The old single comparison's JSON.
    struct Single: Codable {
        struct Fidelity: Codable {
            var utility: Double, goodput: Double, slo_attainment: Double, mean_accuracy: Double
            var latency_p50_ms: Double?, latency_p99_ms: Double?
        }
        var scenario: String, policy: String, fluid_queueing: FluidQueueing, intervals: Int
        var fluid: Fidelity, discrete_event: Fidelity
    }

    func run() throws {
        try reportingErrors(inputs: scenario.env == "shipped" ? [] : scenario.inputs) {
            if loads == nil && policies == nil && scenario.env != "shipped" { return try runSingle() }
            let loadList = (loads ?? "0.5,1,1.5").split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
            let names = (policies ?? policy).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let paths: [String]
            if scenario.env == "shipped" {
                let shipped = EnvResolver.shippedSpecsByTrace()
                for m in shipped.missing { note("fidelity: skipping \(m.spec): its dataset \(m.dataset) has not been imported") }
                paths = shipped.ready
            } else {
                paths = [scenario.env]
            }
            var study = FidelityGapStudy(queueing: fluidQueueing, points: [])
            for path in paths {
                let sc = try ScenarioOptions.loadSpec(path)
                let ps: [FidelityGapStudy.Policy] = names.map { name in
                    (name, { model in try SimulateCommand.run(policy: name, scenario: sc, model: model, seed: 0).assignments })
                }
                let s = try FidelityGapStudy.run(scenario: sc, trace: scenario.trace, loads: loadList, policies: ps,
                                                 queueing: fluidQueueing, intervals: intervals,
                                                 config: DiscreteEventConfig(queuedDispatch: dispatch))
                study.points += s.points
                if !json { note("fidelity: \(sc.name) done") }
            }
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                e.keyEncodingStrategy = .convertToSnakeCase
                e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                print(String(decoding: try e.encode(study), as: UTF8.self))
            } else {
                print("fluid queueing: \(fluidQueueing.rawValue); gap = (fluid - discrete-event) / |discrete-event|")
                print(study.markdown)
            }
        }
    }

    func runSingle() throws {
        let sc = try scenario.loadSpec()
        var evaluation = sc
        evaluation.episodeIntervals = nil
        let model = try ServingModel(scenario: evaluation, arrivals: try sc.loadArrivals(overridePath: scenario.trace), queueing: fluidQueueing,
                                     dispatch: dispatch)
        let decisions = try SimulateCommand.run(policy: policy, scenario: sc, model: model, seed: 0)
        let actions = Array(decisions.assignments.prefix(intervals ?? decisions.assignments.count))
        let des = try DiscreteEventModel(serving: model, config: DiscreteEventConfig(queuedDispatch: dispatch))
        let c = FidelityComparison.run(model: des, assignments: actions)
        if json {
            let a = c.fluid, b = c.discreteEvent.serving
            let out = Single(
                scenario: sc.name, policy: decisions.name, fluid_queueing: fluidQueueing, intervals: actions.count,
                fluid: .init(utility: a.utility, goodput: a.goodput, slo_attainment: a.sloAttainment, mean_accuracy: a.meanAccuracy),
                discrete_event: .init(utility: b.utility, goodput: b.goodput, slo_attainment: b.sloAttainment, mean_accuracy: b.meanAccuracy,
                                      latency_p50_ms: c.discreteEvent.latencyP50Ms, latency_p99_ms: c.discreteEvent.latencyP99Ms))
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try e.encode(out), as: UTF8.self))
        } else {
            print("\(sc.name), decisions of \(decisions.name) (fluid queueing \(fluidQueueing.rawValue)):")
            print(c.summary)
        }
    }
}

extension FluidQueueing: ExpressibleByArgument {}
extension QueuedDispatch: ExpressibleByArgument {}

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
