import Dispatch

/// `count` copies of a ``VectorizableEnv`` stepped together into caller-owned
/// ``VectorBuffers`` (Gymnasium's `SyncVectorEnv`, with PufferLib's in-place buffers).
///
/// Seeding follows Gymnasium: `reset(seed: s)` resets sub-env `i` with seed `s + i`;
/// automatic resets continue each sub-env's own stream. Autoreset follows ``AutoresetMode``.
///
/// Serial stepping (``parallelism`` = 1, the default) performs **zero heap allocations per
/// step**; `SwitchGymTestSupport`'s `EnvBenchmark` measures this and the tests enforce it.
/// With ``parallelism`` > 1 the sub-envs are split into that many contiguous chunks stepped
/// with `DispatchQueue.concurrentPerform`; that path may allocate inside Dispatch and only
/// pays off when a sub-env step costs far more than a CartPole step.
public final class VectorEnv<E: VectorizableEnv> {
    /// Number of sub-envs.
    public let count: Int
    /// `Float`s per observation.
    public let observationDimension: Int
    /// The action codec of one sub-env.
    public let actionLayout: ActionLayout
    /// Choices per sub-env (``ActionLayout/components``).
    public let actionComponents: Int
    /// Mask entries per sub-env (``ActionLayout/maskWidth``).
    public let maskWidth: Int
    /// The family layout of the sub-envs (``VectorizableEnv/familyLayout``).
    public let familyLayout: FamilyObservationLayout?
    /// The autoreset mode.
    public let autoreset: AutoresetMode
    /// Number of chunks stepped concurrently; 1 steps serially on the calling thread.
    public var parallelism: Int = 1

    private let envs: UnsafeMutablePointer<E>
    private let pendingReset: UnsafeMutablePointer<Bool>
    private var isReady = false

    /// Creates `count` sub-envs with `make(i)`.
    /// - Precondition: every sub-env has the same observation dimension and action space.
    public init(count: Int, autoreset: AutoresetMode = .nextStep, make: (Int) throws -> E) rethrows {
        precondition(count > 0, "VectorEnv: count must be positive, got \(count)")
        let first = try make(0)
        self.count = count
        self.autoreset = autoreset
        self.observationDimension = first.observationDimension
        self.actionLayout = first.actionLayout
        self.actionComponents = first.actionLayout.components
        self.maskWidth = first.actionLayout.maskWidth
        self.familyLayout = first.familyLayout
        envs = .allocate(capacity: count)
        envs.initialize(to: first)
        for i in 1..<max(count, 1) {
            let e: E
            do { e = try make(i) } catch {
                envs.deinitialize(count: i)
                envs.deallocate()
                throw error
            }
            precondition(e.observationDimension == observationDimension && e.actionSpace == first.actionSpace,
                         "VectorEnv: sub-env \(i) has a different observation dimension or action space")
            (envs + i).initialize(to: e)
        }
        pendingReset = .allocate(capacity: count)
        pendingReset.initialize(repeating: false, count: count)
    }

    deinit {
        envs.deinitialize(count: count)
        envs.deallocate()
        pendingReset.deallocate()
    }

    /// The observation space of one sub-env.
    public var singleObservationSpace: Box { envs[0].observationSpace }
    /// The action space of one sub-env.
    public var singleActionSpace: E.ActionSpace { envs[0].actionSpace }

    /// Buffers of the right size for this vector env.
    public func makeBuffers() -> VectorBuffers {
        VectorBuffers(count: count, observationDimension: observationDimension, actionLayout: actionLayout)
    }

    /// Read access to sub-env `i` (for tests and diagnostics).
    public func withSubEnv<R>(_ i: Int, _ body: (E) throws -> R) rethrows -> R {
        precondition(i >= 0 && i < count)
        return try body(envs[i])
    }

    /// Resets every sub-env; writes observations and masks, zeroes rewards and flags.
    /// - Parameter seed: sub-env `i` is reset with `seed + i`; `nil` continues the streams.
    public func reset(seed: UInt64? = nil, into buffers: VectorBuffers) throws {
        try checkShape(buffers)
        for i in 0..<count {
            resetSubEnv(i, seed: seed.map { $0 &+ UInt64(i) }, buffers)
        }
        isReady = true
    }

    /// Resets the sub-envs where `mask[i]` is true (for ``AutoresetMode/disabled``), leaving
    /// the other rows of the buffers untouched. Gymnasium: `reset(options={"reset_mask": mask})`.
    public func reset(mask: [Bool], seed: UInt64? = nil, into buffers: VectorBuffers) throws {
        try checkShape(buffers)
        guard mask.count == count else {
            throw EnvError(.invalidArgument, "VectorEnv.reset(mask:): expected \(count) entries, got \(mask.count).")
        }
        guard isReady || mask.allSatisfy({ $0 }) else {
            throw EnvError(.invalidArgument, "VectorEnv.reset(mask:): the first reset must reset every sub-env.")
        }
        for i in 0..<count where mask[i] {
            resetSubEnv(i, seed: seed.map { $0 &+ UInt64(i) }, buffers)
        }
        isReady = true
    }

