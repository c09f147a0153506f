/// The return and length of one finished episode.
public struct EpisodeStatistics: Sendable, Equatable, Codable {
    /// Sum of the episode's rewards.
    public var episodeReturn: Double
    /// Number of steps in the episode.
    public var length: Int

    public init(episodeReturn: Double, length: Int) {
        self.episodeReturn = episodeReturn
        self.length = length
    }
}

/// The info of ``RecordEpisodeStatistics``: the wrapped env's info, plus the episode's
/// statistics on the step that ends it (Gymnasium's `info["episode"]`).
public struct EpisodeInfo<BaseInfo> {
    /// The wrapped env's info.
    public var base: BaseInfo
    /// Set on the step where the episode terminates or is truncated; `nil` otherwise.
    public var episode: EpisodeStatistics?

    public init(base: BaseInfo, episode: EpisodeStatistics?) {
        self.base = base
        self.episode = episode
    }
}

extension EpisodeInfo: Sendable where BaseInfo: Sendable {}
extension EpisodeInfo: Equatable where BaseInfo: Equatable {}

/// Reports each episode's return and length in the info of its last step (Gymnasium's
/// `RecordEpisodeStatistics`).
public struct RecordEpisodeStatistics<Base: Env>: Env {
    public typealias Observation = Base.Observation
    public typealias Action = Base.Action
    public typealias Info = EpisodeInfo<Base.Info>
    public typealias ResetOptions = Base.ResetOptions

    /// The wrapped env.
    public var base: Base
    /// The return accumulated in the current episode.
    public private(set) var episodeReturn = 0.0
    /// Steps taken in the current episode.
    public private(set) var episodeLength = 0

    /// Wraps `base`.
    public init(_ base: Base) { self.base = base }

    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }

    public mutating func reset(seed: UInt64?, options: Base.ResetOptions?) throws -> ResetResult<Base.Observation, Info> {
        let r = try base.reset(seed: seed, options: options)
        episodeReturn = 0
        episodeLength = 0
        return ResetResult(observation: r.observation, info: EpisodeInfo(base: r.info, episode: nil))
    }

    public mutating func step(_ action: Base.Action) throws -> StepResult<Base.Observation, Info> {
        let r = try base.step(action)
        episodeReturn += r.reward
        episodeLength += 1
        let done = r.terminated || r.truncated
        let stats = done ? EpisodeStatistics(episodeReturn: episodeReturn, length: episodeLength) : nil
        return StepResult(observation: r.observation, reward: r.reward, terminated: r.terminated,
                          truncated: r.truncated, info: EpisodeInfo(base: r.info, episode: stats))
    }

    public mutating func close() { base.close() }
}

extension RecordEpisodeStatistics: Sendable where Base: Sendable {}

extension RecordEpisodeStatistics: StateCheckpointable where Base: StateCheckpointable {
    /// The wrapped env under `base/` and the current episode's return and length accumulators.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.merge(base.saveState(), prefix: "base")
        s.doubles["episode_return"] = [episodeReturn]
        s.setInt(episodeLength, at: "episode_length")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let ret = try s.doubles("episode_return", count: 1)
        let len = try s.int("episode_length")
        try base.loadState(s.subset("base"))
        episodeReturn = ret[0]
        episodeLength = len
    }
}
