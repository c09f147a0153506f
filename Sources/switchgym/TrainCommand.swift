import ArgumentParser
import SwitchGymData
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN
import SwitchGymIO

/// `switchgym train --env SPEC_OR_ID --algo ppo|dqn --seed N --steps K --out checkpoints/RUN`
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a PPO or DQN agent on an env or a scenario spec, with checkpoints and metrics.",
        discussion: """
            The run folder gets config.json (the resolved config), metrics.csv (step,tag,value,wall_time), \
            TensorBoard event files (charts/episodic_return, charts/episodic_length, charts/SPS, losses/...) \
            and HDF5 checkpoints ckpt-<step>.h5 (the last --keep are kept). --resume continues the run in \
            --out from its newest intact checkpoint (damaged newer ones are skipped, and named), bit for bit \
            as if it had not stopped; a folder whose run stopped before its first checkpoint is reused by a \
            fresh run. A running train holds --out/.lock, so a second run into the same folder is refused. Defaults are the RL Zoo's \
            tuned CartPole-v1 settings; --config FILE (JSON, the keys of config.json) overrides them, \
            or --config '{...}' with the JSON inline. \
            --seed seeds the agent and the envs; --trace trains a scenario on that dataset, e.g. the \
            training part of `traces split`. \
            --stop-at-return R stops once the mean return of the last 20 training episodes reaches R, or \
            with --stop-on eval after the first evaluation whose mean return reaches R (SB3's EvalCallback \
            with StopTrainingOnRewardThreshold; needs --eval-every); \
            --eval-every N plays --eval-episodes greedy episodes on a separate env (seeded seed + 1000000, \
            the same start states each time) after the first update past each multiple of N steps, logs \
            eval/mean_return, eval/mean_length and eval/best_mean_return, and keeps the best policy in \
            --out/best.h5 (a checkpoint: `eval --policy`, `export` and the Python package read it). The goals \
            are saved in config.json, and --resume continues towards them exactly.
            """)

    @OptionGroup var scenario: ScenarioOptions

    @Option(help: "ppo or dqn.")
    var algo: String = "ppo"

    @OptionGroup var seed: SeedOption

    @Option(help: "Total env steps (overrides n_timesteps).")
    var steps: Int?

    @OptionGroup var output: OutputOptions<RunFolderOutput>

    @Option(help: "A JSON file of config keys overriding the defaults, or the JSON object itself ('{\"net_arch\": [64, 64]}').")
    var config: String?

    @Flag(help: "Continue the run in --out from its latest checkpoint.")
    var resume = false

    @Option(help: "Env steps between checkpoints (default: a tenth of the run).")
    var checkpointEvery: Int?

    @Option(help: "Checkpoints to keep.")
    var keep: Int = 3

    @Option(help: "Stop once the mean return of the last 20 training episodes reaches this.")
    var stopAtReturn: Double?

    @Option(help: "What --stop-at-return is compared with: window (the mean of the last 20 training episodes) or eval (the mean of an --eval-every evaluation).")
    var stopOn: TrainingGoals.StopCriterion = .window

    @Option(help: "Evaluate the greedy policy every this many env steps, keeping the best in --out/best.h5.")
    var evalEvery: Int?

    @Option(help: "Episodes per evaluation (with --eval-every).")
    var evalEpisodes: Int = TrainingGoals.defaultEvalEpisodes

    @Option(help: ArgumentHelp("Stop (as if interrupted) once this many steps are done.", visibility: .hidden))
    var stopAt: Int?

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard ["ppo", "dqn"].contains(algo) else { throw ValidationError("--algo must be ppo or dqn, got \(algo).") }
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive, got \(steps).") }
        if keep < 1 { throw ValidationError("--keep must be >= 1, got \(keep).") }
        if let c = checkpointEvery, c <= 0 { throw ValidationError("--checkpoint-every must be positive, got \(c).") }
        let option = ["stop_at_return": "--stop-at-return", "stop_on": "--stop-on", "eval_every": "--eval-every", "eval_episodes": "--eval-episodes"]
        if let v = goals.violation() { throw ValidationError("\(option[v.key] ?? v.key): \(v.message).") }
    }

    /// The goals given on the command line.
    var goals: TrainingGoals {
        TrainingGoals(stopAtReturn: stopAtReturn, stopOn: stopOn, evalEvery: evalEvery, evalEpisodes: evalEpisodes)
    }

    func run() throws {
        ensureFastBLASKernels(command: "train")
        let (env, trace, out) = (scenario.env, scenario.trace, output.out)
        try reportingErrors(inputs: scenario.inputs + (config.map { [$0] } ?? [])) {
            BLAS.setThreadCount(1)
            try OutputGuard.check(folder: out)
            let directory = URL(fileURLWithPath: out)
            let run: TrainingRunConfig
            if resume {
                run = try trainingErrors { try TrainingRunConfig.read(from: directory) }
                if config != nil || seed.given != nil || steps != nil || !goals.isEmpty {
                    note("note: --resume uses the run's saved config.json; --config/--seed/--steps and the goals are ignored.")
                }
                guard run.env == env, run.trace == trace else {
                    throw CLIError.usage("--resume: the run in \(out) trained on --env \(run.env)\(run.trace.map { " --trace \($0)" } ?? ""); pass the same.")
                }
            } else {
                run = try trainingErrors {
                    try Training.resolve(env: env, trace: trace, algorithm: Algorithm(rawValue: algo)!, file: config, seed: seed.given, steps: steps,
                                      goals: goals)
                }
            }
            let options = TrainingOptions(resume: resume, keep: keep, checkpointEvery: checkpointEvery, stopAt: stopAt, progress: !quiet,
                                          notice: { note($0) })
            let s = try trainingErrors { try Training.run(run, in: directory, options: options) }
            print("\(s.algorithm.rawValue) on \(s.env): \(s.steps) steps; mean return of the last \(s.recentEpisodes) episodes \(String(format: "%.4g", s.recentMeanReturn)); checkpoint \(s.checkpoint ?? "-")"
                  + (s.reachedGoal ? "; reached --stop-at-return \(String(format: "%g", run.goals.stopAtReturn ?? 0))"
                                     + (run.goals.stopOn == .eval ? " (evaluation mean)" : "") : "")
                  + (s.bestEvaluation.map { "; best evaluation \(String(format: "%.4g", $0.meanReturn)) at step \($0.step) (\(s.bestCheckpoint ?? "-"))" } ?? ""))
        }
    }
}

extension TrainingGoals.StopCriterion: ExpressibleByArgument {}

/// Maps ``TrainingError`` to the CLI's exit statuses.
func trainingErrors<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let e as TrainingError {
        let status: Int32
        switch e.kind {
        case .invalidConfig: status = ExitStatus.dataError
        case .nothingToResume: status = ExitStatus.noInput
        case .folderInUse: status = ExitStatus.cannotCreate
        case .mismatch, .invalidEnv: status = ExitStatus.usage
        }
        throw CLIError(message: e.message, status: status)
    }
}
