import ArgumentParser
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymNN
import SwitchGymTestSupport

/// `switchgym bench agents`: how fast PPO and DQN solve CartPole-v1, and the batch-1
/// forward latency of a small MLP.
///
/// Per seed, each agent trains with its RL Zoo defaults (``PPOConfig``, ``DQNConfig``) one
/// update at a time; every `--ppo-eval-every` / `--dqn-eval-every` updates the **greedy**
/// policy plays `--eval-episodes` episodes on a separate CartPole-v1 (the same start states
/// every time), and the run stops at the first evaluation whose mean return is >= 475.
/// Reported: the global step there, and the wall and CPU seconds of training up to it
/// (evaluation time excluded, reported separately). OpenBLAS runs on one thread.
struct BenchAgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Measure steps and seconds for PPO and DQN to solve CartPole-v1, and MLP batch-1 latency.")

    @Option(help: "Seeds per algorithm (0, 1, ...).")
    var seeds = 3

    @Flag(help: "Print one JSON object per line (one per algorithm and seed, then the latency).")
    var json = false

    @Option(help: "Algorithms to run, comma-separated (ppo, dqn); 'none' runs only the latency figure.")
    var algorithms = "ppo,dqn"

    @Option(help: "Greedy evaluation episodes.")
    var evalEpisodes = 20

    @Option(help: "PPO updates (256 steps each) between evaluations.")
    var ppoEvalEvery = 1

    @Option(help: "DQN rounds (256 steps each) between evaluations.")
    var dqnEvalEvery = 2

    @Option(help: "Stop unsolved runs after this many env steps (default: each config's n_timesteps).")
    var maxSteps: Int?

    @Flag(help: "Keep OpenBLAS's own kernel choice even when it fell back to Prescott on an AVX2/AVX-512 CPU.")
    var keepBlasCore = false

    func validate() throws {
        guard seeds > 0, evalEpisodes > 0, ppoEvalEvery > 0, dqnEvalEvery > 0 else {
            throw ValidationError("--seeds, --eval-episodes and the eval intervals must be positive")
        }
        for a in algorithms.split(separator: ",") where !["ppo", "dqn", "none"].contains(a) {
            throw ValidationError("--algorithms: unknown algorithm '\(a)' (ppo, dqn, none)")
        }
    }

    typealias CartPoleEnv = TimeLimit<CartPole>

    static func makeCartPole(_ seed: UInt64) -> CartPoleEnv { TimeLimit(CartPole(seed: seed), maxEpisodeSteps: 500) }

    struct Run {
        var algorithm: String
        var seed: UInt64
        var solved: Bool
        var steps: Int
        var updates: Int
        var trainWall: Double
        var trainCPU: Double
        var evalWall: Double
        var lastEvalMean: Double
        var evaluations: Int
        var allocationsPerUpdate: Int?

        var fields: [(String, Any)] {
            [("bench", "agents"), ("algorithm", algorithm), ("env", "CartPole-v1"), ("seed", seed), ("solved", solved),
             ("steps_to_solve", solved ? steps as Any : NSNull()), ("steps_run", steps), ("updates", updates),
             ("train_wall_s", trainWall), ("train_cpu_s", trainCPU), ("eval_wall_s", evalWall),
             ("evaluations", evaluations), ("last_eval_mean_return", lastEvalMean),
             ("eval", "greedy, mean of episodes >= 475"), ("blas_core", BLAS.coreName),
             ("allocations_per_update", allocationsPerUpdate as Any? ?? NSNull())]
        }
    }

    /// Trains one update at a time with `step`, evaluating every `every` updates.
    func runAgent(algorithm: String, seed: UInt64, limit: Int, every: Int, policy: some GreedyPolicy,
                  globalStep: () -> Int, step: () throws -> Void) throws -> Run {
        var evalEnv = Self.makeCartPole(1_000_000 + seed)
        var run = Run(algorithm: algorithm, seed: seed, solved: false, steps: 0, updates: 0, trainWall: 0, trainCPU: 0,
                      evalWall: 0, lastEvalMean: 0, evaluations: 0, allocationsPerUpdate: nil)
        while globalStep() < limit {
            let w0 = monotonicSeconds(), c0 = processCPUSeconds()
            try step()
            run.trainWall += monotonicSeconds() - w0
            run.trainCPU += processCPUSeconds() - c0
            run.updates += 1
            run.steps = globalStep()
            if run.updates % every == 0 {
                let e0 = monotonicSeconds()
                let episodes = Evaluation.run(policy, env: &evalEnv, episodes: evalEpisodes, seed: 1_000_000 + seed)
                run.evalWall += monotonicSeconds() - e0
                run.evaluations += 1
                run.lastEvalMean = Evaluation.meanReturn(episodes)
                if run.lastEvalMean >= 475 {
                    run.solved = true
                    break
                }
            }
        }
        // Heap allocations of one more update (the event, its dictionaries and arrays; none
        // per env step), counted on this thread.
        run.allocationsPerUpdate = try AllocationCounter.count { try step() }
        return run
    }

    func report(_ r: Run) throws {
        if json {
            let data = try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: r.fields), options: [.sortedKeys])
            say(String(decoding: data, as: UTF8.self))
        } else {
            let what = r.solved ? "solved at \(r.steps) steps" : "NOT solved in \(r.steps) steps"
            say(String(format: "%@ seed %llu: %@ (%d updates), train %.2f s wall / %.2f s CPU, eval %.2f s, last eval mean %.1f",
                       r.algorithm, r.seed, what, r.updates, r.trainWall, r.trainCPU, r.evalWall, r.lastEvalMean)
                + (r.allocationsPerUpdate.map { ", \($0) allocations per update" } ?? ""))
        }
    }

    func run() throws {
        if !keepBlasCore { ensureFastBLASKernels(command: "bench agents", hint: "--keep-blas-core to measure without") }
        try reportingErrors {
            BLAS.setThreadCount(1)
            if !json { say("OpenBLAS core: \(BLAS.coreName), 1 thread") }
            let algs = Set(algorithms.split(separator: ",").map(String.init))
            var runs: [Run] = []
            for s in 0..<seeds {
                let seed = UInt64(s)
                if algs.contains("ppo") {
                    var config = PPOConfig()
                    config.seed = seed
                    let agent = try PPO(config: config) { Self.makeCartPole(UInt64($0)) }
                    let r = try runAgent(algorithm: "ppo", seed: seed, limit: maxSteps ?? config.totalTimesteps,
                                         every: ppoEvalEvery, policy: agent, globalStep: { agent.globalStep },
                                         step: { try agent.train(untilStep: agent.globalStep + 1) })
                    try report(r)
                    runs.append(r)
                }
                if algs.contains("dqn") {
                    var config = DQNConfig()
                    config.seed = seed
                    let agent = try DQN(config: config) { Self.makeCartPole(UInt64($0)) }
                    let r = try runAgent(algorithm: "dqn", seed: seed, limit: maxSteps ?? config.totalTimesteps,
                                         every: dqnEvalEvery, policy: agent, globalStep: { agent.globalStep },
                                         step: { try agent.train(untilStep: agent.globalStep + 1) })
                    try report(r)
                    runs.append(r)
                }
            }
            if !json {
                for alg in ["ppo", "dqn"] {
                    let rs = runs.filter { $0.algorithm == alg }
                    guard !rs.isEmpty else { continue }
                    let solved = rs.filter(\.solved)
                    let meanSteps = solved.isEmpty ? 0 : Double(solved.map(\.steps).reduce(0, +)) / Double(solved.count)
                    let meanWall = solved.isEmpty ? 0 : solved.map(\.trainWall).reduce(0, +) / Double(solved.count)
                    say(String(format: "%@: solved %d/%d seeds; mean %.0f steps, %.2f s wall to solve",
                               alg, solved.count, rs.count, meanSteps, meanWall)
                        + (alg == "ppo" ? "   [target: 3/3 in ~25-33k steps, <= ~1 s]" : "   [target: 3/3]"))
                }
            }
            try latency()
        }
    }

    /// ns per call of `body`, best of 5 timed runs of `iterations` calls.
    func nanoseconds(iterations: Int, _ body: () -> Void) -> Double {
        for _ in 0..<(iterations / 10) { body() }
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = monotonicSeconds()
            for _ in 0..<iterations { body() }
            best = min(best, (monotonicSeconds() - t0) / Double(iterations) * 1e9)
        }
        return best
    }

    func latency() throws {
        let net = MLP(sizes: [16, 64, 64, 8], hiddenActivation: .tanh)
        var g = SeededGenerator(seed: 3)
        net.initializeOrthogonal(outputGain: 1, using: &g)
        let input = UnsafeMutablePointer<Float>.allocate(capacity: 16 * 256)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: 8)
        defer { input.deallocate(); output.deallocate() }
        for i in 0..<(16 * 256) { input[i] = Float(Orthogonal.gaussian(&g)) }
        var sink: Float = 0
        let single = nanoseconds(iterations: 200_000) {
            input[0] += 1e-7
            net.forwardSingle(input, into: output)
            sink += output[0]
        }
        let ws1 = net.makeWorkspace(maxBatch: 1)
        let blas1 = nanoseconds(iterations: 50_000) {
            input[0] += 1e-7
            sink += net.forward(input, batch: 1, workspace: ws1)[0]
        }
        let ws256 = net.makeWorkspace(maxBatch: 256)
        let blas256 = nanoseconds(iterations: 2_000) {
            input[0] += 1e-7
            sink += net.forward(input, batch: 256, workspace: ws256)[0]
        } / 256
        // Reference: 128 libm tanhf calls (what the two hidden layers used to cost).
        let tanhf128 = nanoseconds(iterations: 200_000) {
            var s: Float = 0
            for i in 0..<128 { s += tanhf(input[i] * 0.5 + sink * 1e-30) }
            sink += s
        }
        if sink.isNaN { note("unexpected NaN") }
        let r: [(String, Any)] = [
            ("bench", "mlp_latency"), ("sizes", "16-64-64-8"), ("activation", "tanh"),
            ("forward_single_ns", single), ("blas_batch1_ns", blas1), ("blas_batch256_ns_per_sample", blas256),
            ("libm_tanhf_x128_ns", tanhf128), ("blas_core", BLAS.coreName),
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: r), options: [.sortedKeys])
            say(String(decoding: data, as: UTF8.self))
        } else {
            say(String(format: "MLP 16-64-64-8 tanh: forwardSingle %.0f ns; BLAS batch 1 %.0f ns, batch 256 %.0f ns/sample; "
                       + "(128 libm tanhf: %.0f ns)   [target: batch-1 <= 1000 ns]", single, blas1, blas256, tanhf128))
        }
    }
}
