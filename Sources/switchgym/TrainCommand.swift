import ArgumentParser
import SwitchGymData
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN

/// `switchgym train --env SPEC_OR_ID --algo ppo|dqn --seed N --steps K --out checkpoints/RUN`
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a PPO or DQN agent on an env or a scenario spec, with checkpoints and metrics.",
        discussion: """
            The run folder gets config.json (the resolved config), metrics.csv (step,tag,value,wall_time), \
            TensorBoard event files (charts/episodic_return, charts/episodic_length, charts/SPS, losses/...) \
            and HDF5 checkpoints ckpt-<step>.h5 (the last --keep are kept). --resume continues the run in \
            --out from its latest checkpoint, bit for bit as if it had not stopped. Defaults are the RL Zoo's \
            tuned CartPole-v1 settings; --config FILE (JSON, the keys of config.json) overrides them.
            """)

    @Option(help: "A registered env id (CartPole-v1, ...) or a scenario spec (envs/*.toml).")
    var env: String

    @Option(help: "ppo or dqn.")
    var algo: String = "ppo"

    @Option(help: "Seed of the agent and the envs.")
    var seed: UInt64?

    @Option(help: "Total env steps (overrides n_timesteps).")
    var steps: Int?

    @Option(help: "The run folder.")
    var out: String

    @Option(help: "A JSON file of config keys overriding the defaults.")
    var config: String?

    @Flag(help: "Continue the run in --out from its latest checkpoint.")
    var resume = false

    @Option(help: "For a scenario spec: train on this trace dataset (.h5), e.g. the training split.")
    var trace: String?

    @Option(help: "Env steps between checkpoints (default: a tenth of the run).")
    var checkpointEvery: Int?

    @Option(help: "Checkpoints to keep.")
    var keep: Int = 3

    @Option(help: ArgumentHelp("Stop (as if interrupted) once this many steps are done.", visibility: .hidden))
    var stopAt: Int?

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard ["ppo", "dqn"].contains(algo) else { throw ValidationError("--algo must be ppo or dqn, got \(algo).") }
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive, got \(steps).") }
        if keep < 1 { throw ValidationError("--keep must be >= 1, got \(keep).") }
        if let c = checkpointEvery, c <= 0 { throw ValidationError("--checkpoint-every must be positive, got \(c).") }
    }

    func run() throws {
        ensureFastBLASKernels(command: "train")
        var inputs = [String]()
        if let config { inputs.append(config) }
        if let trace { inputs.append(trace) }
        if EnvResolver.isScenarioPath(env) { inputs.append(env) }
        try reportingErrors(inputs: inputs) {
            BLAS.setThreadCount(1)
            let runDir = URL(fileURLWithPath: out)
            let configPath = runDir.appendingPathComponent("config.json").path
            let runConfig: TrainRunConfig
            if resume {
                guard FileManager.default.fileExists(atPath: configPath) else {
                    throw CLIError(message: "\(out): no run to resume (config.json is missing); start one without --resume.", status: ExitStatus.noInput)
                }
                if config != nil || seed != nil || steps != nil {
                    FileHandle.standardError.write(Data("note: --resume uses the run's saved config.json; --config/--seed/--steps are ignored.\n".utf8))
                }
                runConfig = try TrainRunConfig.read(configPath)
                guard runConfig.env == env, runConfig.trace == trace else {
                    throw CLIError.usage("--resume: the run in \(out) trained on --env \(runConfig.env)\(runConfig.trace.map { " --trace \($0)" } ?? ""); pass the same.")
                }
            } else {
                let agent = try TrainConfig.resolve(algo: algo, file: config, seed: seed, steps: steps,
                                                    base: EnvResolver.isScenarioPath(env) ? TrainConfig.servingDefaults(algo) : [:])
                let existing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
                if existing.contains(where: { $0.hasPrefix("ckpt-") || $0 == "config.json" }) {
                    throw CLIError(message: "\(out) already holds a run; pass --resume to continue it or choose another --out.", status: ExitStatus.cannotCreate)
                }
                runConfig = TrainRunConfig(env: env, trace: trace, algo: algo, agent: agent)
            }
            let session = TrainSession(out: runDir, runConfig: runConfig, resume: resume, keep: keep,
                                       checkpointEvery: checkpointEvery, stopAt: stopAt, quiet: quiet)
            try TrainDispatch.run(session: session, env: env, trace: trace)
        }
    }
}

