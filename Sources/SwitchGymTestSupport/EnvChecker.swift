import SwitchGymCore

/// The outcome of one named check of ``EnvChecker``.
public struct EnvCheckResult: Sendable, Equatable {
    /// The check's name, such as `seeded-determinism`.
    public var name: String
    /// Whether it passed.
    public var passed: Bool
    /// What was checked, or what went wrong (what, where, expected, actual).
    public var detail: String
}

/// Everything ``EnvChecker`` checked for one env.
public struct EnvCheckReport: Sendable, Equatable, CustomStringConvertible {
    /// The env's name.
    public var env: String
    /// One result per check, in order.
    public var results: [EnvCheckResult]

    /// The failed checks.
    public var failures: [EnvCheckResult] { results.filter { !$0.passed } }
    /// Whether every check passed.
    public var passed: Bool { failures.isEmpty }

    public var description: String {
        results.map { "\($0.passed ? "PASS" : "FAIL") \(env) \($0.name): \($0.detail)" }.joined(separator: "\n")
    }
}

/// Thrown by ``EnvChecker`` when a check fails; carries the full report.
public struct EnvCheckFailure: Error, CustomStringConvertible {
    /// The report, with at least one failure.
    public let report: EnvCheckReport
    public var description: String {
        "env check failed for \(report.env):\n" + report.failures.map { "  \($0.name): \($0.detail)" }.joined(separator: "\n")
    }
}

/// A conformance test every env must pass (Gymnasium's `check_env`): valid spaces,
/// observations inside their space, seeded determinism, a clear error when `step` comes
/// before `reset`, and an idempotent `close`. For registered envs it also checks that a
/// ``VectorEnv`` of the env reproduces the scalar env step by step.
public enum EnvChecker {
    /// Checks the env built by `make` (called once per fresh instance it needs).
    /// - Parameters:
    ///   - name: used in messages; defaults to the env's type.
    ///   - seeds: each seed drives one determinism run (reset seed and action stream).
    ///   - steps: steps per run, crossing episode boundaries with unseeded resets.
    /// - Returns: the report when every check passes.
    /// - Throws: ``EnvCheckFailure`` listing the failed checks.
    public static func check<E: Env>(name: String? = nil, _ make: () throws -> E,
                                      seeds: [UInt64] = [0, 1, 42], steps: Int = 300) throws -> EnvCheckReport
    where E.Observation: Equatable {
        var report = EnvCheckReport(env: name ?? "\(E.self)", results: [])
        func record(_ check: String, _ body: () throws -> String) {
            do {
                report.results.append(EnvCheckResult(name: check, passed: true, detail: try body()))
            } catch let failure as CheckFailed {
                report.results.append(EnvCheckResult(name: check, passed: false, detail: failure.detail))
            } catch {
                report.results.append(EnvCheckResult(name: check, passed: false, detail: "unexpected error: \(error)"))
            }
        }

        record("spaces") {
            let env = try make()
            try env.observationSpace.validate()
            try env.actionSpace.validate()
            return "observation \(env.observationSpace), action \(env.actionSpace)"
        }

        record("step-before-reset") {
            var env = try make()
            var g = SeededGenerator(seed: 0)
            let action = env.actionSpace.sample(using: &g)
            do {
                _ = try env.step(action)
            } catch let e as EnvError where e.code == .stepBeforeReset {
                return "throws: \(e.message)"
            } catch {
                throw CheckFailed("step before reset threw \(error), expected EnvError with code stepBeforeReset")
            }
            throw CheckFailed("step before reset succeeded; expected EnvError with code stepBeforeReset")
        }

        record("observations-in-space") {
            var checked = 0
            for seed in seeds {
                var env = try make()
                let trajectory = try rollout(&env, seed: seed, steps: steps)
                for (t, s) in trajectory.enumerated() {
                    if !env.observationSpace.contains(s.observation) {
                        throw CheckFailed("seed \(seed), step \(t): observation \(s.observation) is not in \(env.observationSpace)")
                    }
                    if !s.reward.isFinite {
                        throw CheckFailed("seed \(seed), step \(t): reward \(s.reward) is not finite")
                    }
                    checked += 1
                }
            }
            return "\(checked) observations inside the space, rewards finite"
        }

        record("seeded-determinism") {
            for seed in seeds {
                var a = try make()
                var b = try make()
                let ta = try rollout(&a, seed: seed, steps: steps)
                let tb = try rollout(&b, seed: seed, steps: steps)
                if let t = firstDifference(ta, tb) {
                    throw CheckFailed("seed \(seed): two envs with the same seed and actions diverge at record \(t): "
                                      + "\(t < ta.count ? "\(ta[t])" : "end") vs \(t < tb.count ? "\(tb[t])" : "end"). "
                                      + "- help: draw all randomness from the env's SeededGenerator.")
                }
                // Re-seeding the same instance must restart the stream.
                let again = try rollout(&a, seed: seed, steps: steps)
                if let t = firstDifference(ta, again) {
                    throw CheckFailed("seed \(seed): resetting the same env with the same seed diverges at step \(t). "
                                      + "- help: reset(seed:) must re-seed every generator the env uses.")
                }
            }
            return "\(seeds.count) seeds × \(steps) steps reproduce exactly"
        }

        record("close-twice") {
            var env = try make()
            _ = try env.reset(seed: 0)
            env.close()
            env.close()
            _ = try env.reset(seed: 0)
            env.close()
            return "close() twice, then reset, works"
        }

        if !report.passed { throw EnvCheckFailure(report: report) }
        return report
    }

