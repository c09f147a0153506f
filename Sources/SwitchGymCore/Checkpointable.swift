/// A component whose complete mutable state can be exported to a ``StateDict`` and restored
/// from one, so that a restored copy continues **bit for bit** as the original would have
/// (same observations, same random draws, same rewards).
///
/// What counts as state is everything that changes while the component runs (physical state,
/// generator state, counters, flags). Construction-time parameters (configurations, sizes)
/// are *not* saved: restore into a component built with the same parameters. ``loadState(_:)``
/// checks shapes and throws ``StateDictError`` (or ``EnvError`` for a size mismatch) naming the
/// offending key; it leaves the component unchanged when it throws before assigning.
///
/// Conformers in SwitchGymCore: ``CartPole``, ``Bandit``, ``DelayedReward``, ``SwitchCost``,
/// ``TimeLimit``, ``RecordEpisodeStatistics``, ``NormalizeObservation`` and ``RunningMeanStd``
/// (when what they wrap conforms), ``VectorEnv`` (when its sub-env conforms) and
/// ``VectorBuffers``.
public protocol StateCheckpointable {
    /// The component's complete mutable state.
    func saveState() -> StateDict
    /// Restores a state exported by ``saveState()`` of a component built the same way.
    mutating func loadState(_ s: StateDict) throws
}

extension StateDict {
    /// Stores a flag as a one-element integer array (0 or 1).
    public mutating func setFlag(_ value: Bool, at key: String) { integers[key] = [value ? 1 : 0] }

    /// A flag stored by ``setFlag(_:at:)``.
    public func flag(_ key: String) throws -> Bool { try integers(key, count: 1)[0] != 0 }

    /// Stores a signed integer (two's complement bits) as a one-element integer array.
    public mutating func setInt(_ value: Int, at key: String) { integers[key] = [UInt64(bitPattern: Int64(value))] }

    /// A signed integer stored by ``setInt(_:at:)``.
    public func int(_ key: String) throws -> Int { Int(Int64(bitPattern: try integers(key, count: 1)[0])) }

    /// Stores signed integers (two's complement bits).
    public mutating func setInts(_ values: [Int], at key: String) {
        integers[key] = values.map { UInt64(bitPattern: Int64($0)) }
    }

    /// Signed integers stored by ``setInts(_:at:)``.
    public func ints(_ key: String, count: Int? = nil) throws -> [Int] {
        try integers(key, count: count).map { Int(Int64(bitPattern: $0)) }
    }

    /// Stores flags as 0/1 integers.
    public mutating func setFlags<C: Collection>(_ values: C, at key: String) where C.Element == Bool {
        integers[key] = values.map { $0 ? 1 : 0 }
    }

    /// Flags stored by ``setFlags(_:at:)``.
    public func flags(_ key: String, count: Int? = nil) throws -> [Bool] {
        try integers(key, count: count).map { $0 != 0 }
    }
}

extension RunningMeanStd: StateCheckpointable {
    public func saveState() -> StateDict {
        var s = StateDict()
        s.doubles["mean"] = mean
        s.doubles["variance"] = variance
        s.doubles["count"] = [count]
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let m = try s.doubles("mean", count: mean.count)
        let v = try s.doubles("variance", count: variance.count)
        let c = try s.doubles("count", count: 1)
        mean = m
        variance = v
        count = c[0]
    }
}

extension NormalizeObservation: StateCheckpointable where Base: StateCheckpointable {
    /// The wrapped env under `base/`, the statistics under `statistics/` and the update flag.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.merge(base.saveState(), prefix: "base")
        s.merge(statistics.saveState(), prefix: "statistics")
        s.setFlag(isUpdating, at: "is_updating")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        var stats = statistics
        try stats.loadState(s.subset("statistics"))
        let updating = try s.flag("is_updating")
        try base.loadState(s.subset("base"))
        statistics = stats
        isUpdating = updating
    }
}

extension VectorBuffers: StateCheckpointable {
    /// Every buffer, by name (`observations`, `rewards`, `terminations`, `truncations`,
    /// `action_masks`, `final_observations`, `has_final_observation`, `final_action_masks`).
    public func saveState() -> StateDict {
        var s = StateDict()
        s.floats["observations"] = Array(observations)
        s.floats["rewards"] = Array(rewards)
        s.setFlags(terminations, at: "terminations")
        s.setFlags(truncations, at: "truncations")
        s.setFlags(actionMasks, at: "action_masks")
        s.floats["final_observations"] = Array(finalObservations)
        s.setFlags(hasFinalObservation, at: "has_final_observation")
        s.setFlags(finalActionMasks, at: "final_action_masks")
        return s
    }

    /// Restores buffers of the same shape (a class: restores in place).
    public func loadState(_ s: StateDict) throws {
        let obs = try s.floats("observations", count: observations.count)
        let rew = try s.floats("rewards", count: count)
        let term = try s.flags("terminations", count: count)
        let trunc = try s.flags("truncations", count: count)
        let masks = try s.flags("action_masks", count: actionMasks.count)
        let finals = try s.floats("final_observations", count: finalObservations.count)
        let hasFinal = try s.flags("has_final_observation", count: count)
        let finalMasks = try s.flags("final_action_masks", count: finalActionMasks.count)
        _ = observations.update(fromContentsOf: obs)
        _ = rewards.update(fromContentsOf: rew)
        _ = terminations.update(fromContentsOf: term)
        _ = truncations.update(fromContentsOf: trunc)
        _ = actionMasks.update(fromContentsOf: masks)
        _ = finalObservations.update(fromContentsOf: finals)
        _ = hasFinalObservation.update(fromContentsOf: hasFinal)
        _ = finalActionMasks.update(fromContentsOf: finalMasks)
    }
}