    /// Steps every sub-env with its choice row, writing into `buffers` in place.
    /// - Parameter actions: `count × actionComponents` choices, row `i` for sub-env `i`, each
    ///   0-based within its component (``ActionLayout``; a ``Discrete`` env's row is its one
    ///   action minus the space's `start`).
    /// - Throws: ``EnvError/Code/stepBeforeReset`` before the first reset;
    ///   ``EnvError/Code/invalidAction`` if a choice is out of range (then no sub-env is
    ///   stepped); ``EnvError/Code/invalidArgument`` on a size mismatch.
    /// - Complexity: O(count × components); no allocation on the serial path.
    public func step(_ actions: UnsafeBufferPointer<Int>, into buffers: VectorBuffers) throws {
        guard isReady else { throw EnvError.stepBeforeReset("VectorEnv<\(E.self)>") }
        try checkShape(buffers)
        let k = actionComponents
        guard actions.count == count * k else {
            throw EnvError(.invalidArgument, "VectorEnv.step: expected \(count) × \(k) choices, got \(actions.count).")
        }
        // One comparison per choice without a branch (`0 <= a < size` as one unsigned
        // comparison): a fleet of 256 devices checks 256 choices per step.
        let valid: Bool = actionLayout.sizes.withUnsafeBufferPointer { sizes in
            var bad = 0
            for i in 0..<count {
                for c in 0..<k {
                    bad |= UInt(bitPattern: actions[i &* k &+ c]) < UInt(bitPattern: sizes[c]) ? 0 : 1
                }
            }
            return bad == 0
        }
        if !valid {
            for i in 0..<count {
                for c in 0..<k {
                    let a = actions[i * k + c]
                    if a < 0 || a >= actionLayout.sizes[c] {
                        throw EnvError(.invalidAction,
                                       "VectorEnv.step: choice \(a) of component \(c) of sub-env \(i) is not in 0..<\(actionLayout.sizes[c]) (\(actionLayout)).")
                    }
                }
            }
        }
        let chunks = min(max(parallelism, 1), count)
        if chunks == 1 {
            stepRange(0, count, actions.baseAddress!, buffers)
        } else {
            let base = actions.baseAddress!
            let n = count
            let chunk = ChunkWork { c in
                self.stepRange(c * n / chunks, (c + 1) * n / chunks, base, buffers)
            }
            DispatchQueue.concurrentPerform(iterations: chunks) { c in chunk.run(c) }
        }
    }

    /// ``step(_:into:)`` with an array of actions (no copy).
    public func step(_ actions: [Int], into buffers: VectorBuffers) throws {
        try actions.withUnsafeBufferPointer { try step($0, into: buffers) }
    }

    /// Overwrites sub-env `i`'s physical state after a reset (``VectorizableEnv/setState(_:)``,
    /// for parity checks) and rewrites its observation and mask rows; a pending next-step
    /// reset of that sub-env is cancelled.
    /// - Throws: ``EnvError/Code/stepBeforeReset`` before the first reset,
    ///   ``EnvError/Code/invalidArgument`` for an index out of range, and what the sub-env throws
    ///   (``EnvError/Code/unsupported`` when it cannot set its state).
    public func setState(_ i: Int, _ values: [Double], into buffers: VectorBuffers) throws {
        guard isReady else { throw EnvError.stepBeforeReset("VectorEnv<\(E.self)>") }
        try checkShape(buffers)
        guard i >= 0 && i < count else {
            throw EnvError(.invalidArgument, "VectorEnv.setState: sub-env \(i) is not in 0..<\(count).")
        }
        try envs[i].setState(values)
        writeRows(&envs[i], observation: buffers.observations.baseAddress! + i * observationDimension, mask: buffers.actionMasks.baseAddress! + i * maskWidth)
        pendingReset[i] = false
    }

    /// Closes every sub-env; stepping again requires a reset. Idempotent.
    public func close() {
        for i in 0..<count { envs[i].close() }
        isReady = false
    }

    // MARK: - Internals

    private func checkShape(_ b: VectorBuffers) throws {
        guard b.count == count, b.observationDimension == observationDimension, b.maskWidth == maskWidth else {
            throw EnvError(.invalidArgument,
                           "VectorEnv: buffers are \(b.count)×\(b.observationDimension) (masks \(b.maskWidth)), "
                           + "expected \(count)×\(observationDimension) (masks \(maskWidth)). - help: use makeBuffers().")
        }
    }

