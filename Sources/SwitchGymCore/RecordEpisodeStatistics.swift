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
    /// The current episode's accumulators (one sub-env; finished episodes are not kept).
    private var tracker = EpisodeTracker(count: 1)
    /// The return accumulated in the current episode.
    public var episodeReturn: Double { tracker.returns[0] }
    /// Steps taken in the current episode.
    public var episodeLength: Int { tracker.lengths[0] }

    /// Wraps `base`.
    public init(_ base: Base) { self.base = base }

    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }

    public mutating func reset(seed: UInt64?, options: Base.ResetOptions?) throws -> ResetResult<Base.Observation, Info> {
        let r = try base.reset(seed: seed, options: options)
        tracker.resume(0)
        return ResetResult(observation: r.observation, info: EpisodeInfo(base: r.info, episode: nil))
    }

    public mutating func step(_ action: Base.Action) throws -> StepResult<Base.Observation, Info> {
        let r = try base.step(action)
        let stats = tracker.advance(0, reward: r.reward, done: r.terminated || r.truncated)
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
        tracker.resume(0, episodeReturn: ret[0], length: len)
    }
}

/// Per-sub-env return and length accumulators, and the episodes finished since the last
/// ``drain()`` (Gymnasium's `RecordEpisodeStatistics` for a vector env): the one episode tracker, used by
/// the agents over their vector envs and by ``RecordEpisodeStatistics`` over one env.
public struct EpisodeTracker: Sendable, StateCheckpointable {
    /// Return so far of each sub-env's current episode.
    public private(set) var returns: [Double]
    /// Steps so far of each sub-env's current episode.
    public private(set) var lengths: [Int]
    /// Finished episodes not yet drained.
    public private(set) var finished: [EpisodeStatistics] = []

    /// Trackers for `count` sub-envs.
    public init(count: Int) {
        returns = Array(repeating: 0, count: count)
        lengths = Array(repeating: 0, count: count)
        finished.reserveCapacity(4 * count)
    }

    /// Adds one step of sub-env `i`; when `done`, keeps the episode in ``finished`` (until
    /// ``drain()``) and returns it.
    @inline(__always) @discardableResult
    public mutating func record(_ i: Int, reward: Double, done: Bool) -> EpisodeStatistics? {
        guard let episode = advance(i, reward: reward, done: done) else { return nil }
        finished.append(episode)
        return episode
    }

    /// Adds one step of sub-env `i`; when `done`, returns the episode and starts the next one,
    /// without keeping it (allocation-free).
    @inline(__always)
    public mutating func advance(_ i: Int, reward: Double, done: Bool) -> EpisodeStatistics? {
        returns[i] += reward
        lengths[i] += 1
        guard done else { return nil }
        let episode = EpisodeStatistics(episodeReturn: returns[i], length: lengths[i])
        returns[i] = 0
        lengths[i] = 0
        return episode
    }

    /// Sets sub-env `i`'s current episode: its return and length so far (0 and 0 to start afresh).
    public mutating func resume(_ i: Int, episodeReturn: Double = 0, length: Int = 0) {
        returns[i] = episodeReturn
        lengths[i] = length
    }

    /// Returns and forgets the finished episodes.
    public mutating func drain() -> [EpisodeStatistics] {
        let out = finished
        finished.removeAll(keepingCapacity: true)
        return out
    }

    public func saveState() -> StateDict {
        var s = StateDict()
        s.doubles["returns"] = returns
        s.setInts(lengths, at: "lengths")
        s.doubles["finished_returns"] = finished.map(\.episodeReturn)
        s.setInts(finished.map(\.length), at: "finished_lengths")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let r = try s.doubles("returns", count: returns.count)
        let l = try s.ints("lengths", count: lengths.count)
        let fr = try s.doubles("finished_returns")
        let fl = try s.ints("finished_lengths", count: fr.count)
        returns = r
        lengths = l
        finished.removeAll(keepingCapacity: true)
        for k in 0..<fr.count { finished.append(EpisodeStatistics(episodeReturn: fr[k], length: fl[k])) }
    }
}
