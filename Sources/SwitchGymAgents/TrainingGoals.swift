import SwitchGymCore

/// What a training run aims for besides its step budget: an early stop on the training
/// return or on the evaluation return, and periodic greedy evaluation that keeps the best
/// policy (Stable-Baselines3's `StopTrainingOnRewardThreshold` and `EvalCallback`).
///
/// Saved in the run's `config.json` under `"goals"` (keys `stop_at_return`, `stop_on`,
/// `eval_every`, `eval_episodes`; unknown keys are refused), so `--resume` continues with the
/// same goals.
/// The progress towards them (the window of recent returns, the best evaluation) is part of
/// every checkpoint (``TrainingGoals/Progress``), so a resumed run stops and evaluates at the
/// same steps as one that never stopped.
public struct TrainingGoals: Codable, Equatable, Sendable {
    /// Which mean return ``TrainingGoals/stopAtReturn`` is compared with.
    public enum StopCriterion: String, Codable, Sendable, CaseIterable {
        /// The mean return of the last ``TrainingGoals/window`` finished training episodes
        /// (a full window is needed), checked after every update.
        case window
        /// The mean return of a periodic greedy evaluation (``TrainingGoals/evalEvery``,
        /// ``TrainingGoals/evalEpisodes``): the run stops after the first evaluation whose mean
        /// reaches the return, as SB3's `EvalCallback(callback_on_new_best=StopTrainingOnRewardThreshold(R))`.
        /// Training episodes explore (DQN's ε, PPO's sampling), so this is the criterion that
        /// says whether the policy one keeps (`best.h5`) is good.
        case eval
    }

    /// Stop once the mean return ``stopOn`` names reaches this; `nil`: train for the whole budget.
    public var stopAtReturn: Double?
    /// What ``stopAtReturn`` is compared with (default ``StopCriterion/window``); ``StopCriterion/eval``
    /// needs ``stopAtReturn`` and ``evalEvery``.
    public var stopOn: StopCriterion
    /// Evaluate the greedy policy after the first update at or past each multiple of this
    /// many env steps; `nil`: no evaluation.
    public var evalEvery: Int?
    /// Episodes per evaluation, played on a separate env from the same start states every
    /// time (seeded with the agent's seed + ``evalSeedOffset``).
    public var evalEpisodes: Int

    /// Training episodes in the stop criterion's mean (the CLI's summary averages as many).
    public static let window = 20
    /// The default of ``evalEpisodes`` (SB3's `EvalCallback` plays 5).
    public static let defaultEvalEpisodes = 5
    /// Added to the agent's seed to seed the evaluation env (apart from the training envs,
    /// seeded `seed + i`).
    public static let evalSeedOffset: UInt64 = 1_000_000
    /// The file the best evaluated policy is written to in the run folder.
    public static let bestFileName = "best.h5"

    /// `stop_at_return`.
    public static let returnBounds = InputBounds.closed(-1e15, 1e15)
    /// `eval_every`.
    public static let evalEveryBounds = InputBounds.closed(1, 1e12, unit: "steps")
    /// `eval_episodes`.
    public static let evalEpisodesBounds = InputBounds.closed(1, 100_000, unit: "episodes")

    public init(stopAtReturn: Double? = nil, stopOn: StopCriterion = .window, evalEvery: Int? = nil,
                evalEpisodes: Int = TrainingGoals.defaultEvalEpisodes) {
        self.stopAtReturn = stopAtReturn
        self.stopOn = stopOn
        self.evalEvery = evalEvery
        self.evalEpisodes = evalEpisodes
    }

    /// No stop and no evaluation.
    public var isEmpty: Bool { stopAtReturn == nil && evalEvery == nil }

    /// `nil` when every value is within its bounds, else the key and what was expected.
    public func violation() -> (key: String, message: String)? {
        if let r = stopAtReturn, let m = Self.returnBounds.violation(r) { return ("stop_at_return", m) }
        if let e = evalEvery, let m = Self.evalEveryBounds.violation(e) { return ("eval_every", m) }
        if let m = Self.evalEpisodesBounds.violation(evalEpisodes) { return ("eval_episodes", m) }
        if stopOn == .eval && (stopAtReturn == nil || evalEvery == nil) {
            return ("stop_on", "expected stop_at_return and eval_every with stop_on = eval (it stops on the evaluations' mean return), "
                    + "got \(stopAtReturn == nil ? "no stop_at_return" : "no eval_every")")
        }
        return nil
    }

