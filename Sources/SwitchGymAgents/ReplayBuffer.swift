import SwitchGymCore

/// DQN's ring buffer of transitions `(s, a, r, s', terminated, mask(s'))`, allocated once
/// (Stable-Baselines3's `ReplayBuffer` with `handle_timeout_termination`: only real
/// terminations stop the bootstrap; truncated transitions store the final observation as
/// `s'` and bootstrap from it).
public final class ReplayBuffer {
    /// Maximum number of transitions kept; the oldest is overwritten first.
    public let capacity: Int
    /// `Float`s per observation.
    public let observationDimension: Int
    /// Actions per state (mask row length).
    public let actionCount: Int
    /// Transitions stored (at most ``capacity``).
    public private(set) var count = 0
    /// Where the next transition goes.
    public private(set) var position = 0

    /// `capacity × observationDimension`.
    public let observations: UnsafeMutableBufferPointer<Float>
    /// `capacity × observationDimension`.
    public let nextObservations: UnsafeMutableBufferPointer<Float>
    /// Action indices (`0 ..< actionCount`).
    public let actions: UnsafeMutableBufferPointer<Int32>
    /// Rewards.
    public let rewards: UnsafeMutableBufferPointer<Float>
    /// Whether `s'` is terminal (no bootstrap).
    public let terminations: UnsafeMutableBufferPointer<Bool>
    /// Allowed actions in `s'`, `capacity × actionCount` (for the masked max / argmax).
    public let nextActionMasks: UnsafeMutableBufferPointer<Bool>

    /// Allocates zeroed storage.
    public init(capacity: Int, observationDimension: Int, actionCount: Int) {
        precondition(capacity > 0 && observationDimension > 0 && actionCount > 0, "ReplayBuffer: sizes must be positive")
        self.capacity = capacity
        self.observationDimension = observationDimension
        self.actionCount = actionCount
        func make<T>(_ n: Int, _ zero: T) -> UnsafeMutableBufferPointer<T> {
            let b = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
            b.initialize(repeating: zero)
            return b
        }
        observations = make(capacity * observationDimension, 0)
        nextObservations = make(capacity * observationDimension, 0)
        actions = make(capacity, 0)
        rewards = make(capacity, 0)
        terminations = make(capacity, false)
        nextActionMasks = make(capacity * actionCount, true)
    }

    deinit {
        observations.deallocate(); nextObservations.deallocate(); actions.deallocate()
        rewards.deallocate(); terminations.deallocate(); nextActionMasks.deallocate()
    }

    /// Stores one transition (copies the rows). `nextMask` `nil` allows every action.
    @inline(__always)
    public func add(observation: UnsafePointer<Float>, action: Int, reward: Float, nextObservation: UnsafePointer<Float>,
                    terminated: Bool, nextMask: UnsafePointer<Bool>?) {
        let d = observationDimension, p = position
        (observations.baseAddress! + p * d).update(from: observation, count: d)
        (nextObservations.baseAddress! + p * d).update(from: nextObservation, count: d)
        actions[p] = Int32(action)
        rewards[p] = reward
        terminations[p] = terminated
        let m = nextActionMasks.baseAddress! + p * actionCount
        if let nextMask { m.update(from: nextMask, count: actionCount) } else { m.update(repeating: true, count: actionCount) }
        position = (p + 1) % capacity
        count = min(count + 1, capacity)
    }

    /// Writes `batch` indices drawn uniformly **with replacement** from the stored
    /// transitions (SB3's `np.random.randint(0, upper_bound, batch_size)`).
    /// - Precondition: `count > 0`.
    public func sampleIndices(_ batch: Int, into out: UnsafeMutablePointer<Int>, using g: inout SeededGenerator) {
        precondition(count > 0, "ReplayBuffer.sampleIndices: the buffer is empty")
        for b in 0..<batch { out[b] = uniformIndex(count, &g) }
    }
}

extension ReplayBuffer: StateCheckpointable {
    /// The stored transitions (only the first ``count`` rows), ``count`` and ``position``.
    public func saveState() -> StateDict {
        var s = StateDict()
        let c = count, d = observationDimension
        s.setInts([c, position, capacity], at: "count_position_capacity")
        s.floats["observations"] = Array(observations[0..<(c * d)])
        s.floats["next_observations"] = Array(nextObservations[0..<(c * d)])
        s.setInts(actions[0..<c].map { Int($0) }, at: "actions")
        s.floats["rewards"] = Array(rewards[0..<c])
        s.setFlags(terminations[0..<c], at: "terminations")
        s.setFlags(nextActionMasks[0..<(c * actionCount)], at: "next_action_masks")
        return s
    }

    /// Restores the contents saved from a buffer of the same capacity and shapes.
    public func loadState(_ s: StateDict) throws {
        let cpc = try s.ints("count_position_capacity", count: 3)
        let c = cpc[0], p = cpc[1]
        guard cpc[2] == capacity, c >= 0, c <= capacity, p >= 0, p < capacity else {
            throw AgentError("ReplayBuffer.loadState: the state is for capacity \(cpc[2]) (count \(c), position \(p)); this buffer holds \(capacity).")
        }
        let d = observationDimension
        let o = try s.floats("observations", count: c * d)
        let no = try s.floats("next_observations", count: c * d)
        let a = try s.ints("actions", count: c)
        let r = try s.floats("rewards", count: c)
        let t = try s.flags("terminations", count: c)
        let m = try s.flags("next_action_masks", count: c * actionCount)
        _ = UnsafeMutableBufferPointer(rebasing: observations[0..<(c * d)]).update(fromContentsOf: o)
        _ = UnsafeMutableBufferPointer(rebasing: nextObservations[0..<(c * d)]).update(fromContentsOf: no)
        for i in 0..<c { actions[i] = Int32(a[i]) }
        _ = UnsafeMutableBufferPointer(rebasing: rewards[0..<c]).update(fromContentsOf: r)
        _ = UnsafeMutableBufferPointer(rebasing: terminations[0..<c]).update(fromContentsOf: t)
        _ = UnsafeMutableBufferPointer(rebasing: nextActionMasks[0..<(c * actionCount)]).update(fromContentsOf: m)
        count = c
        position = p
    }
}
