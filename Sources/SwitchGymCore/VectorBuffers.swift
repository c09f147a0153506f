/// Caller-owned, preallocated storage that ``VectorEnv`` writes each reset and step into
/// (PufferLib's buffer layout): row `i` belongs to sub-env `i`.
///
/// The storage is allocated once, by the initialiser, and freed on deinit; stepping only
/// overwrites it. Read it through the buffer pointers (no copying) or copy out with
/// `Array(buffers.rewards)`.
public final class VectorBuffers {
    /// Number of sub-envs (rows).
    public let count: Int
    /// `Float`s per observation.
    public let observationDimension: Int
    /// The action codec of one sub-env.
    public let actionLayout: ActionLayout
    /// Mask entries per sub-env (``ActionLayout/maskWidth``: per component, one per value).
    public let maskWidth: Int

    /// Observations, `count × observationDimension`, row-major.
    public let observations: UnsafeMutableBufferPointer<Float>
    /// Rewards of the last step.
    public let rewards: UnsafeMutableBufferPointer<Float>
    /// `terminated` flags of the last step.
    public let terminations: UnsafeMutableBufferPointer<Bool>
    /// `truncated` flags of the last step.
    public let truncations: UnsafeMutableBufferPointer<Bool>
    /// Allowed actions for the next step, `count × maskWidth`, row-major.
    public let actionMasks: UnsafeMutableBufferPointer<Bool>
    /// Same-step autoreset only: the final observation of episodes that ended on the last
    /// step (`count × observationDimension`; rows are valid where ``hasFinalObservation``).
    public let finalObservations: UnsafeMutableBufferPointer<Float>
    /// Same-step autoreset only: whether row `i` of ``finalObservations`` was written by the last step.
    public let hasFinalObservation: UnsafeMutableBufferPointer<Bool>
    /// Same-step autoreset only: the action mask of the final state of episodes that ended on
    /// the last step (`count × maskWidth`; rows are valid where ``hasFinalObservation``).
    /// Agents that bootstrap a truncated episode with a masked argmax need it.
    public let finalActionMasks: UnsafeMutableBufferPointer<Bool>

    /// Whether the storage was allocated here (and is freed on deinit) rather than lent by
    /// the caller (``init(count:observationDimension:actionLayout:borrowing:)``).
    public let ownsStorage: Bool

    /// Allocates zeroed buffers for `count` sub-envs.
    public init(count: Int, observationDimension: Int, actionLayout: ActionLayout) {
        precondition(count > 0 && observationDimension > 0, "VectorBuffers: sizes must be positive")
        self.count = count
        self.observationDimension = observationDimension
        self.actionLayout = actionLayout
        self.maskWidth = actionLayout.maskWidth
        func make<T>(_ n: Int, _ zero: T) -> UnsafeMutableBufferPointer<T> {
            let b = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
            b.initialize(repeating: zero)
            return b
        }
        observations = make(count * observationDimension, 0)
        rewards = make(count, 0)
        terminations = make(count, false)
        truncations = make(count, false)
        actionMasks = make(count * maskWidth, true)
        finalObservations = make(count * observationDimension, 0)
        hasFinalObservation = make(count, false)
        finalActionMasks = make(count * maskWidth, true)
        ownsStorage = true
    }

    /// Memory that someone else owns (a Python binding's numpy arrays, a C caller's arrays),
    /// for ``init(count:observationDimension:actionLayout:borrowing:)``. Every pointer must
    /// hold its full size (see each field) and stay valid while the buffers are used.
    public struct BorrowedStorage {
        /// `count × observationDimension` floats.
        public var observations: UnsafeMutablePointer<Float>
        /// `count` floats.
        public var rewards: UnsafeMutablePointer<Float>
        /// `count` flags.
        public var terminations: UnsafeMutablePointer<Bool>
        /// `count` flags.
        public var truncations: UnsafeMutablePointer<Bool>
        /// `count × maskWidth` flags.
        public var actionMasks: UnsafeMutablePointer<Bool>
        /// `count × observationDimension` floats.
        public var finalObservations: UnsafeMutablePointer<Float>
        /// `count` flags.
        public var hasFinalObservation: UnsafeMutablePointer<Bool>
        /// `count × maskWidth` flags.
        public var finalActionMasks: UnsafeMutablePointer<Bool>

