import Testing
import SwitchGymAgents
import SwitchGymCore
import SwitchGymNN

@Suite struct DQNTargetTests {
    /// Straightforward reference: loops over arrays of arrays.
    private func reference(rewards: [Float], terminated: [Bool], masks: [[Bool]], target: [[Float]], online: [[Float]]?,
                           gamma: Float) -> [Float] {
        var out: [Float] = []
        for k in 0..<rewards.count {
            let chooser = online?[k] ?? target[k]
            var best = -1
            for j in 0..<chooser.count where masks[k][j] {
                if best < 0 || chooser[j] > chooser[best] { best = j }
            }
            out.append(rewards[k] + gamma * (terminated[k] ? 0 : target[k][best]))
        }
        return out
    }

    @Test(arguments: [true, false])
    func targetsMatchReference(_ doubleQ: Bool) {
        var g = SeededGenerator(seed: 4)
        let b = 12, a = 3
        var rewards: [Float] = [], terminated: [Bool] = [], masks: [[Bool]] = [], target: [[Float]] = [], online: [[Float]] = []
        for k in 0..<b {
            rewards.append(Float(g.nextUnit()))
            terminated.append(k % 4 == 0)
            var m = (0..<a).map { _ in g.nextUnit() < 0.7 }
            if !m.contains(true) { m[k % a] = true }
            masks.append(m)
            target.append((0..<a).map { _ in Float(g.nextUnit() * 4 - 2) })
            online.append((0..<a).map { _ in Float(g.nextUnit() * 4 - 2) })
        }
        let flatMasks = masks.flatMap { $0 }, flatTarget = target.flatMap { $0 }, flatOnline = online.flatMap { $0 }
        var out = [Float](repeating: 0, count: b)
        flatOnline.withUnsafeBufferPointer { on in
            DQNTarget.compute(batch: b, actionCount: a, gamma: 0.9, rewards: rewards, terminations: terminated,
                              nextMasks: flatMasks, targetNext: flatTarget, onlineNext: doubleQ ? on.baseAddress! : nil,
                              into: &out)
        }
        let ref = reference(rewards: rewards, terminated: terminated, masks: masks, target: target,
                            online: doubleQ ? online : nil, gamma: 0.9)
        #expect(out == ref)
        if doubleQ {
            // The double-Q targets differ from the max over the target network somewhere.
            let plain = reference(rewards: rewards, terminated: terminated, masks: masks, target: target, online: nil, gamma: 0.9)
            #expect(out != plain)
        }
    }

    @Test func epsilonScheduleIsLinearThenConstant() {
        let c = DQNConfig()
        #expect(c.epsilon(atStep: 0) == 1)
        #expect(abs(c.epsilon(atStep: 4_000) - (1 - 0.5 * 0.96)) < 1e-12)
        #expect(c.epsilon(atStep: 8_001) == 0.04)
        #expect(c.epsilon(atStep: 50_000) == 0.04)
    }

    @Test func replayBufferWrapsAndRoundTrips() throws {
        let r = ReplayBuffer(capacity: 3, observationDimension: 2, actionCount: 2)
        for i in 0..<5 {
            let o: [Float] = [Float(i), 0], no: [Float] = [Float(i) + 0.5, 1], m = [true, i % 2 == 0]
            r.add(observation: o, action: i % 2, reward: Float(i), nextObservation: no, terminated: i == 4, nextMask: m)
        }
        #expect(r.count == 3 && r.position == 2)
        #expect(Array(r.rewards) == [3, 4, 2])
        #expect(Array(r.terminations) == [false, true, false])
        let copy = ReplayBuffer(capacity: 3, observationDimension: 2, actionCount: 2)
        try copy.loadState(r.saveState())
        #expect(copy.saveState() == r.saveState())
        #expect(Array(copy.nextObservations) == Array(r.nextObservations))
        var g = SeededGenerator(seed: 1)
        var idx = [Int](repeating: -1, count: 100)
        r.sampleIndices(100, into: &idx, using: &g)
        #expect(idx.allSatisfy { (0..<3).contains($0) } && Set(idx).count == 3)
    }
}

