/// A multi-armed bandit with one best arm (PufferLib `ocean/sanity.py`'s bandit): tests that
/// an agent can learn which action pays without any state or credit assignment.
///
/// Every episode is one step. The observation is the constant `[1]`. Pulling arm `a` pays 1
/// with probability ``Configuration/bestProbability`` if `a` is ``Configuration/bestArm``
/// and ``Configuration/otherProbability`` otherwise, and 0 else.
public struct Bandit: SimpleVectorizableEnv, Sendable {
    /// The bandit's arms and payout probabilities.
    public struct Configuration: Sendable, Equatable, Codable {
        /// Number of arms.
        public var armCount = 4
        /// The arm that pays most often.
        public var bestArm = 2
        /// Payout probability of the best arm.
        public var bestProbability = 0.9
        /// Payout probability of every other arm.
        public var otherProbability = 0.2
        public init() {}
    }

    /// The arms and payout probabilities.
    public let configuration: Configuration
    public var isReady = false
    private var generator: SeededGenerator

    /// Creates the bandit; `seed` seeds resets without a seed.
    public init(configuration: Configuration = Configuration(), seed: UInt64 = 0) {
        precondition(configuration.armCount > 0 && (0..<configuration.armCount).contains(configuration.bestArm),
                     "Bandit: bestArm must be one of the \(configuration.armCount) arms")
        self.configuration = configuration
        self.generator = SeededGenerator(seed: seed)
    }

    /// `Box(0, 1, [1])`; the observation is always `[1]`.
    public var observationSpace: Box { Box(low: 0, high: 1, shape: [1]) }
    /// `Discrete(armCount)`.
    public var actionSpace: Discrete { Discrete(configuration.armCount) }
    public var observationDimension: Int { 1 }

    public mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
    }

    public func writeObservation(into destination: UnsafeMutablePointer<Float>) {
        destination[0] = 1
    }

    public mutating func step(discrete action: Int) -> Transition {
        let p = action == configuration.bestArm ? configuration.bestProbability : configuration.otherProbability
        let reward: Double = generator.nextUnit() < p ? 1 : 0
        return Transition(reward: reward, terminated: true, truncated: false)
    }
}

extension Bandit: StateCheckpointable {
    /// The generator and the ready flag.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.setGenerator(generator, at: "generator")
        s.setFlag(isReady, at: "is_ready")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let g = try s.generator("generator")
        let r = try s.flag("is_ready")
        generator = g
        isReady = r
    }
}
