import Foundation
import Testing
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN
@testable import SwitchGymAgents

/// The training recipe: the typed run config (strict keys, defaults, overrides) and the one
/// entry point, Training.run, on a registered env and on a scenario spec.
@Suite(.serialized) struct TrainingRecipeTests {
    func scratch() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    @Test func configsDecodeOverTheirDefaultsAndRefuseUnknownKeysAndWrongTypes() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.json").path
        try "{\"n_steps\": 16, \"net_arch\": [32]}".write(toFile: file, atomically: true, encoding: .utf8)
        let spec = ServingBaselineTests.root + "/envs/vision-zoo.toml"
        let run = try Training.resolve(env: spec, trace: nil, algorithm: .ppo, file: file, seed: 5, steps: 999)
        guard case .ppo(let c) = run.agent else { Issue.record("not ppo"); return }
        // Serving defaults, then the file, then seed and steps.
        #expect(c.numSteps == 16 && c.hiddenSizes == [32] && c.numEpochs == 10 && c.entCoef == 0.01)
        #expect(c.seed == 5 && c.totalTimesteps == 999 && c.policy == .auto)
        let cartpole = try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: nil, seed: nil, steps: nil)
        guard case .ppo(let d) = cartpole.agent else { Issue.record("not ppo"); return }
        #expect(d == PPOConfig())
        for (text, expected) in [("{\"lr\": 0.1}", "unknown ppo config key 'lr'"),
                                 ("{\"batch_size\": 64.5}", "key 'batch_size': expected"),
                                 ("{\"n_envs\": 0}", "n_envs")] {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            do {
                _ = try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: file, seed: nil, steps: nil)
                Issue.record("\(text) was accepted")
            } catch let e as TrainingError {
                #expect(e.kind == .invalidConfig && e.message.contains(file) && e.message.contains(expected), "\(e)")
            }
        }
    }

    /// `--config '{...}'`: the JSON object itself, decoded as a file's, its errors named "inline config".
    @Test func anInlineConfigDecodesLikeAFile() throws {
        let spec = ServingBaselineTests.root + "/envs/vision-zoo.toml"
        let run = try Training.resolve(env: spec, trace: nil, algorithm: .ppo, file: " {\"net_arch\": [64, 64], \"policy\": \"mlp\"}",
                                       seed: 3, steps: 500)
        guard case .ppo(let c) = run.agent else { Issue.record("not ppo"); return }
        #expect(c.hiddenSizes == [64, 64] && c.policy == .mlp && c.numEpochs == 10 && c.seed == 3 && c.totalTimesteps == 500)
        for (text, expected) in [("{\"lr\": 0.1}", "unknown ppo config key 'lr'"), ("{\"net_arch\": [64,", "inline config")] {
            do {
                _ = try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: text, seed: nil, steps: nil)
                Issue.record("\(text) was accepted")
            } catch let e as TrainingError {
                #expect(e.kind == .invalidConfig && e.message.contains("inline config") && e.message.contains(expected), "\(e)")
            }
        }
        // Not JSON: still a path, and a missing one is named as a file.
        do {
            _ = try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: "/nonexistent/c.json", seed: nil, steps: nil)
            Issue.record("a missing file was accepted")
        } catch let e as TrainingError {
            #expect(e.message.contains("/nonexistent/c.json: cannot read the config file"), "\(e)")
        }
    }

    @Test func theRunConfigRoundTripsAndRefusesUnknownKeys() throws {
        let run = TrainingRunConfig(env: "CartPole-v1", trace: nil, agent: .dqn(DQNConfig()))
        let data = try JSONEncoder().encode(run)
        #expect(try JSONDecoder().decode(TrainingRunConfig.self, from: data) == run)
        var object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["algorithm"] = "ppo"
        let bad = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(TrainingRunConfig.self, from: bad) }
    }

    @Test func trainingRunsOnAScenarioAndItsPolicyLoads() throws {
        BLAS.setThreadCount(1)
        let dir = try scratch(); defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("c.json").path
        try "{\"n_envs\": 2, \"n_steps\": 16, \"batch_size\": 32, \"n_epochs\": 1, \"net_arch\": [16]}".write(toFile: config, atomically: true, encoding: .utf8)
        let spec = ServingBaselineTests.root + "/envs/llm-zoo.toml"
        let run = try Training.resolve(env: spec, trace: nil, algorithm: .ppo, file: config, seed: 1, steps: 96)
        let out = dir.appendingPathComponent("run")
        let s = try Training.run(run, in: out, options: TrainingOptions(progress: false))
        #expect(s.steps == 96 && s.checkpoint != nil)
        #expect(try TrainingRunConfig.read(from: out) == run)
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8)
        #expect(metrics.contains("losses/policy_loss") && metrics.contains("charts/learning_rate") && !metrics.contains("losses/learning_rate"))
        let policy = try FrozenPolicy.load(path: out.path)
        #expect(policy.architecture == .family)
        // A second fresh run into the same folder is refused; resuming a finished run is a no-op.
        #expect(throws: TrainingError.self) { try Training.run(run, in: out, options: TrainingOptions(progress: false)) }
        let again = try Training.run(run, in: out, options: TrainingOptions(resume: true, progress: false))
        #expect(again.steps == 96)
        do {
            try Training.run(TrainingRunConfig(env: "NoSuchEnv-v9", agent: .ppo(PPOConfig())), in: dir.appendingPathComponent("x"))
            Issue.record("an unknown env trained")
        } catch let e as TrainingError {
            #expect(e.kind == .invalidEnv && e.message.contains("CartPole-v1"))
        }
    }

    /// `policy = auto` in the recipe: a family policy on vision-zoo's 3 GPUs, class-level
    /// moves on the same zoo grown to 20 GPUs (more than `autoMovesAbove`); the moves policy
    /// trains, resumes and its checkpoint runs on the fleet as a frozen policy.
    @Test func autoPicksMovesForLargeFleets() throws {
        BLAS.setThreadCount(1)
        let dir = try scratch(); defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("c.json").path
        try "{\"n_envs\": 2, \"n_steps\": 16, \"batch_size\": 32, \"n_epochs\": 1, \"net_arch\": [16]}".write(toFile: config, atomically: true, encoding: .utf8)
        let large = dir.appendingPathComponent("vision-20.toml").path
        try """
            extends = "\(ServingBaselineTests.root)/envs/vision-zoo.toml"
            name = "vision-zoo-20"

            [trace]
            dataset = "\(ServingBaselineTests.root)/datasets/default.h5"
            mean_rate = 20000.0

            [[fleet]]
            name = "a100"
            kind = "gpu"
            memory_gb = 80.0
            count = 20
            host_ram_gb = 8.0
            initial = "efficientnet-b0-amp"
            """.write(toFile: large, atomically: true, encoding: .utf8)
        #expect(PolicyArchitecture.auto.resolved(fleetDevices: 16) == .family)
        #expect(PolicyArchitecture.auto.resolved(fleetDevices: 17) == .moves)
        #expect(PolicyArchitecture.mlp.resolved(fleetDevices: 64) == .mlp)
        for (spec, expected) in [(ServingBaselineTests.root + "/envs/vision-zoo.toml", PolicyArchitecture.family), (large, .moves)] {
            let run = try Training.resolve(env: spec, trace: nil, algorithm: .ppo, file: config, seed: 3, steps: 64)
            let out = dir.appendingPathComponent(expected.rawValue)
            _ = try Training.run(run, in: out, options: TrainingOptions(checkpointEvery: 32, progress: false))
            let policy = try FrozenPolicy.load(path: out.path)
            #expect(policy.architecture == expected)
            let (_, model) = try EnvResolver.scenarioSpec(path: spec)
            var env = FluidServingEnv(model: model)
            env.resetState(seed: 0)
            let row = try policy.bind(to: env).act(observation: env.currentObservation(), mask: env.currentActionMask())
            #expect(row.count == model.deviceCount)
        }
    }
}