@Suite struct DQNAgentTests {
    @Test func maskedActionsAreNeverTakenOrBootstrapped() throws {
        BLAS.setThreadCount(1)
        var c = DQNConfig()
        c.numEnvs = 4
        c.learningStarts = 100
        c.trainFreq = 25
        c.gradientSteps = 8
        c.batchSize = 32
        c.bufferSize = 1_000
        c.hiddenSizes = [32]
        c.totalTimesteps = 1_600
        c.explorationFraction = 0.5
        c.gamma = 0
        c.learningRate = 5e-3
        let agent = try DQN(config: c) { MaskedChoice(seed: UInt64($0)) }
        try agent.train()
        for i in 0..<4 { #expect(agent.env.withSubEnv(i) { $0.violations } == 0) }
        // The learnt greedy policy picks the paying allowed action in every state.
        for s in 0..<3 {
            let obs = (0..<3).map { Float($0 == s ? 1 : 0) }
            let mask = (0..<4).map { MaskedChoice.allowed(s, $0) }
            #expect(agent.act(observation: obs, mask: mask) == (s + 1) % 3)
        }
        // Replayed next-state masks are the env's.
        for k in 0..<agent.replay.count { #expect(!agent.replay.nextActionMasks[k * 4 + 3]) }
    }

    @Test func learnsTheBandit() throws {
        BLAS.setThreadCount(1)
        var c = DQNConfig()
        c.numEnvs = 4
        c.learningStarts = 200
        c.trainFreq = 25
        c.gradientSteps = 8
        c.batchSize = 32
        c.bufferSize = 2_000
        c.hiddenSizes = [32]
        c.totalTimesteps = 2_000
        c.gamma = 0
        c.learningRate = 5e-3
        let agent = try DQN(config: c) { Bandit(seed: UInt64($0)) }
        var lastEpisodes: [EpisodeStatistics] = []
        try agent.train { e in if e.globalStep > 1_600 { lastEpisodes += e.episodes } }
        #expect(agent.act(observation: [1]) == 2)
        let mean = lastEpisodes.map(\.episodeReturn).reduce(0, +) / Double(lastEpisodes.count)
        #expect(mean > 0.7, "mean reward late in training \(mean)")
    }
}

/// The points where our DQN must do what Stable-Baselines3's `DQN` does with the same keys
/// (SB3 2.x `dqn/dqn.py`, `common/off_policy_algorithm.py`), so that `bench peers` compares
/// the same algorithm.
@Suite struct DQNSemanticsTests {
    @Test func defaultsAreRLZooCartPoleOnSB3() {
        let c = DQNConfig()
        #expect(c.learningRate == 2.3e-3 && c.batchSize == 64 && c.bufferSize == 100_000 && c.learningStarts == 1000)
        #expect(c.gamma == 0.99 && c.targetUpdateInterval == 10 && c.trainFreq == 256 && c.gradientSteps == 128)
        #expect(c.explorationFraction == 0.16 && c.explorationInitialEps == 1 && c.explorationFinalEps == 0.04)
        #expect(c.totalTimesteps == 50_000 && c.hiddenSizes == [256, 256] && c.activation == .relu)
        #expect(c.maxGradNorm == 10 && c.adamEpsilon == 1e-8)
        // SB3's DQN bootstraps from max_a Q_target(s', a): no double-Q unless asked for.
        #expect(!c.doubleQ)
    }

    @Test func explorationMatchesSB3AtItsEvaluationSteps() {
        // SB3 2.9.2, RL Zoo CartPole settings, learn(total_timesteps=50_000): `exploration_rate`
        // after 2048, 4096, 6144 and 8192 env steps printed 0.754, 0.508, 0.263, 0.040
        // (1 - 0.96 · t / 8000, then 0.04).
        let c = DQNConfig()
        for (t, eps) in [(2048, 0.75424), (4096, 0.50848), (6144, 0.26272), (8192, 0.04), (49_999, 0.04)] {
            #expect(abs(c.epsilon(atStep: t) - eps) < 1e-12, "ε(\(t)) = \(c.epsilon(atStep: t)), SB3 \(eps)")
        }
        var short = c
        short.totalTimesteps = 20_000   // the schedule is relative to n_timesteps
        #expect(abs(short.epsilon(atStep: 2048) - (1 - 0.96 * 2048 / 3200)) < 1e-12)
    }

    @Test func huberLossAndGradientMatchTorch() {
        // torch: F.smooth_l1_loss(q.gather(1, a), y).backward() on these values.
        let q: [Float] = [0.5, -1.25, 3.0, 2.0, -0.75, 0.25, 1.5, -2.5, 0.0, 4.0]
        let actions = [1, 0, 0, 1, 1]
        let y: [Float] = [-0.5, 0.5, -0.25, -2.0, 1.25]
        var grad = [Float](repeating: 7, count: 10)
        let r = DQNLoss.huber(q: q, actions: actions, targets: y, batch: 5, actionCount: 2, outputGradient: &grad)
        let torchGrad: [Float] = [0, -0.15, 0.2, 0, -0.1, 0, 0, -0.1, 0, 0.2]
        #expect(abs(r.loss - 0.956250011920929) < 1e-7)
        #expect(abs(r.meanQ - 0.5) < 1e-7)
        for i in 0..<10 { #expect(abs(grad[i] - torchGrad[i]) < 1e-7, "∂loss/∂q[\(i)] = \(grad[i]), torch \(torchGrad[i])") }
        // And it is the loss's derivative (central differences, away from |Q - y| = 1).
        for i in [1, 2, 4, 7, 9] {
            var qp = q, qm = q, scratch = grad
            qp[i] += 1e-2
            qm[i] -= 1e-2
            let lp = DQNLoss.huber(q: qp, actions: actions, targets: y, batch: 5, actionCount: 2, outputGradient: &scratch).loss
            let lm = DQNLoss.huber(q: qm, actions: actions, targets: y, batch: 5, actionCount: 2, outputGradient: &scratch).loss
            #expect(abs((lp - lm) / 2e-2 - Double(grad[i])) < 1e-4)
        }
    }

    /// A DQN on CartPole with a small network, RL Zoo's round structure scaled down.
    private func agent(trainFreq: Int, targetUpdateInterval: Int, numEnvs: Int = 1) throws -> DQN<CartPoleEnv> {
        var c = DQNConfig()
        c.numEnvs = numEnvs
        c.learningStarts = 100
        c.trainFreq = trainFreq
        c.gradientSteps = 16
        c.batchSize = 16
        c.bufferSize = 2_000
        c.hiddenSizes = [16, 16]
        c.totalTimesteps = 2_000
        c.targetUpdateInterval = targetUpdateInterval
        c.seed = 3
        return try DQN(config: c, makeEnv: makeCartPole)
    }

    @Test(arguments: [(64, 10, 1), (50, 10, 1), (32, 8, 2)])
    func targetNetworkIsFixedThroughEachRoundsGradientSteps(_ trainFreq: Int, _ interval: Int, _ envs: Int) throws {
        BLAS.setThreadCount(1)
        let a = try agent(trainFreq: trainFreq, targetUpdateInterval: interval, numEnvs: envs)
        var rounds = 0
        while a.gradientStepCount == 0 {
            try a.train(untilStep: a.globalStep + 1)
            rounds += 1
        }
        // SB3 trains once num_timesteps > learning_starts, after the collection of that round.
        #expect(a.globalStep > 100 && a.globalStep - trainFreq * envs <= 100, "first training after \(a.globalStep) steps")
        #expect(a.gradientStepCount == 16)
        for _ in 0..<3 {
            let before = Array(a.qNetwork.parameters)
            try a.train(untilStep: a.globalStep + 1)
            // Collection syncs the target (every interval / n_envs vector steps) while the
            // online network is still `before`; the gradient steps after it leave it alone.
            let targetIsBefore = Array(a.targetNetwork.parameters) == before, trained = Array(a.qNetwork.parameters) != before
            #expect(targetIsBefore, "the target network changed during the gradient steps")
            #expect(trained, "the gradient steps left the online network as it was")
        }
    }

    @Test func targetLagsWhenTheIntervalSpansRounds() throws {
        // target_update_interval 100 with 64-step rounds: the target is synced at vector steps
        // 100, 200, ... only. The sync at 100 (round 2) copies the initial network, which the
        // rounds ending at 128 and 192 then train; the sync at 200 (round 4) copies the network
        // those two rounds left.
        BLAS.setThreadCount(1)
        let a = try agent(trainFreq: 64, targetUpdateInterval: 100)
        let initial = Array(a.qNetwork.parameters)
        try a.train(untilStep: 192)
        #expect(a.gradientStepCount == 32)
        let targetIsInitial = Array(a.targetNetwork.parameters) == initial
        #expect(targetIsInitial, "the target network was synced before vector step 200")
        let afterRound3 = Array(a.qNetwork.parameters)
        #expect(afterRound3 != initial)
        try a.train(untilStep: 256)
        let targetIsRound3 = Array(a.targetNetwork.parameters) == afterRound3
        #expect(targetIsRound3, "the sync at vector step 200 did not copy the online network of then")
    }
}