    /// Checks a registered env: ``check(name:_:seeds:steps:)`` plus `vector-matches-scalar`
    /// (a ``VectorEnv`` in each autoreset mode gives the scalar env's transitions).
    public static func check(spec: EnvSpec, seeds: [UInt64] = [0, 1, 42], steps: Int = 300) throws -> EnvCheckReport {
        func opened<E: VectorizableEnv>(_ sample: E) throws -> EnvCheckReport {
            let make = { spec.make(seed: 0) as! E }
            var report: EnvCheckReport
            do {
                report = try check(name: spec.id, make, seeds: seeds, steps: steps)
            } catch let failure as EnvCheckFailure {
                report = failure.report
            }
            do {
                for mode in AutoresetMode.allCases {
                    for seed in seeds { try compareVectorToScalar(make, mode: mode, seed: seed, steps: steps) }
                }
                report.results.append(EnvCheckResult(name: "vector-matches-scalar", passed: true,
                                                     detail: "all autoreset modes reproduce the scalar env"))
            } catch let failed as CheckFailed {
                report.results.append(EnvCheckResult(name: "vector-matches-scalar", passed: false, detail: failed.detail))
            }
            if !report.passed { throw EnvCheckFailure(report: report) }
            return report
        }
        return try opened(spec.make(seed: 0))
    }

    // MARK: - Internals

    struct CheckFailed: Error {
        let detail: String
        init(_ detail: String) { self.detail = detail }
    }

    static func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> Int? {
        for i in 0..<min(a.count, b.count) where a[i] != b[i] { return i }
        return a.count == b.count ? nil : min(a.count, b.count)
    }

    struct Record<Observation: Equatable>: Equatable {
        var observation: Observation
        var reward: Double
        var terminated: Bool
        var truncated: Bool
    }

    /// Reset with `seed`, then `steps` actions drawn from a generator seeded with `seed`;
    /// resets without a seed when an episode ends.
    static func rollout<E: Env>(_ env: inout E, seed: UInt64, steps: Int) throws -> [Record<E.Observation>]
    where E.Observation: Equatable {
        var g = SeededGenerator(seed: seed)
        var out = [Record(observation: try env.reset(seed: seed).observation, reward: 0, terminated: false, truncated: false)]
        for _ in 0..<steps {
            let r = try env.step(env.actionSpace.sample(using: &g))
            out.append(Record(observation: r.observation, reward: r.reward, terminated: r.terminated, truncated: r.truncated))
            if r.terminated || r.truncated {
                out.append(Record(observation: try env.reset(seed: nil).observation, reward: 0, terminated: false, truncated: false))
            }
        }
        return out
    }

    /// Steps a one-copy vector env and the scalar env side by side.
    static func compareVectorToScalar<E: VectorizableEnv>(_ make: () -> E, mode: AutoresetMode,
                                                          seed: UInt64, steps: Int) throws {
        let vector = VectorEnv(count: 1, autoreset: mode) { _ in make() }
        let buffers = vector.makeBuffers()
        var scalar = make()
        try vector.reset(seed: seed, into: buffers)
        var expected = try scalar.reset(seed: seed).observation
        var g = SeededGenerator(seed: seed)
        var resetPending = false
        func fail(_ t: Int, _ what: String) -> CheckFailed {
            CheckFailed("\(mode.rawValue) autoreset, seed \(seed), step \(t): \(what)")
        }
        if Array(buffers.observations) != expected { throw fail(0, "reset observation differs") }
        for t in 1...max(steps, 1) {
            let action = scalar.actionSpace.sample(using: &g)
            var choices = [Int](repeating: 0, count: scalar.actionLayout.components)
            choices.withUnsafeMutableBufferPointer { scalar.actionSpace.writeChoices(of: action, into: $0.baseAddress!) }
            try vector.step(choices, into: buffers)
            var reward = 0.0, terminated = false, truncated = false
            if resetPending {
                expected = try scalar.reset(seed: nil).observation
                resetPending = false
            } else {
                let r = try scalar.step(action)
                (expected, reward, terminated, truncated) = (r.observation, r.reward, r.terminated, r.truncated)
                if terminated || truncated {
                    switch mode {
                    case .nextStep: resetPending = true
                    case .sameStep:
                        if Array(buffers.finalObservation(0)) != expected || !buffers.hasFinalObservation[0] {
                            throw fail(t, "final observation differs")
                        }
                        expected = try scalar.reset(seed: nil).observation
                    case .disabled:
                        try vector.reset(mask: [true], seed: nil, into: buffers)
                        expected = try scalar.reset(seed: nil).observation
                        if Array(buffers.observations) != expected { throw fail(t, "masked reset observation differs") }
                        continue
                    }
                }
            }
            if Array(buffers.observations) != expected {
                throw fail(t, "observation \(Array(buffers.observations)) != scalar \(expected)")
            }
            if buffers.rewards[0] != Float(reward) || buffers.terminations[0] != terminated || buffers.truncations[0] != truncated {
                throw fail(t, "reward/flags (\(buffers.rewards[0]), \(buffers.terminations[0]), \(buffers.truncations[0])) "
                           + "!= scalar (\(reward), \(terminated), \(truncated))")
            }
        }
    }
}