/// What a run folder's config.json holds: the env, the trace and the agent's resolved config.
struct TrainRunConfig: Codable, Equatable {
    var env: String
    var trace: String?
    var algo: String
    /// The agent config as JSON (PPOConfig or DQNConfig keys).
    var agent: String

    func json() -> String {
        // A readable file: the agent's keys inline.
        let head = "{\n  \"env\": \(jsonString(env)),\n  \"trace\": \(trace.map(jsonString) ?? "null"),\n  \"algo\": \(jsonString(algo)),\n  \"agent\": "
        return head + agent + "\n}\n"
    }

    static func read(_ path: String) throws -> TrainRunConfig {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let env = obj["env"] as? String, let algo = obj["algo"] as? String, let agent = obj["agent"] else {
            throw CLIError(message: "\(path): expected a SwitchGym run config with env, algo and agent keys.", status: ExitStatus.dataError)
        }
        let agentData = try JSONSerialization.data(withJSONObject: agent, options: [.sortedKeys])
        return TrainRunConfig(env: env, trace: obj["trace"] as? String, algo: algo, agent: String(decoding: agentData, as: UTF8.self))
    }
}

/// Resolves and checks agent configs (defaults, a JSON file, flags).
enum TrainConfig {
    /// Keys a config file may set, per algorithm (the keys the config encodes, plus the
    /// optional ones that encode only when set).
    static func knownKeys(_ algo: String) -> Set<String> {
        let data = algo == "ppo" ? (try? JSONEncoder().encode(PPOConfig())) : (try? JSONEncoder().encode(DQNConfig()))
        let keys = (try? JSONSerialization.jsonObject(with: data ?? Data()) as? [String: Any])?.keys ?? [:].keys
        return Set(keys).union(algo == "ppo" ? ["clip_range_vf", "target_kl"] : [])
    }

    /// Defaults for scenario envs (long episodes, many joint actions, rewards scaled to ~1 per
    /// interval), on top of the RL Zoo CartPole settings.
    static func servingDefaults(_ algo: String) -> [String: Any] {
        algo == "ppo"
            ? ["n_envs": 8, "n_steps": 128, "batch_size": 256, "n_epochs": 10, "gamma": 0.99, "gae_lambda": 0.95,
               "learning_rate": 0.0003, "ent_coef": 0.01, "n_timesteps": 200_000, "net_arch": [128, 128]]
            : ["n_timesteps": 200_000, "learning_starts": 2000, "exploration_fraction": 0.3]
    }

    /// The agent config as JSON: `base`, then the keys of `file` (unknown keys are errors
    /// naming the file and key), then `seed` and `steps`, decoded and validated.
    static func resolve(algo: String, file: String?, seed: UInt64?, steps: Int?, base: [String: Any] = [:]) throws -> String {
        var overrides = base
        if let file {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw CLIError(message: "\(file): cannot read the config file (\(error.localizedDescription)).", status: ExitStatus.noInput)
            }
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CLIError(message: "\(file): expected a JSON object of config keys.", status: ExitStatus.dataError)
            }
            let known = knownKeys(algo)
            for k in obj.keys.sorted() where !known.contains(k) {
                throw CLIError(message: "\(file): unknown \(algo) config key '\(k)' (expected one of: \(known.sorted().joined(separator: ", "))).", status: ExitStatus.dataError)
            }
            overrides.merge(obj) { _, new in new }
        }
        if let seed { overrides["seed"] = seed }
        if let steps { overrides["n_timesteps"] = steps }
        let data = try JSONSerialization.data(withJSONObject: overrides)
        let agentJSON: String
        do {
            if algo == "ppo" {
                let c = try JSONDecoder().decode(PPOConfig.self, from: data)
                try c.validate()
                agentJSON = c.json()
            } else {
                let c = try JSONDecoder().decode(DQNConfig.self, from: data)
                try c.validate()
                agentJSON = c.json()
            }
        } catch let e as DecodingError {
            throw CLIError(message: "\(file ?? "config"): \(describeDecoding(e))", status: ExitStatus.dataError)
        }
        return agentJSON
    }

    static func describeDecoding(_ e: DecodingError) -> String {
        switch e {
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
            return "key '\(c.codingPath.map(\.stringValue).joined(separator: "."))': expected \(t)"
        case .dataCorrupted(let c): return "key '\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)"
        case .keyNotFound(let k, _): return "missing key '\(k.stringValue)'"
        @unknown default: return "\(e)"
        }
    }
}
