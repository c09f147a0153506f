import ArgumentParser
import SwitchGymData
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymTestSupport

/// `switchgym bench envs`: single-core steps per second and allocations per vector step of
/// every registered env. (Attached under the `bench` group by the command registry.)
struct BenchEnvsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envs",
        abstract: "Measure env steps per second (one core) and allocations per vector step.",
        discussion: """
            Each env runs as a VectorEnv of --copies sub-envs with next-step autoreset and \
            precomputed random actions (--redraw of the choices drawn anew each step). With --env, only that env (and its discrete-event fidelity for \
            a scenario spec). Build with -c release for meaningful numbers.
            """)

    @Flag(help: "Print one JSON object per env per line: {\"env\", \"steps_per_second\", \"allocations_per_step\"}.")
    var json = false

    @Option(help: "Seconds of timed stepping per env.")
    var seconds: Double = 1

    @Option(help: "Sub-envs per vector env.")
    var copies: Int = 16

    @Option(help: ScenarioOptions.envHelp)
    var env: String?

    @Option(help: "Fluid queueing of the scenario envs: subinterval (default), interval, or both (each scenario twice, the interval run's id ending in #interval).")
    var fluidQueueing: String = "subinterval"

    @OptionGroup var actions: RedrawOption

    func validate() throws {
        if !(seconds > 0) { throw ValidationError("--seconds must be positive, got \(seconds).") }
        if copies <= 0 { throw ValidationError("--copies must be positive, got \(copies).") }
        if let env, !EnvResolver.isScenarioPath(env) { _ = try EnvRegistry.spec(env) }
        guard fluidQueueing == "both" || FluidQueueing(rawValue: fluidQueueing) != nil else {
            throw ValidationError("--fluid-queueing must be subinterval, interval or both, got '\(fluidQueueing)'.")
        }
    }

    func run() throws {
        // Every registered env, then the fluid env of every shipped scenario spec whose trace is
        // at hand.
        let shipped = EnvResolver.shippedSpecsByTrace()
        if env == nil {
            for m in shipped.missing { note("bench: skipping \(m.spec): its dataset \(m.dataset) has not been imported") }
        }
        let modes: [FluidQueueing] = fluidQueueing == "both" ? [.subinterval, .interval] : [FluidQueueing(rawValue: fluidQueueing)!]
        func scenarioSpecs(_ path: String) throws -> [EnvSpec] {
            try modes.map { q in
                let (s, model) = try EnvResolver.scenarioSpec(path: path, queueing: q)
                guard q == .interval else { return s }
                return EnvSpec(id: path + "#interval", summary: s.summary, maxEpisodeSteps: s.maxEpisodeSteps) {
                    FluidServingEnv(model: model, seed: $0)
                }
            }
        }
        let specs: [EnvSpec]
        if let env {
            specs = EnvResolver.isScenarioPath(env) ? try scenarioSpecs(env) : [try EnvRegistry.spec(env)]
        } else {
            specs = EnvRegistry.all + (try shipped.ready.flatMap { try scenarioSpecs($0) })
        }
        for spec in specs {
            let r = try EnvBenchmark.run(spec: spec, copies: copies, seconds: seconds, redraw: actions.redraw)
            if json {
                print(r.jsonLine)
            } else {
                let sps = (r.stepsPerSecond / 1e6 * 100).rounded() / 100
                let allocs = r.allocationsPerStep.map { "\($0)" } ?? "n/a"
                print("\(spec.id): \(sps) M steps/s, \(allocs) allocations per vector step (\(r.copies) copies)")
            }
        }
        // The discrete-event fidelity of every shipped scenario: simulated queries per CPU second.
        let desSpecs = env.map { EnvResolver.isScenarioPath($0) ? [$0] : [] } ?? shipped.ready
        for path in desSpecs {
            let r = try DiscreteEventBenchmark.run(specPath: path, minSeconds: seconds)
            if json {
                print(BenchLine(env: path + "#discrete-event", stepsPerSecond: r.intervalsPerSecond.rounded(),
                                queriesPerSecond: r.queriesPerCPUSecond.rounded(), allocationsPerStep: nil).json)
            } else {
                print("\(path) (discrete-event): \(String(format: "%.2f", r.queriesPerCPUSecond / 1e6)) M simulated queries per CPU second, \(String(format: "%.0f", r.intervalsPerSecond)) intervals/s")
            }
        }
    }
}
