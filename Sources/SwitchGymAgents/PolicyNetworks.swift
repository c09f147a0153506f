#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore
import SwitchGymNN

/// PPO's networks: separate actor (observation → action logits) and critic (observation →
/// value) MLPs, initialised as Stable-Baselines3's `ActorCriticPolicy` with `ortho_init`:
/// orthogonal weights with gain √2 on hidden layers, 0.01 on the policy output and 1 on the
/// value output, zero biases.
public final class ActorCritic {
    /// Observation → logits (`actionCount` outputs).
    public let actor: MLP
    /// Observation → value (one output).
    public let critic: MLP

    /// Builds and initialises both networks (actor first, from the same generator).
    public init(observationDimension: Int, actionCount: Int, hiddenSizes: [Int], activation: Activation,
                using generator: inout SeededGenerator) {
        actor = MLP(sizes: [observationDimension] + hiddenSizes + [actionCount], hiddenActivation: activation)
        critic = MLP(sizes: [observationDimension] + hiddenSizes + [1], hiddenActivation: activation)
        actor.initializeOrthogonal(hiddenGain: Float(2).squareRoot(), outputGain: 0.01, using: &generator)
        critic.initializeOrthogonal(hiddenGain: Float(2).squareRoot(), outputGain: 1, using: &generator)
    }
}

/// PyTorch's default `nn.Linear` initialisation (what Stable-Baselines3's DQN uses):
/// weights and biases uniform in `±1/√fan_in` (`kaiming_uniform_(a=√5)` reduces to this).
public enum FanInUniform {
    /// Initialises every layer of `network`.
    public static func initialize(_ network: MLP, using generator: inout SeededGenerator) {
        for (l, d) in network.layers.enumerated() {
            let bound = 1 / Double(d.inputSize).squareRoot()
            let w = network.weights(l), b = network.bias(l)
            for i in w.indices { w[i] = Float((2 * generator.nextUnit() - 1) * bound) }
            for i in b.indices { b[i] = Float((2 * generator.nextUnit() - 1) * bound) }
        }
    }
}

/// A greedy (deterministic) policy: the allowed action with the largest output.
public protocol GreedyPolicy {
    /// The env action (offset by the action space's `start`) for one observation.
    /// - Parameter mask: allowed actions (`actionCount` entries), or `nil` for all.
    func act(observation: UnsafePointer<Float>, mask: UnsafePointer<Bool>?) -> Int
}

extension GreedyPolicy {
    /// ``act(observation:mask:)`` on arrays.
    public func act(observation: [Float], mask: [Bool]? = nil) -> Int {
        observation.withUnsafeBufferPointer { o in
            if let mask {
                return mask.withUnsafeBufferPointer { act(observation: o.baseAddress!, mask: $0.baseAddress!) }
            }
            return act(observation: o.baseAddress!, mask: nil)
        }
    }
}

/// Runs a policy on a single env for evaluation (Stable-Baselines3's `evaluate_policy`).
public enum Evaluation {
    /// Plays `episodes` full episodes of `env` with `policy` and returns their statistics.
    ///
    /// The first episode resets with `seed` (if given), later ones continue the env's stream.
    /// An episode is cut (and reported) after `maxSteps` steps, so an env without a time
    /// limit cannot hang the caller. Allocates only the result and two small rows.
    public static func run<E: VectorizableEnv>(
        _ policy: some GreedyPolicy, env: inout E, episodes: Int, seed: UInt64?, maxSteps: Int = 1_000_000
    ) -> [EpisodeStatistics] {
        var out: [EpisodeStatistics] = []
        out.reserveCapacity(episodes)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: env.observationDimension)
        let mask = UnsafeMutablePointer<Bool>.allocate(capacity: env.actionSpace.n)
        defer { obs.deallocate(); mask.deallocate() }
        for e in 0..<episodes {
            env.resetState(seed: e == 0 ? seed : nil)
            var ret = 0.0, len = 0
            while len < maxSteps {
                env.writeObservation(into: obs)
                env.writeActionMask(into: mask)
                let t = env.step(discrete: policy.act(observation: obs, mask: mask))
                ret += t.reward
                len += 1
                if t.terminated || t.truncated { break }
            }
            out.append(EpisodeStatistics(episodeReturn: ret, length: len))
        }
        return out
    }

    /// The mean return of `episodes`.
    public static func meanReturn(_ episodes: [EpisodeStatistics]) -> Double {
        episodes.isEmpty ? 0 : episodes.reduce(0) { $0 + $1.episodeReturn } / Double(episodes.count)
    }
}
