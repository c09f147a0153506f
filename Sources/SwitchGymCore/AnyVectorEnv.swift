/// A ``VectorEnv`` whose sub-env type is hidden, for code that picks an env by id at run
/// time (the CLI, benchmarks).
///
/// Built by ``EnvSpec/makeVector(count:autoreset:)`` inside this module, where the sub-env
/// type is concrete, so the stepping loop is fully specialised; each call costs one
/// indirect call per *vector* step, not per sub-env step, and allocates nothing.
public struct AnyVectorEnv {
    /// Number of sub-envs.
    public let count: Int
    /// `Float`s per observation.
    public let observationDimension: Int
    /// The action codec of one sub-env.
    public let actionLayout: ActionLayout
    /// The autoreset mode.
    public let autoreset: AutoresetMode
    /// The observation space of one sub-env.
    public let singleObservationSpace: Box
    /// Whether one sub-env's action is one integer (``Discrete``) rather than a list.
    public let actionIsScalar: Bool
    /// What a choice adds to become the action's value (a ``Discrete`` space's `start`, else 0).
    public let actionChoiceOffset: Int

    private let resetBody: (UInt64?, VectorBuffers) throws -> Void
    private let resetMaskBody: ([Bool], UInt64?, VectorBuffers) throws -> Void
    private let setStateBody: (Int, [Double], VectorBuffers) throws -> Void
    private let stepBody: (UnsafeBufferPointer<Int>, VectorBuffers) throws -> Void
    private let parallelismBody: (Int) -> Void
    private let closeBody: () -> Void

    /// Wraps a concrete vector env.
    public init<E>(_ env: VectorEnv<E>) {
        count = env.count
        observationDimension = env.observationDimension
        actionLayout = env.actionLayout
        autoreset = env.autoreset
        singleObservationSpace = env.singleObservationSpace
        actionIsScalar = env.singleActionSpace.isScalar
        actionChoiceOffset = env.singleActionSpace.choiceOffset
        resetBody = { seed, buffers in try env.reset(seed: seed, into: buffers) }
        resetMaskBody = { mask, seed, buffers in try env.reset(mask: mask, seed: seed, into: buffers) }
        setStateBody = { i, values, buffers in try env.setState(i, values, into: buffers) }
        stepBody = { actions, buffers in try env.step(actions, into: buffers) }
        parallelismBody = { env.parallelism = $0 }
        closeBody = { env.close() }
    }

    /// Buffers of the right size.
    public func makeBuffers() -> VectorBuffers {
        VectorBuffers(count: count, observationDimension: observationDimension, actionLayout: actionLayout)
    }

    /// See ``VectorEnv/reset(seed:into:)``.
    public func reset(seed: UInt64? = nil, into buffers: VectorBuffers) throws { try resetBody(seed, buffers) }

    /// See ``VectorEnv/reset(mask:seed:into:)``.
    public func reset(mask: [Bool], seed: UInt64? = nil, into buffers: VectorBuffers) throws {
        try resetMaskBody(mask, seed, buffers)
    }

    /// See ``VectorEnv/setState(_:_:into:)``.
    public func setState(_ i: Int, _ values: [Double], into buffers: VectorBuffers) throws {
        try setStateBody(i, values, buffers)
    }

    /// See ``VectorEnv/step(_:into:)``.
    @inline(__always)
    public func step(_ actions: UnsafeBufferPointer<Int>, into buffers: VectorBuffers) throws {
        try stepBody(actions, buffers)
    }

    /// See ``VectorEnv/step(_:into:)``.
    public func step(_ actions: [Int], into buffers: VectorBuffers) throws {
        try actions.withUnsafeBufferPointer { try stepBody($0, buffers) }
    }

    /// Sets ``VectorEnv/parallelism``.
    public func setParallelism(_ chunks: Int) { parallelismBody(chunks) }

    /// See ``VectorEnv/close()``.
    public func close() { closeBody() }
}
