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
