/// A miniature of model switching: holding the better of two options pays more, switching
/// costs a penalty, and which option is better changes now and then. Tests that an agent
/// switches when the gain outweighs the cost and does not flip-flop.
///
/// The observation is `[held == 0, held == 1, better == 0, better == 1]`. The action names the
/// option to hold next; if it differs from the held option the step pays
/// `-```Configuration/switchCost``. The step then pays ``Configuration/betterReward`` if the
/// held option is the better one and ``Configuration/worseReward`` otherwise, after which the
/// better option flips with probability ``Configuration/changeProbability``. Episodes never
/// terminate; `SwitchCost-v0` truncates them at 200 steps with ``TimeLimit``.
public struct SwitchCost: SimpleVectorizableEnv, Sendable {
    /// Rewards, penalty and drift.
    public struct Configuration: Sendable, Equatable, Codable {
        /// Reward per step for holding the better option.
        public var betterReward = 1.0
        /// Reward per step for holding the worse option.
        public var worseReward = 0.5
        /// Penalty for changing the held option.
        public var switchCost = 0.5
        /// Probability per step that the better option changes.
        public var changeProbability = 0.05
        public init() {}
    }

    /// Rewards, penalty and drift.
    public let configuration: Configuration
    public var isReady = false
    private var generator: SeededGenerator
    /// The option currently held.
    public private(set) var held = 0
    /// The option that currently pays more.
    public private(set) var better = 0

    /// Creates the env; `seed` seeds resets without a seed.
    public init(configuration: Configuration = Configuration(), seed: UInt64 = 0) {
        self.configuration = configuration
        self.generator = SeededGenerator(seed: seed)
    }

    /// `Box(0, 1, [4])`: held option and better option, one-hot.
    public var observationSpace: Box { Box(low: 0, high: 1, shape: [4]) }
    /// `Discrete(2)`: the option to hold.
    public var actionSpace: Discrete { Discrete(2) }
    public var observationDimension: Int { 4 }

    public mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
        held = Int(generator.next() >> 63)
        better = Int(generator.next() >> 63)
    }

    public func writeObservation(into destination: UnsafeMutablePointer<Float>) {
        destination[0] = held == 0 ? 1 : 0
        destination[1] = held == 1 ? 1 : 0
        destination[2] = better == 0 ? 1 : 0
        destination[3] = better == 1 ? 1 : 0
    }

    public mutating func step(discrete action: Int) -> Transition {
        var reward = 0.0
        if action != held {
            reward -= configuration.switchCost
            held = action
        }
        reward += held == better ? configuration.betterReward : configuration.worseReward
        if generator.nextUnit() < configuration.changeProbability { better = 1 - better }
        return Transition(reward: reward, terminated: false, truncated: false)
    }
}

extension SwitchCost: StateCheckpointable {
    /// The generator, held and better options and the ready flag.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.setGenerator(generator, at: "generator")
        s.setInts([held, better], at: "held_better")
        s.setFlag(isReady, at: "is_ready")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let g = try s.generator("generator")
        let hb = try s.ints("held_better", count: 2)
        let r = try s.flag("is_ready")
        generator = g
        held = hb[0]
        better = hb[1]
        isReady = r
    }
}
