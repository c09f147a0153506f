import SwitchGymCore

/// PPO's on-policy storage for one rollout of `steps` vector steps of `envs` sub-envs,
/// allocated once. Row `t * envs + i` is step `t` of sub-env `i`.
///
/// Checkpoints are taken between updates, when the buffer holds nothing that is needed
/// later, so it is not part of an agent's saved state.
public final class RolloutBuffer {
    /// Vector steps per rollout.
    public let steps: Int
    /// Sub-envs.
    public let envs: Int
    /// `Float`s per observation.
    public let observationDimension: Int
    /// The action codec.
    public let actionLayout: ActionLayout
    /// Mask entries per row (``ActionLayout/maskWidth``).
    public let maskWidth: Int
    /// Choices per row (``ActionLayout/components``).
    public let components: Int
    /// `steps × envs`.
    public var capacity: Int { steps * envs }

    /// Observations the actions were taken in, `capacity × observationDimension`.
    public let observations: UnsafeMutableBufferPointer<Float>
    /// Action masks in force when acting, `capacity × maskWidth`.
    public let actionMasks: UnsafeMutableBufferPointer<Bool>
    /// Choice rows, `capacity × components` (0-based per component, not offset by a space's `start`).
    public let actions: UnsafeMutableBufferPointer<Int32>
    /// Log-probabilities of the actions under the acting policy.
    public let logProbabilities: UnsafeMutableBufferPointer<Float>
    /// Each component's log-probability of its choice (`steps × envs × components`; a
    /// family policy's are conditional on the choices before it).
    public let choiceLogProbabilities: UnsafeMutableBufferPointer<Float>
    /// Critic values of the observations.
    public let values: UnsafeMutableBufferPointer<Float>
    /// Rewards.
    public let rewards: UnsafeMutableBufferPointer<Float>
    /// Terminated flags.
    public let terminations: UnsafeMutableBufferPointer<Bool>
    /// Truncated flags.
    public let truncations: UnsafeMutableBufferPointer<Bool>
    /// Value of the final observation where truncated (see ``GAE``).
    public let truncationValues: UnsafeMutableBufferPointer<Float>
    /// False for next-step autoreset's reset steps (excluded from the loss).
    public let valid: UnsafeMutableBufferPointer<Bool>
    /// GAE advantages.
    public let advantages: UnsafeMutableBufferPointer<Float>
    /// λ-returns (value targets).
    public let returns: UnsafeMutableBufferPointer<Float>
    /// Values of the observations after the last step, one per sub-env.
    public let lastValues: UnsafeMutableBufferPointer<Float>

    /// Allocates zeroed storage.
    public init(steps: Int, envs: Int, observationDimension: Int, actionLayout: ActionLayout) {
        precondition(steps > 0 && envs > 0 && observationDimension > 0, "RolloutBuffer: sizes must be positive")
        self.steps = steps
        self.envs = envs
        self.observationDimension = observationDimension
        self.actionLayout = actionLayout
        self.maskWidth = actionLayout.maskWidth
        self.components = actionLayout.components
        let n = steps * envs
        func make<T>(_ count: Int, _ zero: T) -> UnsafeMutableBufferPointer<T> {
            let b = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
            b.initialize(repeating: zero)
            return b
        }
        observations = make(n * observationDimension, 0)
        actionMasks = make(n * maskWidth, true)
        actions = make(n * components, 0)
        logProbabilities = make(n, 0)
        choiceLogProbabilities = make(n * actionLayout.components, 0)
        values = make(n, 0)
        rewards = make(n, 0)
        terminations = make(n, false)
        truncations = make(n, false)
        truncationValues = make(n, 0)
        valid = make(n, true)
        advantages = make(n, 0)
        returns = make(n, 0)
        lastValues = make(envs, 0)
    }

    deinit {
        observations.deallocate(); actionMasks.deallocate(); actions.deallocate()
        logProbabilities.deallocate(); choiceLogProbabilities.deallocate(); values.deallocate(); rewards.deallocate()
        terminations.deallocate(); truncations.deallocate(); truncationValues.deallocate()
        valid.deallocate(); advantages.deallocate(); returns.deallocate(); lastValues.deallocate()
    }

    /// With next-step autoreset, fills ``truncationValues`` from the next row's value (the
    /// final observation is the observation the reset step acts in) or ``lastValues``.
    public func fillNextStepTruncationValues() {
        for t in 0..<steps {
            for i in 0..<envs {
                let k = t * envs + i
                if truncations[k] && !terminations[k] {
                    truncationValues[k] = t + 1 < steps ? values[k + envs] : lastValues[i]
                }
            }
        }
    }

    /// Runs ``GAE`` over the buffer.
    public func computeAdvantages(gamma: Float, lambda: Float) {
        GAE.compute(steps: steps, envs: envs, gamma: gamma, lambda: lambda,
                    rewards: rewards.baseAddress!, values: values.baseAddress!,
                    terminations: terminations.baseAddress!, truncations: truncations.baseAddress!,
                    truncationValues: truncationValues.baseAddress!, valid: valid.baseAddress!,
                    lastValues: lastValues.baseAddress!,
                    advantages: advantages.baseAddress!, returns: returns.baseAddress!)
    }
}
