/// Generalised advantage estimation (Schulman et al., 2016) over a rollout of `steps` vector
/// steps of `envs` sub-envs, with Gymnasium's separate terminations and truncations and
/// next-step autoreset's reset steps.
///
/// Arrays are row-major `[t * envs + i]`. For step `t` of sub-env `i` (observation `s_t`,
/// value `values[t]`), the value of the state the transition reached is
///
/// - `0` if it **terminated** (an absorbing state; this wins when both flags are set);
/// - `truncationValues[t]` if it was **truncated**: the critic's value of the final
///   observation. With same-step autoreset the agent computes it from
///   ``SwitchGymCore/VectorBuffers/finalObservations``; with next-step autoreset the final
///   observation is the next row's observation, so it is `values[t + 1]` (or `lastValues`);
/// - otherwise `values[t + 1]`, or `lastValues` after the last step.
///
/// `δ_t = r_t + γ V_next − V(s_t)` and `A_t = δ_t + γλ A_{t+1}`, where the recursion is cut
/// at every episode end (terminated or truncated). Steps with `valid[t] == false` (next-step
/// autoreset's reset steps, whose action was ignored) get `A_t = 0`, `R_t = V(s_t)` and also
/// cut the recursion; they must be left out of the loss. Returns are `R_t = A_t + V(s_t)`
/// (the λ-return the critic regresses on, as Stable-Baselines3 and CleanRL compute it).
public enum GAE {
    /// Computes `advantages` and `returns` in place; no allocation.
    public static func compute(
        steps: Int, envs: Int, gamma: Float, lambda: Float,
        rewards: UnsafePointer<Float>, values: UnsafePointer<Float>,
        terminations: UnsafePointer<Bool>, truncations: UnsafePointer<Bool>,
        truncationValues: UnsafePointer<Float>, valid: UnsafePointer<Bool>?,
        lastValues: UnsafePointer<Float>,
        advantages: UnsafeMutablePointer<Float>, returns: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<envs {
            var next: Float = 0  // A_{t+1}
            for t in stride(from: steps - 1, through: 0, by: -1) {
                let k = t * envs + i
                if let valid, !valid[k] {
                    advantages[k] = 0
                    returns[k] = values[k]
                    next = 0
                    continue
                }
                let nextValue: Float
                let cont: Float
                if terminations[k] {
                    nextValue = 0
                    cont = 0
                } else if truncations[k] {
                    nextValue = truncationValues[k]
                    cont = 0
                } else {
                    nextValue = t + 1 < steps ? values[k + envs] : lastValues[i]
                    cont = 1
                }
                let delta = rewards[k] + gamma * nextValue - values[k]
                let a = delta + gamma * lambda * cont * next
                advantages[k] = a
                returns[k] = a + values[k]
                next = a
            }
        }
    }

    /// ``compute(steps:envs:gamma:lambda:rewards:values:terminations:truncations:truncationValues:valid:lastValues:advantages:returns:)``
    /// on arrays (allocates the results; for tests and tools).
    public static func compute(
        steps: Int, envs: Int, gamma: Float, lambda: Float, rewards: [Float], values: [Float],
        terminations: [Bool], truncations: [Bool], truncationValues: [Float], valid: [Bool]?, lastValues: [Float]
    ) -> (advantages: [Float], returns: [Float]) {
        let n = steps * envs
        precondition(rewards.count == n && values.count == n && terminations.count == n && truncations.count == n
                     && truncationValues.count == n && (valid?.count ?? n) == n && lastValues.count == envs,
                     "GAE.compute: array sizes do not match steps × envs")
        var adv = [Float](repeating: 0, count: n), ret = [Float](repeating: 0, count: n)
        let validArray = valid ?? [Bool](repeating: true, count: n)
        adv.withUnsafeMutableBufferPointer { a in
            ret.withUnsafeMutableBufferPointer { r in
                compute(steps: steps, envs: envs, gamma: gamma, lambda: lambda, rewards: rewards, values: values,
                        terminations: terminations, truncations: truncations, truncationValues: truncationValues,
                        valid: validArray, lastValues: lastValues,
                        advantages: a.baseAddress!, returns: r.baseAddress!)
            }
        }
        return (adv, ret)
    }
}
