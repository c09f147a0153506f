#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore
import SwitchGymNN

/// What an agent reports after each update (PPO: one rollout and its optimisation epochs;
/// DQN: one round of `trainFreq` vector steps and its gradient steps).
public struct TrainingEvent: Sendable {
    /// `"ppo"` or `"dqn"`.
    public var algorithm: String
    /// Updates completed so far (this one included).
    public var update: Int
    /// Env steps taken so far, counted as Stable-Baselines3 counts `num_timesteps`: sub-envs ×
    /// vector steps (with next-step autoreset this includes the reset steps).
    public var globalStep: Int
    /// Episodes that finished since the previous event, in the order they finished
    /// (sub-env order within a vector step).
    public var episodes: [EpisodeStatistics]
    /// Env steps per wall-clock second since the previous event (training time only: the
    /// caller's work between `train` calls is not counted). Not deterministic.
    public var stepsPerSecond: Double
    /// Scalars of this update by name. PPO: `policy_loss`, `value_loss`, `entropy`,
    /// `approx_kl`, `clip_fraction`, `learning_rate`, `clip_range`, `explained_variance`,
    /// `grad_norm`. DQN: `loss`, `q_values`, `epsilon`, `learning_rate`, `grad_norm`
    /// (`loss`, `q_values` and `grad_norm` only once learning has started).
    public var losses: [String: Double]
    /// The keys of ``losses`` that are schedules rather than losses (`learning_rate`,
    /// `clip_range`, `epsilon`): logged under `charts/`, the rest under `losses/`.
    public var scheduleKeys: Set<String>

    public init(algorithm: String, update: Int, globalStep: Int, episodes: [EpisodeStatistics],
                stepsPerSecond: Double, losses: [String: Double], scheduleKeys: Set<String> = []) {
        self.algorithm = algorithm
        self.update = update
        self.globalStep = globalStep
        self.episodes = episodes
        self.stepsPerSecond = stepsPerSecond
        self.losses = losses
        self.scheduleKeys = scheduleKeys
    }

    /// ``losses`` with their metric tags (CleanRL's names: `charts/learning_rate`,
    /// `losses/value_loss`), sorted by key.
    public var taggedScalars: [(tag: String, value: Double)] {
        losses.sorted { $0.key < $1.key }.map { (scheduleKeys.contains($0.key) ? "charts/\($0.key)" : "losses/\($0.key)", $0.value) }
    }

    /// The returns of ``episodes``.
    public var episodeReturns: [Double] { episodes.map(\.episodeReturn) }
    /// The lengths of ``episodes``.
    public var episodeLengths: [Int] { episodes.map(\.length) }
}


/// Why an agent could not be built or restored.
public struct AgentError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Seconds on a monotonic clock.
@inline(__always)
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A uniform integer in `0 ..< n` (Lemire's multiply-shift; bias < n / 2⁶⁴).
@inline(__always)
func uniformIndex(_ n: Int, _ g: inout SeededGenerator) -> Int {
    Int(truncatingIfNeeded: g.next().multipliedFullWidth(by: UInt64(n)).high)
}

/// Stops a run whose update left a non-finite loss or parameter, before the next rollout
/// acts with it (a `nan` logit would otherwise trap in the policy head, or be written to
/// metrics.csv as `loss = nan` by a run that exits 0).
enum Divergence {
    /// The losses checked; diagnostics such as `explained_variance` may be `nan` legitimately
    /// (returns of zero variance).
    static let lossKeys: Set<String> = ["policy_loss", "value_loss", "entropy", "grad_norm", "loss", "q_values"]

    /// - Throws: ``AgentError`` naming the algorithm, the update, the value and the knobs.
    static func check(_ algorithm: String, update: Int, losses: [String: Double], networks: [(String, MLP)]) throws {
        let hint = "lower learning_rate (or ent_coef, vf_coef, max_grad_norm), and check that the env's rewards are finite"
        if let bad = losses.sorted(by: { $0.key < $1.key }).first(where: { lossKeys.contains($0.key) && !$0.value.isFinite }) {
            throw AgentError("\(algorithm): training diverged at update \(update): \(bad.key) = \(bad.value); \(hint)")
        }
        for (name, net) in networks where !net.parameters.allSatisfy(\.isFinite) {
            throw AgentError("\(algorithm): training diverged at update \(update): the \(name)'s parameters are not finite; \(hint)")
        }
    }
}