        public init(observations: UnsafeMutablePointer<Float>, rewards: UnsafeMutablePointer<Float>,
                    terminations: UnsafeMutablePointer<Bool>, truncations: UnsafeMutablePointer<Bool>,
                    actionMasks: UnsafeMutablePointer<Bool>, finalObservations: UnsafeMutablePointer<Float>,
                    hasFinalObservation: UnsafeMutablePointer<Bool>, finalActionMasks: UnsafeMutablePointer<Bool>) {
            self.observations = observations
            self.rewards = rewards
            self.terminations = terminations
            self.truncations = truncations
            self.actionMasks = actionMasks
            self.finalObservations = finalObservations
            self.hasFinalObservation = hasFinalObservation
            self.finalActionMasks = finalActionMasks
        }
    }

    /// Buffers over caller-owned memory (PufferLib's shared buffers: a vector env writes
    /// straight into arrays the caller reads without copying). The memory is initialised
    /// here (zeroes, masks all allowed) and never freed here.
    public init(count: Int, observationDimension: Int, actionLayout: ActionLayout, borrowing s: BorrowedStorage) {
        precondition(count > 0 && observationDimension > 0, "VectorBuffers: sizes must be positive")
        self.count = count
        self.observationDimension = observationDimension
        self.actionLayout = actionLayout
        self.maskWidth = actionLayout.maskWidth
        func wrap<T>(_ p: UnsafeMutablePointer<T>, _ n: Int, _ zero: T) -> UnsafeMutableBufferPointer<T> {
            let b = UnsafeMutableBufferPointer(start: p, count: n)
            b.initialize(repeating: zero)
            return b
        }
        observations = wrap(s.observations, count * observationDimension, 0)
        rewards = wrap(s.rewards, count, 0)
        terminations = wrap(s.terminations, count, false)
        truncations = wrap(s.truncations, count, false)
        actionMasks = wrap(s.actionMasks, count * maskWidth, true)
        finalObservations = wrap(s.finalObservations, count * observationDimension, 0)
        hasFinalObservation = wrap(s.hasFinalObservation, count, false)
        finalActionMasks = wrap(s.finalActionMasks, count * maskWidth, true)
        ownsStorage = false
    }

    deinit {
        guard ownsStorage else { return }
        observations.deallocate()
        rewards.deallocate()
        terminations.deallocate()
        truncations.deallocate()
        actionMasks.deallocate()
        finalObservations.deallocate()
        hasFinalObservation.deallocate()
        finalActionMasks.deallocate()
    }

    /// Observation row `i` (a view, no copy).
    public func observation(_ i: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: observations[(i * observationDimension)..<((i + 1) * observationDimension)])
    }

    /// Final-observation row `i` (same-step autoreset; a view, no copy).
    public func finalObservation(_ i: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: finalObservations[(i * observationDimension)..<((i + 1) * observationDimension)])
    }

    /// Final action-mask row `i` (same-step autoreset; a view, no copy).
    public func finalActionMask(_ i: Int) -> UnsafeMutableBufferPointer<Bool> {
        UnsafeMutableBufferPointer(rebasing: finalActionMasks[(i * maskWidth)..<((i + 1) * maskWidth)])
    }

    /// Action-mask row `i` (a view, no copy).
    public func actionMask(_ i: Int) -> UnsafeMutableBufferPointer<Bool> {
        UnsafeMutableBufferPointer(rebasing: actionMasks[(i * maskWidth)..<((i + 1) * maskWidth)])
    }
}
