import Testing
import SwitchGymAgents
import SwitchGymCore
import SwitchGymNN

@Suite struct PPOAgentTests {
    @Test func learnsTheBandit() throws {
        BLAS.setThreadCount(1)
        var c = PPOConfig()
        c.numEnvs = 8
        c.numSteps = 16
        c.batchSize = 64
        c.numEpochs = 4
        c.hiddenSizes = [16]
        c.learningRate = 3e-3
        c.totalTimesteps = 3_072
        let agent = try PPO(config: c) { Bandit(seed: UInt64($0)) }
        var late: [EpisodeStatistics] = []
        try agent.train { e in if e.globalStep > 2_500 { late += e.episodes } }
        #expect(agent.globalStep == 3_072)
        #expect(agent.act(observation: [1]) == 2)
        let mean = late.map(\.episodeReturn).reduce(0, +) / Double(late.count)
        #expect(mean > 0.75, "mean reward late in training \(mean) (best arm pays 0.9)")
    }

    @Test(arguments: [AutoresetMode.sameStep, .nextStep])
    func maskedActionsAreNeverSampledAndHaveZeroProbability(_ mode: AutoresetMode) throws {
        BLAS.setThreadCount(1)
        var c = PPOConfig()
        c.numEnvs = 4
        c.numSteps = 16
        c.batchSize = 32
        c.numEpochs = 4
        c.hiddenSizes = [16]
        c.learningRate = 3e-3
        c.totalTimesteps = 2_048
        c.autoreset = mode
        let agent = try PPO(config: c) { MaskedChoice(seed: UInt64($0)) }
        var returns: [Double] = []
        try agent.train { e in returns += e.episodeReturns }
        for i in 0..<4 { #expect(agent.env.withSubEnv(i) { $0.violations } == 0) }
        #expect(returns.allSatisfy { $0 <= 1 }, "the masked action paying 2 was taken")
        // Masked actions have probability exactly 0 under the trained policy, and greedy
        // acting never picks them even though action 3 could have the largest logit.
        for s in 0..<3 {
            let obs = (0..<3).map { Float($0 == s ? 1 : 0) }
            let mask = (0..<4).map { MaskedChoice.allowed(s, $0) }
            let logits = agent.policyNetwork.forwardSingle(obs)
            var lp = [Float](repeating: 0, count: 4)
            Categorical.logSoftmax(logits, mask: mask, count: 4, into: &lp)
            for a in 0..<4 where !mask[a] { #expect(lp[a] == -.infinity && Foundation.exp(lp[a]) == 0) }
            #expect(agent.act(observation: obs, mask: mask) == (s + 1) % 3)
        }
    }

    /// With next-step autoreset, every finished episode is reported once with its true
    /// length, and CartPole's returns equal their lengths (reset steps are not counted).
    @Test func nextStepEpisodeStatisticsExcludeResetSteps() throws {
        BLAS.setThreadCount(1)
        let agent = try PPO(config: smallPPOConfig(autoreset: .nextStep), makeEnv: makeCartPole)
        var episodes: [EpisodeStatistics] = []
        try agent.train(untilStep: 1_024) { episodes += $0.episodes }
        #expect(!episodes.isEmpty)
        for e in episodes { #expect(e.episodeReturn == Double(e.length)) }
    }

    @Test func configDecodesPartialJSONWithDefaults() throws {
        let json = #"{"n_envs": 4, "learning_rate": 0.0003, "clip_range_vf": 0.2, "autoreset": "next-step"}"#
        let c = try JSONDecoder().decode(PPOConfig.self, from: Data(json.utf8))
        var expected = PPOConfig()
        expected.numEnvs = 4
        expected.learningRate = 0.0003
        expected.clipRangeVF = 0.2
        expected.autoreset = .nextStep
        #expect(c == expected)
        #expect(try JSONDecoder().decode(PPOConfig.self, from: Data(c.json().utf8)) == c)
        let d = try JSONDecoder().decode(DQNConfig.self, from: Data(#"{"net_arch": [64]}"#.utf8))
        #expect(d.hiddenSizes == [64] && d.bufferSize == 100_000)
    }

    @Test func defaultsAreRLZooCartPole() {
        let p = PPOConfig()
        #expect(p.numEnvs == 8 && p.numSteps == 32 && p.batchSize == 256 && p.gaeLambda == 0.8 && p.gamma == 0.98)
        #expect(p.numEpochs == 20 && p.entCoef == 0 && p.learningRate == 0.001 && p.annealLearningRate)
        #expect(p.clipRange == 0.2 && p.annealClipRange && p.totalTimesteps == 100_000)
        let d = DQNConfig()
        #expect(d.learningRate == 2.3e-3 && d.batchSize == 64 && d.bufferSize == 100_000 && d.learningStarts == 1_000)
        #expect(d.gamma == 0.99 && d.targetUpdateInterval == 10 && d.trainFreq == 256 && d.gradientSteps == 128)
        #expect(d.explorationFraction == 0.16 && d.explorationFinalEps == 0.04 && d.hiddenSizes == [256, 256])
        #expect(d.totalTimesteps == 50_000)
    }

    @Test func initialisationFollowsSB3() throws {
        let agent = try PPO(config: smallPPOConfig(), makeEnv: makeCartPole)
        let actor = agent.policyNetwork
        // Orthogonal rows scaled by the gain: the policy head's rows have norm 0.01.
        let w = actor.weights(actor.layers.count - 1), cols = actor.layers.last!.inputSize
        for r in 0..<2 {
            let norm = (0..<cols).map { Double(w[r * cols + $0]) * Double(w[r * cols + $0]) }.reduce(0, +).squareRoot()
            #expect(abs(norm - 0.01) < 1e-6)
        }
        #expect(actor.bias(0).allSatisfy { $0 == 0 })
    }
}

import Foundation