    /// - Throws: ``TrainingError`` (`.invalidConfig`) naming the key.
    public func validate() throws {
        if let v = violation() { throw TrainingError(.invalidConfig, "goals: key '\(v.key)': \(v.message)") }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stopAtReturn = "stop_at_return", stopOn = "stop_on", evalEvery = "eval_every", evalEpisodes = "eval_episodes"
    }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue), what: "goals")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stopAtReturn = try c.decodeIfPresent(Double.self, forKey: .stopAtReturn)
        // Absent in config.json files written before the option existed.
        stopOn = try c.decodeIfPresent(StopCriterion.self, forKey: .stopOn) ?? .window
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery)
        evalEpisodes = try c.decodeIfPresent(Int.self, forKey: .evalEpisodes) ?? Self.defaultEvalEpisodes
        if let v = violation() {
            throw DecodingError.dataCorruptedError(forKey: CodingKeys(stringValue: v.key)!, in: c, debugDescription: v.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stopAtReturn, forKey: .stopAtReturn)
        try c.encode(stopOn, forKey: .stopOn)
        try c.encode(evalEvery, forKey: .evalEvery)
        try c.encode(evalEpisodes, forKey: .evalEpisodes)
    }

    // MARK: - Progress

    /// Where a run stands towards its goals; saved in each checkpoint so that a resumed run
    /// decides exactly as the original.
    public struct Progress: Equatable, Sendable {
        /// The returns of the last (up to ``TrainingGoals/window``) finished training episodes.
        public var recentReturns: [Double] = []
        /// The best evaluation's mean return so far, and its step.
        public var best: (meanReturn: Double, step: Int)?

        public init() {}

        /// The mean of ``recentReturns``; NaN when empty.
        public var recentMean: Double {
            recentReturns.isEmpty ? .nan : recentReturns.reduce(0, +) / Double(recentReturns.count)
        }

        /// Adds a finished episode's return to the window.
        public mutating func record(_ episodeReturn: Double) {
            recentReturns.append(episodeReturn)
            if recentReturns.count > TrainingGoals.window { recentReturns.removeFirst() }
        }

        /// Whether `goals`' return is reached: for ``StopCriterion/window`` a full window whose
        /// mean is at least it; for ``StopCriterion/eval`` an evaluation whose mean is at least
        /// it (the best one, so a resumed run knows without more state).
        public func reached(_ goals: TrainingGoals) -> Bool {
            guard let r = goals.stopAtReturn else { return false }
            switch goals.stopOn {
            case .window: return recentReturns.count >= TrainingGoals.window && recentMean >= r
            case .eval: return best.map { $0.meanReturn >= r } ?? false
            }
        }

        /// Keeps an evaluation; true when it is the best so far (strictly better, so the
        /// earliest of equal evaluations is kept).
        public mutating func recordEvaluation(meanReturn: Double, step: Int) -> Bool {
            if let b = best, !(meanReturn > b.meanReturn) { return false }
            best = (meanReturn, step)
            return true
        }

        public static func == (a: Progress, b: Progress) -> Bool {
            a.recentReturns == b.recentReturns && a.best?.meanReturn == b.best?.meanReturn && a.best?.step == b.best?.step
        }

        static let returnsKey = "goals/recent_returns", bestKey = "goals/best_eval_return", bestStepKey = "goals/best_eval_step"

        /// Records the progress in a checkpoint's state.
        public func record(in state: inout StateDict) {
            state.doubles[Self.returnsKey] = recentReturns
            state.doubles[Self.bestKey] = best.map { [$0.meanReturn] } ?? []
            state.integers[Self.bestStepKey] = best.map { [UInt64($0.step)] } ?? []
        }

        /// The progress a checkpoint recorded (empty for checkpoints written without it).
        /// - Throws: ``AgentError`` when the keys are there but malformed.
        public init(from state: StateDict) throws {
            recentReturns = state.doubles[Self.returnsKey] ?? []
            let b = state.doubles[Self.bestKey] ?? [], s = state.integers[Self.bestStepKey] ?? []
            guard recentReturns.count <= TrainingGoals.window, b.count == s.count, b.count <= 1 else {
                throw AgentError("checkpoint: malformed training-goal progress (\(recentReturns.count) recent returns, "
                                 + "\(b.count) best returns, \(s.count) best steps; expected <= \(TrainingGoals.window), <= 1, as many)")
            }
            if let r = b.first, let st = s.first { best = (r, Int(clamping: st)) }
        }
    }
}
