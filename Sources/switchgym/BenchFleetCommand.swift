import ArgumentParser
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN
import SwitchGymTestSupport

/// `switchgym bench fleet`: how the fluid env, PPO's family policy and the baselines scale
/// with the fleet (one core).
struct BenchFleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Fluid env decisions/s, PPO steps/s and baseline evaluation time as the fleet grows.",
        discussion: """
            The scenario (default envs/vision-zoo.toml) is resized to each fleet size, each device \
            class keeping its share and the arrival rate scaled with the fleet, over its own trace. \
            Reports fluid decisions per second and heap allocations per step (random per-device \
            actions, --redraw of them drawn anew each interval; one env), discrete-event intervals per second, PPO training steps per second with the family policy (the serving \
            defaults: 8 envs x 128 steps, 10 epochs of 256, net [128, 128]), and the time of every \
            baseline and the oracle over the whole trace. Build with -c release.
            """)

    @Option(help: ScenarioOptions.envHelp)
    var env: String = "envs/vision-zoo.toml"

    @Option(parsing: .upToNextOption, help: "Fleet sizes for the fluid env.")
    var devices: [Int] = [4, 32, 256]

    @Option(parsing: .upToNextOption, help: "Fleet sizes for PPO training.")
    var trainDevices: [Int] = [4, 64]

    @Option(parsing: .upToNextOption, help: "Fleet sizes for `eval --baselines all`.")
    var evalDevices: [Int] = [256]

    @Option(help: "Seconds of timed stepping per fleet size.")
    var seconds: Double = 1

    @Flag(help: "One JSON object per measurement per line.")
    var json = false

    @OptionGroup var actions: RedrawOption

    func validate() throws {
        if !(seconds > 0) { throw ValidationError("--seconds must be positive, got \(seconds).") }
        for n in devices + trainDevices + evalDevices where n < 1 || n > ServingScenario.maxDevices {
            throw ValidationError("fleet sizes must be in 1...\(ServingScenario.maxDevices), got \(n).")
        }
    }

    func run() throws {
        ensureFastBLASKernels(command: "bench fleet")
        BLAS.setThreadCount(1)
        try reportingErrors(inputs: [env]) {
            let base = try ScenarioOptions.loadSpec(env)
            let arrivals = try base.loadArrivals()
            func model(_ n: Int, randomStart: Bool) throws -> ServingModel {
                let sc = base.resizedFleet(to: max(n, base.classes.count))
                return try ServingModel(scenario: sc, arrivals: arrivals, randomStart: randomStart)
            }
            for n in devices {
                let m = try model(n, randomStart: true)
                let spec = EnvSpec(id: m.scenario.name, summary: "", maxEpisodeSteps: m.episodeLength) { FluidServingEnv(model: m, seed: $0) }
                let r = try EnvBenchmark.run(spec: spec, copies: 1, seconds: seconds, allocationSteps: 500, redraw: actions.redraw)
                let allocs = r.allocationsPerStep.map { "\($0)" } ?? "n/a"
                if json {
                    emit(Line(bench: "fluid", devices: m.deviceCount, decisions_per_second: r.stepsPerSecond.rounded(),
                              microseconds_per_decision: 1e6 / r.stepsPerSecond, allocations_per_step: r.allocationsPerStep))
                } else {
                    print("fluid env, \(m.deviceCount) devices: \(String(format: "%.0f", r.stepsPerSecond)) decisions/s (\(String(format: "%.2f", 1e6 / r.stepsPerSecond)) µs each), \(allocs) allocations per step")
                }
                // The discrete-event fidelity (envs fidelity) on the same fleet, initial assignment.
                let des = DiscreteEventBenchmark.run(model: try DiscreteEventModel(serving: m), minSeconds: seconds)
                if json {
                    emit(Line(bench: "discrete-event", devices: m.deviceCount, intervals_per_second: des.intervalsPerSecond.rounded(),
                              queries_per_cpu_second: des.queriesPerCPUSecond.rounded()))
                } else {
                    print("discrete-event env, \(m.deviceCount) devices: \(String(format: "%.0f", des.intervalsPerSecond)) intervals/s, \(String(format: "%.2f", des.queriesPerCPUSecond / 1e6)) M simulated queries per CPU second")
                }
            }
            for n in trainDevices {
                let m = try model(n, randomStart: true)
                var c = PPOConfig()
                c.numEnvs = 8; c.numSteps = 128; c.batchSize = 256; c.numEpochs = 10; c.hiddenSizes = [128, 128]
                // Schedules anneal over `n_timesteps`: the largest accepted keeps them at their start.
                c.totalTimesteps = Int(ConfigBounds.totalTimesteps.upper); c.learningRate = 3e-4; c.entCoef = 0.01
                let agent = try PPO(config: c) { FluidServingEnv(model: m, seed: UInt64($0)) }
                try agent.train(untilStep: 1024)  // warm-up: one update
                let t0 = monotonicSeconds(), s0 = agent.globalStep
                var updates = 0
                while monotonicSeconds() - t0 < max(seconds, 1) || updates < 1 {
                    try agent.train(untilStep: agent.globalStep + 1024)
                    updates += 1
                }
                let sps = Double(agent.globalStep - s0) / (monotonicSeconds() - t0)
                if json {
                    emit(Line(bench: "ppo", devices: m.deviceCount, policy: agent.networks.architecture.rawValue,
                              steps_per_second: sps.rounded(), actor_parameters: agent.policyNetwork.parameterCount))
                } else {
                    print("PPO (\(agent.networks.architecture.rawValue) policy, \(agent.policyNetwork.parameterCount) actor parameters), \(m.deviceCount) devices: \(String(format: "%.0f", sps)) env steps/s")
                }
            }
            for n in evalDevices {
                let m = try ServingEvaluation.model(scenario: base.resizedFleet(to: max(n, base.classes.count)), arrivals: arrivals)
                var total = 0.0
                var parts: [String] = []
                for name in ServingBaselines.allNames {
                    let t0 = monotonicSeconds()
                    if name == "oracle" {
                        _ = ServingBaselines.oracle(model: m)
                    } else {
                        _ = try ServingBaselines.run(name, model: m)
                    }
                    let dt = monotonicSeconds() - t0
                    total += dt
                    parts.append("\(name) \(String(format: "%.2f", dt)) s")
                    if json { emit(Line(bench: "baseline", devices: m.deviceCount, intervals: m.intervalCount, baseline: name, seconds: dt)) }
                }
                if !json {
                    print("baselines and oracle, \(m.deviceCount) devices, \(m.intervalCount) intervals (\(String(format: "%.2f", Double(m.intervalCount) * m.scenario.decisionInterval / 3600)) h): \(String(format: "%.1f", total)) s in all (\(parts.joined(separator: ", ")))")
                }
            }
        }
    }

    /// One JSON line of `--json` (absent fields are left out).
    struct Line: Encodable {
        var bench: String
        var devices: Int
        var decisions_per_second: Double? = nil
        var microseconds_per_decision: Double? = nil
        var allocations_per_step: Double? = nil
        var intervals_per_second: Double? = nil
        var queries_per_cpu_second: Double? = nil
        var policy: String? = nil
        var steps_per_second: Double? = nil
        var actor_parameters: Int? = nil
        var intervals: Int? = nil
        var baseline: String? = nil
        var seconds: Double? = nil
    }

    func emit(_ line: Line) {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        print(String(decoding: (try? e.encode(line)) ?? Data(), as: UTF8.self))
    }
}
