import SwitchGymCore

/// The accepted range of every number of the agents' configs (``PPOConfig``, ``DQNConfig``),
/// and the limits on the sizes they imply together with the env.
///
/// `validate()` checks each key against its bounds (the message names the key and the
/// range; ``AgentConfig/decode(_:over:source:)`` adds the file). The agents check the sizes
/// before allocating: networks (``checkNetworks(_:)``) and rollout or replay storage
/// (``checkStorage(_:count:knob:)``). The ranges are wide; they keep training finite (a
/// learning rate of 1e38 or an entropy coefficient of 1e300 turns the parameters into `nan`
/// on the first update) and every size within `Int` and memory.
public enum ConfigBounds {
    /// `n_envs`.
    public static let numEnvs = InputBounds.closed(1, 4096, unit: "envs")
    /// `n_steps`, `batch_size`.
    public static let steps = InputBounds.closed(1, 1_048_576)
    /// `n_epochs`, `gradient_steps` (0 allowed for the latter).
    public static let epochs = InputBounds.closed(1, 10_000)
    /// `n_timesteps`.
    public static let totalTimesteps = InputBounds.closed(1, 1e12, unit: "steps")
    /// `buffer_size`, `learning_starts`, `train_freq`, `target_update_interval`.
    public static let stepCount = InputBounds.closed(0, 1e12, unit: "steps")
    /// `gamma`, `gae_lambda`, exploration ε's.
    public static let fraction = InputBounds.closed(0, 1)
    /// `learning_rate`.
    public static let learningRate = InputBounds.closed(0, 1)
    /// `clip_range`, `clip_range_vf`.
    public static let clipRange = InputBounds.above(0, upTo: 1000)
    /// `ent_coef`, `vf_coef`.
    public static let coefficient = InputBounds.closed(0, 1000)
    /// `max_grad_norm`.
    public static let maxGradNorm = InputBounds.above(0, upTo: 1_000_000)
    /// `target_kl`.
    public static let targetKL = InputBounds.above(0, upTo: 1000)
    /// `adam_epsilon`.
    public static let adamEpsilon = InputBounds.above(0, upTo: 1)
    /// Each width of `net_arch`.
    public static let layerWidth = InputBounds.closed(1, 65_536, unit: "units")
    /// The number of hidden layers of `net_arch`.
    public static let layerCount = InputBounds.closed(0, 64, unit: "layers")

    /// The most parameters of the actor and critic (or the Q-network) together: 2^26
    /// parameters take 1 GB with their gradients and Adam's two moments.
    public static let maxParameters = 1 << 26
    /// The most values of rollout or replay storage (2^28, about 1 GB of floats).
    public static let maxStorageValues = 1 << 28

    /// Throws ``AgentError`` naming `config` and `key` when `x` is outside `bounds`.
    static func check(_ config: String, _ key: String, _ x: Double, _ bounds: InputBounds) throws {
        if let m = bounds.violation(x) { throw AgentError("\(config): key '\(key)': \(m)") }
    }

    static func check(_ config: String, _ key: String, _ x: Int, _ bounds: InputBounds) throws {
        if let m = bounds.violation(x) { throw AgentError("\(config): key '\(key)': \(m)") }
    }

    /// Checks `net_arch`: the number of layers and each width.
    static func checkNetArch(_ config: String, _ sizes: [Int]) throws {
        if let m = layerCount.violation(sizes.count) { throw AgentError("\(config): key 'net_arch': \(m)") }
        for (i, w) in sizes.enumerated() { try check(config, "net_arch[\(i)]", w, layerWidth) }
    }

    /// The parameters of an MLP with layer sizes `sizes` (weights and biases), or `nil` on overflow.
    public static func parameterCount(_ sizes: [Int]) -> Int? {
        var total = 0
        for (a, b) in zip(sizes, sizes.dropFirst()) {
            guard let w = Checked.product(a, b), let t = Checked.sum([total, w, b]) else { return nil }
            total = t
        }
        return total
    }

    /// Checks, before they are allocated, that networks of these layer sizes fit
    /// ``maxParameters``.
    /// - Throws: ``AgentError`` naming `net_arch`, the count and the limit.
    public static func checkNetworks(_ networks: [[Int]]) throws {
        let counts = networks.map(parameterCount)
        let total = counts.contains { $0 == nil } ? nil : Checked.sum(counts.map { $0! })
        let e = ResourceEstimate("network parameters (layer sizes \(networks.map { "\($0)" }.joined(separator: " and ")))",
                                 count: total, limit: maxParameters, knob: "use narrower or fewer layers in net_arch")
        if let m = e.violation { throw AgentError("key 'net_arch': \(m)") }
    }

    /// Checks, before it is allocated, that storage of `count` values fits ``maxStorageValues``.
    /// - Throws: ``AgentError`` naming what is stored, the limit and the keys that size it.
    public static func checkStorage(_ what: String, count: Int?, knob: String) throws {
        let e = ResourceEstimate(what, count: count, limit: maxStorageValues, knob: knob)
        if let m = e.violation { throw AgentError(m) }
    }
}
