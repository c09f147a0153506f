/// A fixed list of actions read from a text file, one action per line (the `--actions FILE`
/// of `switchgym envs rollout`): an integer for a ``Discrete`` env, integers separated by
/// spaces or commas for a ``MultiDiscrete`` one (a serving env: one variant index per device).
public struct ActionScript: Sendable, Equatable {
    /// Where the actions came from (a path), for error messages.
    public let source: String
    /// The actions, in order (each the action's values: one for a ``Discrete`` env).
    public let actions: [[Int]]
    /// The 1-based line of each action in ``source``.
    public let lines: [Int]

    /// Parses `contents`: one action per line, its integers separated by spaces or commas;
    /// blank lines are skipped.
    /// - Throws: ``EnvError/Code/invalidArgument`` naming `source` and the line of the first
    ///   malformed entry.
    public init(parsing contents: String, source: String) throws {
        var actions = [[Int]]()
        var lines = [Int]()
        for (index, raw) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = raw.trimmingCharacters(in: " \t\r")
            if text.isEmpty { continue }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            let values = fields.compactMap { Int($0) }
            guard !fields.isEmpty, values.count == fields.count else {
                throw EnvError(.invalidArgument,
                               "\(source):\(index + 1): expected one action per line (integers separated by spaces or commas), found '\(text)'.")
            }
            actions.append(values)
            lines.append(index + 1)
        }
        self.source = source
        self.actions = actions
        self.lines = lines
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return s
    }
}

/// How a rollout chooses actions.
public enum RolloutPolicy: Sendable, Equatable {
    /// Uniform over the allowed actions (the action mask), seeded from the rollout seed.
    case random
    /// The actions of a script, in order.
    case script(ActionScript)
    /// A function of the observation and the action mask (a trained policy).
    case function(RolloutFunction)
}

/// A policy function for ``RolloutPolicy/function(_:)`` (compared by identity): from the
/// observation and the action mask (``ActionLayout``) to a choice row (0-based per component).
public final class RolloutFunction: @unchecked Sendable, Equatable {
    public let act: ([Float], [Bool]) -> [Int]

    public init(_ act: @escaping ([Float], [Bool]) -> [Int]) { self.act = act }

    public static func == (a: RolloutFunction, b: RolloutFunction) -> Bool { a === b }
}

/// Runs one env for a number of steps and reports every transition as a JSON line, the
/// logic behind `switchgym envs rollout`.
///
/// Each line is `{"t", "obs", "action", "reward", "terminated", "truncated"}`. The first
/// line is the reset observation with `"action": null`, reward 0 and both flags false; each
/// later line holds the action taken and the resulting observation, reward and flags, with
/// `t` the step number within the episode. When an episode ends and steps remain, the next
/// line is a new reset (`t` 0, action null). Non-finite numbers are written as `null`.
public enum Rollout {
    /// Runs `steps` steps of the env registered as `spec`.
    /// - Parameters:
    ///   - seed: seeds the first reset (and the random policy).
    ///   - steps: number of actions to take; with a script, at most the script's length.
    ///   - initialState: overwrites the env's state after the first reset (``VectorizableEnv/setState(_:)``).
    ///   - emit: receives each JSON line (without a newline).
    /// - Throws: ``EnvError`` for a script action outside the action space (naming its
    ///   file and line), a script shorter than `steps`, or an unsupported initial state.
    public static func run(spec: EnvSpec, seed: UInt64, steps: Int, policy: RolloutPolicy,
                           initialState: [Double]? = nil, emit: (String) throws -> Void) throws {
        try run(env: spec.make(seed: seed), seed: seed, steps: steps, policy: policy,
                initialState: initialState, emit: emit)
    }

    /// ``run(spec:seed:steps:policy:initialState:emit:)`` collecting the lines.
    public static func lines(spec: EnvSpec, seed: UInt64, steps: Int, policy: RolloutPolicy,
                             initialState: [Double]? = nil) throws -> [String] {
        var out = [String]()
        try run(spec: spec, seed: seed, steps: steps, policy: policy, initialState: initialState) { out.append($0) }
        return out
    }

    /// Runs `steps` steps of `env` (any vectorizable env: a registered one or a scenario's).
    public static func run<E: VectorizableEnv>(env: E, seed: UInt64, steps: Int, policy: RolloutPolicy,
                                               initialState: [Double]? = nil, emit: (String) throws -> Void) throws {
        guard steps >= 0 else { throw EnvError(.invalidArgument, "rollout: --steps must be non-negative, got \(steps).") }
        var env = env
        let space = env.actionSpace
        let layout = env.actionLayout
        let offset = space.choiceOffset
        if case .script(let script) = policy {
            if steps > script.actions.count {
                throw EnvError(.invalidArgument,
                               "rollout: \(steps) steps requested but \(script.source) holds only \(script.actions.count) actions.")
            }
            for (a, line) in zip(script.actions, script.lines) {
                let ok = a.map { $0 - offset }.withUnsafeBufferPointer { layout.contains($0) }
                if !ok {
                    let shown = a.count == 1 ? "\(a[0])" : "\(a)"
                    throw EnvError(.invalidAction, "\(script.source):\(line): action \(shown) is not in \(space).")
                }
            }
        }
        var generator = SeededGenerator.substream(seed: seed, index: 1)
        var observation = try env.reset(seed: seed).observation
        if let initialState {
            try env.setState(initialState)
            observation = env.currentObservation()
        }
        try emit(line(t: 0, observation: observation, action: nil, reward: 0, terminated: false, truncated: false))
        var t = 0
        for k in 0..<steps {
            var choices: [Int]
            switch policy {
            case .random:
                let mask = env.currentActionMask()
                choices = try layout.sizes.indices.map { c in
                    try mask.withUnsafeBufferPointer { m in
                        try Discrete(layout.sizes[c]).sample(
                            mask: UnsafeBufferPointer(rebasing: m[layout.offsets[c]..<(layout.offsets[c] + layout.sizes[c])]),
                            using: &generator)
                    }
                }
            case .script(let script): choices = script.actions[k].map { $0 - offset }
            case .function(let f): choices = f.act(observation, env.currentActionMask())
            }
            guard choices.withUnsafeBufferPointer({ layout.contains($0) }) else {
                throw EnvError(.invalidAction, "rollout: the policy chose \(choices), not a choice row of \(layout).")
            }
            let action = choices.withUnsafeBufferPointer { space.element(choices: $0) }
            let r = try env.step(action)
            observation = r.observation
            t += 1
            let values = choices.map { $0 + offset }
            try emit(line(t: t, observation: r.observation, action: space.isScalar ? "\(values[0])" : "[\(values.map(String.init).joined(separator: ","))]",
                          reward: r.reward, terminated: r.terminated, truncated: r.truncated))
            if (r.terminated || r.truncated) && k + 1 < steps {
                observation = try env.reset(seed: nil).observation
                t = 0
                try emit(line(t: 0, observation: observation, action: nil, reward: 0, terminated: false, truncated: false))
            }
        }
        env.close()
    }

    /// One JSON line, keys in the documented order.
    public static func line(t: Int, observation: [Float], action: String?, reward: Double,
                            terminated: Bool, truncated: Bool) -> String {
        func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ x: F) -> String {
            x.isFinite ? "\(x)" : "null"
        }
        let obs = observation.map { number($0) }.joined(separator: ",")
        let a = action ?? "null"
        return "{\"t\":\(t),\"obs\":[\(obs)],\"action\":\(a),\"reward\":\(number(reward)),"
            + "\"terminated\":\(terminated),\"truncated\":\(truncated)}"
    }
}
