/// When a ``VectorEnv`` resets a sub-env whose episode ended, exactly as Gymnasium ≥ 1.0
/// defines `AutoresetMode` (`gymnasium.vector.AutoresetMode`).
public enum AutoresetMode: String, Sendable, CaseIterable, Codable {
    /// On the step *after* an episode ends, the sub-env is reset instead of stepped: its
    /// action is ignored, and the step returns the reset observation with reward 0,
    /// `terminated == false` and `truncated == false`. Gymnasium's default.
    case nextStep = "next-step"
    /// On the step where an episode ends, the sub-env is reset at once: the step returns
    /// the reset observation with the final step's reward and flags, and the final
    /// observation is in ``VectorBuffers/finalObservations`` (flagged by
    /// ``VectorBuffers/hasFinalObservation``).
    case sameStep = "same-step"
    /// Never reset automatically; call ``VectorEnv/reset(mask:seed:into:)`` for the
    /// sub-envs that ended.
    case disabled
}
