import Testing
import SwitchGymAgents
import SwitchGymCore
import SwitchGymNN

/// Same seed ⇒ identical metrics and weights bit for bit; a checkpoint restored into a
/// freshly built agent continues exactly as the original.
@Suite struct DeterminismAndResumeTests {
    @Test func ppoIsDeterministic() throws {
        BLAS.setThreadCount(1)
        func run(_ seed: UInt64) throws -> ([EventFingerprint], [UInt32]) {
            let agent = try PPO(config: smallPPOConfig(seed: seed), makeEnv: makeCartPole)
            var events: [EventFingerprint] = []
            try agent.train(untilStep: 512) { events.append(EventFingerprint($0)) }
            return (events, bits(agent.policyNetwork) + bits(agent.valueNetwork))
        }
        let a = try run(3), b = try run(3), c = try run(4)
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(a.0.count == 4 && a.0.contains { !$0.episodes.isEmpty })
        #expect(a.1 != c.1)
    }

    @Test func dqnIsDeterministic() throws {
        BLAS.setThreadCount(1)
        func run(_ seed: UInt64) throws -> ([EventFingerprint], [UInt32]) {
            let agent = try DQN(config: smallDQNConfig(seed: seed), makeEnv: makeCartPole)
            var events: [EventFingerprint] = []
            try agent.train(untilStep: 400) { events.append(EventFingerprint($0)) }
            return (events, bits(agent.qNetwork))
        }
        let a = try run(3), b = try run(3), c = try run(4)
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(a.0.contains { $0.losses["loss"] != nil })
        #expect(a.1 != c.1)
    }

    @Test(arguments: [AutoresetMode.sameStep, .nextStep])
    func ppoResumesBitExactly(_ mode: AutoresetMode) throws {
        BLAS.setThreadCount(1)
        let config = smallPPOConfig(seed: 7, autoreset: mode)
        let original = try PPO(config: config, makeEnv: makeCartPole)
        try original.train(untilStep: 2 * 128)  // N = 2 updates
        let checkpoint = original.saveState()
        var continued: [EventFingerprint] = []
        try original.train(untilStep: 5 * 128) { continued.append(EventFingerprint($0)) }  // M = 3 updates

        let fresh = try PPO(config: config, makeEnv: makeCartPole)
        try fresh.loadState(checkpoint)
        #expect(fresh.saveState() == checkpoint)
        var resumed: [EventFingerprint] = []
        try fresh.train(untilStep: 5 * 128) { resumed.append(EventFingerprint($0)) }

        #expect(continued.count == 3)
        #expect(resumed == continued)
        #expect(bits(fresh.policyNetwork) == bits(original.policyNetwork))
        #expect(bits(fresh.valueNetwork) == bits(original.valueNetwork))
        #expect(fresh.saveState() == original.saveState())
    }

    /// A checkpoint restored into an agent built with a different seed still continues as the
    /// original: everything that the seed determines is in the state.
    @Test func ppoStateOverridesTheSeed() throws {
        BLAS.setThreadCount(1)
        let original = try PPO(config: smallPPOConfig(seed: 1), makeEnv: makeCartPole)
        try original.train(untilStep: 128)
        let checkpoint = original.saveState()
        let other = try PPO(config: smallPPOConfig(seed: 2), makeEnv: makeCartPole)
        try other.loadState(checkpoint)
        try original.train(untilStep: 256)
        try other.train(untilStep: 256)
        #expect(bits(other.policyNetwork) == bits(original.policyNetwork))
    }

    @Test(arguments: [AutoresetMode.sameStep, .nextStep])
    func dqnResumesBitExactly(_ mode: AutoresetMode) throws {
        BLAS.setThreadCount(1)
        let config = smallDQNConfig(seed: 7, autoreset: mode)
        let original = try DQN(config: config, makeEnv: makeCartPole)
        try original.train(untilStep: 3 * 96)  // 3 rounds of 48 vector steps × 2 envs
        let checkpoint = original.saveState()
        #expect(original.replay.count == 288 || mode == .nextStep)
        var continued: [EventFingerprint] = []
        try original.train(untilStep: 6 * 96) { continued.append(EventFingerprint($0)) }

        let fresh = try DQN(config: config, makeEnv: makeCartPole)
        try fresh.loadState(checkpoint)
        #expect(fresh.saveState() == checkpoint)
        var resumed: [EventFingerprint] = []
        try fresh.train(untilStep: 6 * 96) { resumed.append(EventFingerprint($0)) }

        #expect(continued.count == 3 && continued.allSatisfy { $0.losses["loss"] != nil })
        #expect(resumed == continued)
        #expect(bits(fresh.qNetwork) == bits(original.qNetwork))
        #expect(bits(fresh.targetNetwork) == bits(original.targetNetwork))
        #expect(fresh.saveState() == original.saveState())
    }

    @Test func loadingTheWrongStateFailsWithTheKey() throws {
        let ppo = try PPO(config: smallPPOConfig(), makeEnv: makeCartPole)
        let dqn = try DQN(config: smallDQNConfig(), makeEnv: makeCartPole)
        #expect(throws: AgentError.self) { try ppo.loadState(dqn.saveState()) }
        var wider = smallPPOConfig()
        wider.hiddenSizes = [32, 16]
        let other = try PPO(config: wider, makeEnv: makeCartPole)
        #expect(throws: (any Error).self) { try ppo.loadState(other.saveState()) }
    }

    /// The env part on its own: a restored vector env produces the same observations,
    /// rewards and flags as the original.
    @Test(arguments: [AutoresetMode.sameStep, .nextStep])
    func vectorEnvResumesBitExactly(_ mode: AutoresetMode) throws {
        let a = VectorEnv(count: 3, autoreset: mode) { makeCartPole($0) }
        let ba = a.makeBuffers()
        try a.reset(seed: 5, into: ba)
        var g = SeededGenerator(seed: 1)
        func actions() -> [Int] { (0..<3).map { _ in Int(g.next() % 2) } }
        for _ in 0..<40 { try a.step(actions(), into: ba) }
        let envState = a.saveState(), bufferState = ba.saveState()
        let b = VectorEnv(count: 3, autoreset: mode) { makeCartPole($0 + 100) }
        let bb = b.makeBuffers()
        try b.loadState(envState)
        try bb.loadState(bufferState)
        for _ in 0..<200 {
            let act = actions()
            try a.step(act, into: ba)
            try b.step(act, into: bb)
            #expect(ba.saveState() == bb.saveState())
        }
        #expect(a.saveState() == b.saveState())
    }

    @Test func sanityEnvsRoundTrip() throws {
        func check<E: DiscreteVectorizableEnv & StateCheckpointable>(_ make: () -> E) throws {
            var a = make()
            a.resetState(seed: 9)
            for t in 0..<5 { _ = a.step(discrete: t % a.actionSpace.n) }
            var b = make()
            try b.loadState(a.saveState())
            for t in 0..<50 {
                let ta = a.step(discrete: t % a.actionSpace.n), tb = b.step(discrete: t % b.actionSpace.n)
                #expect(ta == tb && a.currentObservation() == b.currentObservation())
                if ta.terminated || ta.truncated { a.resetState(seed: nil); b.resetState(seed: nil) }
            }
        }
        try check { Bandit(seed: 1) }
        try check { DelayedReward(seed: 1) }
        try check { TimeLimit(SwitchCost(seed: 1), maxEpisodeSteps: 7) }
        try check { TimeLimit(CartPole(seed: 1), maxEpisodeSteps: 20) }
    }
}
