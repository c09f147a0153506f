/// Delayed credit assignment (PufferLib's sanity envs): the reward for the one decision that
/// matters arrives ``Configuration/delay`` steps after it.
///
/// At reset a cue `c ∈ {0, 1}` is drawn and shown once: the first observation is
/// `[c == 0, c == 1, 0]`. The first action is the decision; it is correct if it equals `c`.
/// The next `delay` steps show `[0, 0, s / delay]` (`s` = steps taken), ignore their actions
/// and pay 0, except the last, which pays 1 for a correct decision (0 otherwise) and
/// terminates. Episodes are `delay + 1` steps long.
public struct DelayedReward: SimpleVectorizableEnv, Sendable {
    /// The delay.
    public struct Configuration: Sendable, Equatable, Codable {
        /// Steps between the decision and its reward.
        public var delay = 3
        public init() {}
    }

    /// The delay.
    public let configuration: Configuration
    public var isReady = false
    private var generator: SeededGenerator
    private var cue = 0
    private var correct = false
    private var stepsTaken = 0

    /// Creates the env; `seed` seeds resets without a seed.
    public init(configuration: Configuration = Configuration(), seed: UInt64 = 0) {
        precondition(configuration.delay >= 0, "DelayedReward: delay must be non-negative")
        self.configuration = configuration
        self.generator = SeededGenerator(seed: seed)
    }

    /// `Box(0, 1, [3])`: cue one-hot (shown only at the first step) and progress.
    public var observationSpace: Box { Box(low: 0, high: 1, shape: [3]) }
    /// `Discrete(2)`.
    public var actionSpace: Discrete { Discrete(2) }
    public var observationDimension: Int { 3 }

    public mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
        cue = Int(generator.next() >> 63)
        correct = false
        stepsTaken = 0
    }

    public func writeObservation(into destination: UnsafeMutablePointer<Float>) {
        let showCue = stepsTaken == 0
        destination[0] = showCue && cue == 0 ? 1 : 0
        destination[1] = showCue && cue == 1 ? 1 : 0
        destination[2] = configuration.delay == 0 ? 0
            : Float(min(stepsTaken, configuration.delay)) / Float(configuration.delay)
    }

    public mutating func step(discrete action: Int) -> Transition {
        if stepsTaken == 0 { correct = action == cue }
        stepsTaken += 1
        if stepsTaken > configuration.delay {
            return Transition(reward: correct ? 1 : 0, terminated: true, truncated: false)
        }
        return Transition(reward: 0, terminated: false, truncated: false)
    }
}

extension DelayedReward: StateCheckpointable {
    /// The generator, cue, decision, step count and ready flag.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.setGenerator(generator, at: "generator")
        s.setInts([cue, stepsTaken], at: "cue_steps")
        s.setFlag(correct, at: "correct")
        s.setFlag(isReady, at: "is_ready")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let g = try s.generator("generator")
        let cs = try s.ints("cue_steps", count: 2)
        let c = try s.flag("correct")
        let r = try s.flag("is_ready")
        generator = g
        cue = cs[0]
        stepsTaken = cs[1]
        correct = c
        isReady = r
    }
}