    /// Writes sub-env `i`'s observation and mask rows. The env is passed `inout`: a read-only
    /// call on `envs[i]` (pointer memory any call might write) makes the compiler copy the env
    /// into a temporary first, a retain and a release of every array it holds, twice per step;
    /// through an `inout` access the calls read it in place.
    @inline(__always)
    private func writeRows(_ env: inout E, observation: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Bool>) {
        env.writeObservation(into: observation)
        env.writeActionMask(into: mask)
    }

    @inline(__always)
    private func resetSubEnv(_ i: Int, seed: UInt64?, _ b: VectorBuffers) {
        envs[i].resetState(seed: seed)
        writeRows(&envs[i], observation: b.observations.baseAddress! + i * observationDimension, mask: b.actionMasks.baseAddress! + i * maskWidth)
        b.rewards[i] = 0
        b.terminations[i] = false
        b.truncations[i] = false
        b.hasFinalObservation[i] = false
        pendingReset[i] = false
    }

    private func stepRange(_ lo: Int, _ hi: Int, _ actions: UnsafePointer<Int>, _ b: VectorBuffers) {
        let dim = observationDimension
        let obs = b.observations.baseAddress!
        let masks = b.actionMasks.baseAddress!
        let rewards = b.rewards.baseAddress!
        let terms = b.terminations.baseAddress!
        let truncs = b.truncations.baseAddress!
        let finals = b.finalObservations.baseAddress!
        let hasFinal = b.hasFinalObservation.baseAddress!
        let finalMasks = b.finalActionMasks.baseAddress!
        let k = actionComponents
        switch autoreset {
        case .nextStep:
            for i in lo..<hi {
                if pendingReset[i] {
                    envs[i].resetState(seed: nil)
                    rewards[i] = 0
                    terms[i] = false
                    truncs[i] = false
                    pendingReset[i] = false
                } else {
                    let t = envs[i].step(choices: actions + i * k)
                    rewards[i] = Float(t.reward)
                    terms[i] = t.terminated
                    truncs[i] = t.truncated
                    pendingReset[i] = t.terminated || t.truncated
                }
                writeRows(&envs[i], observation: obs + i * dim, mask: masks + i * maskWidth)
            }
        case .sameStep:
            for i in lo..<hi {
                let t = envs[i].step(choices: actions + i * k)
                rewards[i] = Float(t.reward)
                terms[i] = t.terminated
                truncs[i] = t.truncated
                if t.terminated || t.truncated {
                    writeRows(&envs[i], observation: finals + i * dim, mask: finalMasks + i * maskWidth)
                    hasFinal[i] = true
                    envs[i].resetState(seed: nil)
                } else {
                    hasFinal[i] = false
                }
                writeRows(&envs[i], observation: obs + i * dim, mask: masks + i * maskWidth)
            }
        case .disabled:
            for i in lo..<hi {
                let t = envs[i].step(choices: actions + i * k)
                rewards[i] = Float(t.reward)
                terms[i] = t.terminated
                truncs[i] = t.truncated
                writeRows(&envs[i], observation: obs + i * dim, mask: masks + i * maskWidth)
            }
        }
    }
}

/// One chunk of a parallel step. Chunks touch disjoint sub-envs and buffer rows, and
/// `concurrentPerform` returns only after all of them, hence the unchecked `Sendable`.
private struct ChunkWork: @unchecked Sendable {
    let run: (Int) -> Void
}

extension VectorEnv: StateCheckpointable where E: StateCheckpointable {
    /// Every sub-env's state under `env/<i>/`, the pending next-step resets and whether the
    /// vector env has been reset. The buffers are the caller's (see ``VectorBuffers/saveState()``).
    public func saveState() -> StateDict {
        var s = StateDict()
        s.setInt(count, at: "count")
        s.setFlag(isReady, at: "is_ready")
        s.setFlags(UnsafeBufferPointer(start: pendingReset, count: count), at: "pending_reset")
        for i in 0..<count { s.merge(envs[i].saveState(), prefix: "env/\(i)") }
        return s
    }

    /// Restores a state saved from a vector env of the same size and sub-env construction.
    /// Every sub-env is restored into a copy first, so a failure leaves this env unchanged.
    public func loadState(_ s: StateDict) throws {
        let n = try s.int("count")
        guard n == count else {
            throw EnvError(.invalidArgument, "VectorEnv.loadState: the state has \(n) sub-envs, this env has \(count).")
        }
        let ready = try s.flag("is_ready")
        let pending = try s.flags("pending_reset", count: count)
        var restored: [E] = []
        restored.reserveCapacity(count)
        for i in 0..<count {
            var e = envs[i]
            try e.loadState(s.subset("env/\(i)"))
            restored.append(e)
        }
        for i in 0..<count {
            envs[i] = restored[i]
            pendingReset[i] = pending[i]
        }
        isReady = ready
    }
}
