import SwitchGymAgents
import SwitchGymCore
import SwitchGymNN

/// One-step episodes with action masking. The state `s ∈ {0, 1, 2}` is drawn at reset and
/// shown one-hot. Action 3 pays 2 but is always masked; action `s` is masked in state `s`;
/// action `(s + 1) % 3` pays 1; the rest pay 0. Taking a masked action counts a violation.
struct MaskedChoice: SimpleVectorizableEnv, StateCheckpointable {
    var isReady = false
    var generator: SeededGenerator
    var state = 0
    var violations = 0
    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    var observationSpace: Box { Box(low: 0, high: 1, shape: [3]) }
    var actionSpace: Discrete { Discrete(4) }
    var observationDimension: Int { 3 }
    static func allowed(_ state: Int, _ a: Int) -> Bool { a != 3 && a != state }
    mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
        state = Int(generator.next() % 3)
    }
    func writeObservation(into d: UnsafeMutablePointer<Float>) {
        for j in 0..<3 { d[j] = j == state ? 1 : 0 }
    }
    func writeActionMask(into d: UnsafeMutablePointer<Bool>) {
        for a in 0..<4 { d[a] = Self.allowed(state, a) }
    }
    mutating func step(discrete action: Int) -> Transition {
        if !Self.allowed(state, action) { violations += 1 }
        let r: Double = action == 3 ? 2 : (action == (state + 1) % 3 ? 1 : 0)
        return Transition(reward: r, terminated: true, truncated: false)
    }
    func saveState() -> StateDict {
        var s = StateDict()
        s.setGenerator(generator, at: "generator")
        s.setInts([state, violations], at: "state_violations")
        s.setFlag(isReady, at: "is_ready")
        return s
    }
    mutating func loadState(_ s: StateDict) throws {
        generator = try s.generator("generator")
        let v = try s.ints("state_violations", count: 2)
        state = v[0]
        violations = v[1]
        isReady = try s.flag("is_ready")
    }
}

typealias CartPoleEnv = TimeLimit<CartPole>

func makeCartPole(_ i: Int) -> CartPoleEnv { TimeLimit(CartPole(seed: UInt64(i)), maxEpisodeSteps: 500) }

/// A small, fast PPO config for CartPole tests.
func smallPPOConfig(seed: UInt64 = 1, autoreset: AutoresetMode = .sameStep) -> PPOConfig {
    var c = PPOConfig()
    c.numEnvs = 4
    c.numSteps = 32
    c.batchSize = 64
    c.numEpochs = 2
    c.hiddenSizes = [16, 16]
    c.totalTimesteps = 10_000
    c.seed = seed
    c.autoreset = autoreset
    c.clipRangeVF = 0.5
    c.entCoef = 0.01
    return c
}

/// A small, fast DQN config for CartPole tests (learning starts after one round).
func smallDQNConfig(seed: UInt64 = 1, autoreset: AutoresetMode = .sameStep) -> DQNConfig {
    var c = DQNConfig()
    c.numEnvs = 2
    c.learningStarts = 64
    c.trainFreq = 48
    c.gradientSteps = 4
    c.batchSize = 16
    c.bufferSize = 300
    c.hiddenSizes = [16, 16]
    c.totalTimesteps = 2_000
    c.seed = seed
    c.autoreset = autoreset
    return c
}

/// An event without its timing, comparable bit for bit (NaN-safe).
struct EventFingerprint: Equatable {
    var update: Int
    var globalStep: Int
    var episodes: [EpisodeStatistics]
    var losses: [String: UInt64]
    init(_ e: TrainingEvent) {
        update = e.update
        globalStep = e.globalStep
        episodes = e.episodes
        losses = e.losses.mapValues { $0.bitPattern }
    }
}

/// Bit patterns of every parameter.
func bits(_ net: MLP) -> [UInt32] { net.parameters.map(\.bitPattern) }
