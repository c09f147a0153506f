import Foundation
import Testing
import SwitchGymCore
import SwitchGymNN
@testable import SwitchGymAgents

/// `switchgym train --stop-at-return R --eval-every N --eval-episodes K`: the goals in the run
/// config (strict, bounds-checked), the early stop at the first update whose window of 20
/// training returns reaches R, periodic greedy evaluation keeping `best.h5`, and a resumed
/// run that stops and evaluates exactly as one that never stopped.
@Suite(.serialized) struct TrainingGoalsTests {
    /// A quick CartPole PPO run (learns past a return of 60 within a few thousand steps).
    func cartPole(_ dir: URL, steps: Int, goals: TrainingGoals) throws -> TrainingRunConfig {
        let config = dir.appendingPathComponent("c.json").path
        try "{\"n_envs\": 4, \"n_steps\": 32, \"batch_size\": 64, \"n_epochs\": 4, \"net_arch\": [32, 32], \"learning_rate\": 0.003}"
            .write(toFile: config, atomically: true, encoding: .utf8)
        return try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: config, seed: 2, steps: steps, goals: goals)
    }

    /// The rows of metrics.csv with `tag`, as (step, value).
    func metric(_ run: URL, _ tag: String) throws -> [(step: Int, value: Double)] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count >= 3, f[1] == tag, let s = Int(f[0]), let v = Double(f[2]) else { return nil }
            return (s, v)
        }
    }

    @Test func goalsRoundTripInTheRunConfigAndAreBoundsChecked() throws {
        let goals = TrainingGoals(stopAtReturn: 475, evalEvery: 5000, evalEpisodes: 10)
        let run = TrainingRunConfig(env: "CartPole-v1", agent: .ppo(PPOConfig()), goals: goals)
        let data = try JSONEncoder().encode(run)
        #expect(try JSONDecoder().decode(TrainingRunConfig.self, from: data) == run)
        var onEval = run
        onEval.goals.stopOn = .eval
        #expect(try JSONDecoder().decode(TrainingRunConfig.self, from: JSONEncoder().encode(onEval)) == onEval)
        // A config.json written before goals existed has none.
        var object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        object.removeValue(forKey: "goals")
        let old = try JSONDecoder().decode(TrainingRunConfig.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.goals == TrainingGoals() && old.goals.isEmpty)
        // ... and goals written before stop_on existed stop on the training window.
        object["goals"] = ["stop_at_return": 475.0, "eval_every": 5000, "eval_episodes": 10]
        let before = try JSONDecoder().decode(TrainingRunConfig.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(before.goals == goals && before.goals.stopOn == .window)
        // Unknown and out-of-range goal keys are refused, naming the key.
        for (goalsObject, expected) in [(["stop_at_reward": 1.0], "unknown goals key 'stop_at_reward'"),
                                        (["eval_every": 0], "goals.eval_every"),
                                        (["eval_every": 10, "eval_episodes": 0], "goals.eval_episodes"),
                                        (["stop_at_return": 10.0, "stop_on": "eval"], "goals.stop_on"),
                                        (["eval_every": 10, "stop_on": "eval"], "goals.stop_on"),
                                        (["stop_at_return": 10.0, "eval_every": 10, "stop_on": "greedy"], "goals.stop_on")]
            as [([String: Any], String)] {
            object["goals"] = goalsObject
            do {
                _ = try JSONDecoder().decode(TrainingRunConfig.self, from: JSONSerialization.data(withJSONObject: object))
                Issue.record("\(goalsObject) was accepted")
            } catch let e as DecodingError {
                #expect(StrictKeys.describe(e).contains(expected), "\(StrictKeys.describe(e))")
            }
        }
        for bad in [TrainingGoals(stopAtReturn: .infinity), TrainingGoals(evalEvery: -5), TrainingGoals(evalEvery: 1, evalEpisodes: 0),
                    TrainingGoals(stopAtReturn: 1, stopOn: .eval), TrainingGoals(stopOn: .eval, evalEvery: 10)] {
            let e = #expect(throws: TrainingError.self) {
                _ = try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: nil, seed: nil, steps: nil, goals: bad)
            }
            #expect(e?.kind == .invalidConfig && e?.message.contains("goals: key '") == true, "\(String(describing: e))")
        }
    }

    @Test func theRunStopsAtTheFirstUpdateWhoseWindowReachesTheReturn() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let goal = 60.0
        let run = try cartPole(dir, steps: 40_000, goals: TrainingGoals(stopAtReturn: goal))
        let out = dir.appendingPathComponent("run")
        let s = try Training.run(run, in: out, options: TrainingOptions(progress: false))
        #expect(s.reachedGoal && s.steps < 40_000 && s.recentEpisodes == 20 && s.recentMeanReturn >= goal, "\(s)")
        // Replay the window from the logged returns: the goal is first reached at the stop step.
        var window: [Double] = [], firstReached: Int?
        let returns = try metric(out, "charts/episodic_return")
        let updateSteps = Set(try metric(out, "charts/SPS").map(\.step)).sorted()
        for step in updateSteps {
            for r in returns where r.step == step {
                window.append(r.value)
                if window.count > 20 { window.removeFirst() }
            }
            if window.count == 20, window.reduce(0, +) / 20 >= goal { firstReached = step; break }
        }
        #expect(firstReached == s.steps)
        #expect(updateSteps.last == s.steps)
        // The final checkpoint is at the stop step.
        #expect(s.checkpoint.flatMap { CheckpointStore.step(of: URL(fileURLWithPath: $0)) } == s.steps)
    }

    @Test func evaluationKeepsTheBestPolicyWithoutChangingTraining() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let goals = TrainingGoals(evalEvery: 1000, evalEpisodes: 3)
        let withEval = try cartPole(dir, steps: 4096, goals: goals)
        let a = dir.appendingPathComponent("eval"), b = dir.appendingPathComponent("plain")
        let s = try Training.run(withEval, in: a, options: TrainingOptions(progress: false))
        var plain = withEval
        plain.goals = TrainingGoals()
        let t = try Training.run(plain, in: b, options: TrainingOptions(progress: false))
        // Greedy evaluation leaves the training (weights, optimiser, envs, RNG) untouched.
        let ca = try CheckpointFile.read(try #require(s.checkpoint)), cb = try CheckpointFile.read(try #require(t.checkpoint))
        #expect(ca.step == cb.step)
        for key in cb.state.floats.keys { #expect(ca.state.floats[key] == cb.state.floats[key], "\(key)") }
        // One evaluation after the first update at or past each multiple of 1000 (128 steps per update).
        let evals = try metric(a, "eval/mean_return")
        #expect(evals.map(\.step) == [1024, 2048, 3072, 4096])
        #expect(try metric(b, "eval/mean_return").isEmpty)
        let best = try #require(s.bestEvaluation)
        let top = try #require(evals.max { $0.value < $1.value })
        #expect(best.meanReturn == top.value)
        #expect(best.step == evals.first { $0.value == top.value }!.step)
        // best.h5 is an intact checkpoint of that step whose frozen policy plays the same
        // evaluation episodes to the same mean.
        let bestPath = try #require(s.bestCheckpoint)
        #expect(bestPath == a.appendingPathComponent("best.h5").path)
        #expect(try CheckpointFile.read(bestPath).step == best.step)
        var env = makeCartPole(0)
        let policy = try FrozenPolicy.load(path: bestPath).bind(to: env)
        let episodes = Evaluation.run(policy, env: &env, episodes: 3, seed: 2 + TrainingGoals.evalSeedOffset)
        #expect(Evaluation.meanReturn(episodes) == best.meanReturn)
    }

    @Test func stopOnEvalStopsAfterTheFirstEvaluationWhoseMeanReachesTheReturn() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let goal = 120.0
        let run = try cartPole(dir, steps: 40_000, goals: TrainingGoals(stopAtReturn: goal, stopOn: .eval, evalEvery: 512, evalEpisodes: 3))
        let out = dir.appendingPathComponent("run")
        let s = try Training.run(run, in: out, options: TrainingOptions(progress: false))
        #expect(s.reachedGoal && s.steps < 40_000, "\(s)")
        // Every evaluation before the last stayed below the goal; the last reached it, at the stop step.
        let evals = try metric(out, "eval/mean_return")
        let last = try #require(evals.last)
        #expect(last.step == s.steps && last.value >= goal)
        #expect(evals.dropLast().allSatisfy { $0.value < goal }, "\(evals)")
        #expect(s.bestEvaluation?.step == s.steps && s.bestEvaluation?.meanReturn == last.value)
        // The training window is not the criterion: the same run on the window criterion stops elsewhere
        // (training episodes sample, so their mean lags the greedy policy's).
        var onWindow = run
        onWindow.goals.stopOn = .window
        let w = try Training.run(onWindow, in: dir.appendingPathComponent("window"), options: TrainingOptions(progress: false))
        #expect(w.steps != s.steps, "\(w) vs \(s)")
        // Progress that reached the goal only by the window does not count on the eval criterion, and vice versa.
        var p = TrainingGoals.Progress()
        for _ in 0..<TrainingGoals.window { p.record(goal) }
        #expect(p.reached(onWindow.goals) && !p.reached(run.goals))
        _ = p.recordEvaluation(meanReturn: goal - 1, step: 512)
        #expect(!p.reached(run.goals))
        _ = p.recordEvaluation(meanReturn: goal, step: 1024)
        #expect(p.reached(run.goals))
    }

    @Test func aResumedRunStopsOnEvalAsAnUninterruptedOne() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let run = try cartPole(dir, steps: 40_000, goals: TrainingGoals(stopAtReturn: 120, stopOn: .eval, evalEvery: 512, evalEpisodes: 3))
        let whole = dir.appendingPathComponent("whole"), split = dir.appendingPathComponent("split")
        let s = try Training.run(run, in: whole, options: TrainingOptions(checkpointEvery: 256, progress: false))
        #expect(s.reachedGoal && s.steps > 1024, "\(s)")
        let half = (s.steps / 2 / 256) * 256
        let first = try Training.run(run, in: split, options: TrainingOptions(checkpointEvery: 256, stopAt: half, progress: false))
        #expect(!first.reachedGoal && first.steps == half)
        let r = try Training.run(run, in: split, options: TrainingOptions(resume: true, checkpointEvery: 256, progress: false))
        #expect(r.reachedGoal && r.steps == s.steps)
        #expect(r.bestEvaluation?.step == s.bestEvaluation?.step && r.bestEvaluation?.meanReturn == s.bestEvaluation?.meanReturn)
        #expect(try CheckpointFile.read(try #require(r.checkpoint)).state == CheckpointFile.read(try #require(s.checkpoint)).state)
        #expect(try metric(split, "eval/mean_return").map(\.value) == metric(whole, "eval/mean_return").map(\.value))
        let again = try Training.run(run, in: split, options: TrainingOptions(resume: true, checkpointEvery: 256, progress: false))
        #expect(again.reachedGoal && again.steps == s.steps)
    }

    @Test func aResumedRunStopsAndEvaluatesAsAnUninterruptedOne() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let run = try cartPole(dir, steps: 40_000, goals: TrainingGoals(stopAtReturn: 60, evalEvery: 512, evalEpisodes: 2))
        let whole = dir.appendingPathComponent("whole"), split = dir.appendingPathComponent("split")
        let s = try Training.run(run, in: whole, options: TrainingOptions(checkpointEvery: 256, progress: false))
        #expect(s.reachedGoal && s.steps > 1024, "\(s)")
        // Interrupt after about half the run (a checkpoint every 256 steps), then resume.
        let half = (s.steps / 2 / 256) * 256
        _ = try Training.run(run, in: split, options: TrainingOptions(checkpointEvery: 256, stopAt: half, progress: false))
        let r = try Training.run(run, in: split, options: TrainingOptions(resume: true, checkpointEvery: 256, progress: false))
        #expect(r.reachedGoal && r.steps == s.steps && r.recentMeanReturn == s.recentMeanReturn)
        #expect(r.bestEvaluation?.step == s.bestEvaluation?.step && r.bestEvaluation?.meanReturn == s.bestEvaluation?.meanReturn)
        #expect(try CheckpointFile.read(try #require(r.checkpoint)).state == CheckpointFile.read(try #require(s.checkpoint)).state)
        #expect(try CheckpointFile.read(try #require(r.bestCheckpoint)).state == CheckpointFile.read(try #require(s.bestCheckpoint)).state)
        #expect(try metric(split, "eval/mean_return").map(\.value) == metric(whole, "eval/mean_return").map(\.value))
        // Resuming a run that reached its goal trains no further.
        let again = try Training.run(run, in: split, options: TrainingOptions(resume: true, checkpointEvery: 256, progress: false))
        #expect(again.reachedGoal && again.steps == s.steps)
    }
}
