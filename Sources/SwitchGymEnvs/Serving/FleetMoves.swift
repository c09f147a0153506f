import SwitchGymCore

/// A class-level action codec for a serving fleet: per device class, one **move**, "switch
/// `2^level` idle devices of this class from variant `from` to variant `to`", or no move. Its
/// size, `classes × (1 + variants² × levels)`, does not grow with the number of devices
/// (`levels` covers block sizes `1, 2, 4, …` up to the largest class it was built for), and a
/// policy over it cannot reload the whole fleet in one interval.
///
/// The codec reads only the fleet's observation (``FamilyObservationLayout``: each device's
/// variant and pending load) and its per-device action mask, so the same codec drives the
/// fluid env in training (``FleetMovesEnv``) and a frozen policy on any fleet of the same
/// classes and variants. A move is realised on the lowest-indexed devices of the class that
/// hold `from`, are not loading, and may hold `to`. Its observation is the class-level summary
/// (per class the fraction of devices on each variant and the fraction loading) followed by
/// the fleet's shared block, the same size for any number of devices.
public struct FleetMoves: Sendable, Equatable {
    /// The fleet's observation layout.
    public let layout: FamilyObservationLayout
    /// Block sizes `1, 2, 4, …, 2^(levels − 1)`.
    public let levels: Int
    /// The devices of each class, in index order.
    let classDevices: [[Int]]

    /// The codec for a fleet of `layout` with block sizes up to `2^(levels − 1)`.
    /// - Precondition: `1 <= levels <= 30`.
    public init(layout: FamilyObservationLayout, levels: Int) {
        precondition(levels >= 1 && levels <= 30, "FleetMoves: levels must be in 1...30, got \(levels)")
        self.layout = layout
        self.levels = levels
        var members = [[Int]](repeating: [], count: layout.classCount)
        for w in 0..<layout.workers { members[layout.workerClass[w]].append(w) }
        classDevices = members
    }

    /// The codec for `model`'s fleet, with blocks up to its largest class.
    public init(model m: ServingModel) {
        self.init(layout: m.observationLayout, levels: Self.levels(largestClass: m.classes.sizes.max() ?? 1))
    }

    /// Levels whose largest block is the largest power of two not above `n`.
    public static func levels(largestClass n: Int) -> Int {
        var l = 1
        while l < 30 && (1 << l) <= n { l += 1 }
        return l
    }

    public var variantCount: Int { layout.jobs }
    public var classCount: Int { layout.classCount }
    /// Options per class: no move (0), then `(from, to, level)` at `1 + (from × V + to) × levels + level`.
    public var optionsPerClass: Int { 1 + variantCount * variantCount * levels }
    /// The action codec: one component per class.
    public var actionLayout: ActionLayout { ActionLayout(repeating: optionsPerClass, count: classCount) }
    /// Floats of the class-level observation.
    public var observationDimension: Int { classCount * (variantCount + 1) + layout.sharedCount }

    /// The move of `option`, or `nil` for no move.
    public func move(_ option: Int) -> (from: Int, to: Int, count: Int)? {
        guard option > 0 else { return nil }
        let x = option - 1, level = x % levels, pair = x / levels
        return (pair / variantCount, pair % variantCount, 1 << level)
    }

    @inline(__always)
    func idle(_ w: Int, _ obs: UnsafePointer<Float>) -> Bool { obs[layout.workerOffset(w) + variantCount] <= 0 }

    /// Writes the class-level observation of the fleet observation `fleet`.
    public func writeObservation(fleet obs: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let V = variantCount, K = classCount
        out.update(repeating: 0, count: K * (V + 1))
        for k in 0..<K {
            let inverse = 1 / Float(max(1, classDevices[k].count))
            for w in classDevices[k] {
                out[k * V + layout.job(ofWorker: w, in: obs)] += inverse
                if !idle(w, obs) { out[K * V + k] += inverse }
            }
        }
        (out + K * (V + 1)).update(from: obs + layout.sharedOffset, count: layout.sharedCount)
    }

    /// Writes the mask: no move is always allowed; a move when `to ≠ from` and the class has
    /// at least `count` idle devices on `from` that may hold `to` (`fleetMask`, per device).
    public func writeMask(fleet obs: UnsafePointer<Float>, fleetMask: UnsafePointer<Bool>, into out: UnsafeMutablePointer<Bool>) {
        let V = variantCount, n = optionsPerClass
        withUnsafeTemporaryAllocation(of: Int.self, capacity: V * V) { movable in
            for k in 0..<classCount {
                movable.initialize(repeating: 0)
                for w in classDevices[k] where idle(w, obs) {
                    let from = layout.job(ofWorker: w, in: obs)
                    for to in 0..<V where fleetMask[w * V + to] { movable[from * V + to] += 1 }
                }
                let row = out + k * n
                row[0] = true
                for from in 0..<V {
                    for to in 0..<V {
                        let c = from == to ? 0 : movable[from * V + to]
                        for level in 0..<levels { row[1 + (from * V + to) * levels + level] = c >= (1 << level) }
                    }
                }
            }
        }
    }

    /// The variant each device should hold under `choices` (one option per class): what it
    /// holds, with each class's move applied to its lowest-indexed idle devices on `from` that
    /// may hold `to` (a move asking for more such devices than there are moves those there are).
    public func apply(_ choices: UnsafePointer<Int>, fleet obs: UnsafePointer<Float>, fleetMask: UnsafePointer<Bool>,
                      into out: UnsafeMutablePointer<Int>) {
        let V = variantCount
        for w in 0..<layout.workers { out[w] = layout.job(ofWorker: w, in: obs) }
        for k in 0..<classCount {
            guard let mv = move(choices[k]), mv.from != mv.to else { continue }
            var left = mv.count
            for w in classDevices[k] where left > 0 && out[w] == mv.from && idle(w, obs) && fleetMask[w * V + mv.to] {
                out[w] = mv.to
                left -= 1
            }
        }
    }
}

/// ``FluidServingEnv`` driven through ``FleetMoves``: one move per device class per interval,
/// the class-level observation (what a `moves` policy trains on).
public struct FleetMovesEnv: VectorizableEnv, StateCheckpointable, Sendable {
    public typealias Info = ServingStepInfo

    /// The fleet it drives.
    public private(set) var fleet: FluidServingEnv
    public let moves: FleetMoves
    public let observationSpace: Box
    public let actionSpace: MultiDiscrete
    private var fleetObservation: [Float]
    private var fleetMask: [Bool]
    private var deviceChoices: [Int]

    /// Drives `fleet` with the codec of its model (blocks up to its largest class).
    public init(fleet: FluidServingEnv) {
        self.init(fleet: fleet, moves: FleetMoves(model: fleet.model))
    }

    /// Drives `fleet` with `moves`.
    /// - Precondition: `moves` is for `fleet`'s observation layout.
    public init(fleet: FluidServingEnv, moves: FleetMoves) {
        precondition(moves.layout == fleet.model.observationLayout, "FleetMovesEnv: the codec is for another fleet")
        self.fleet = fleet
        self.moves = moves
        let n = moves.observationDimension
        observationSpace = Box(low: [Float](repeating: 0, count: n), high: [Float](repeating: .infinity, count: n))
        actionSpace = MultiDiscrete([Int](repeating: moves.optionsPerClass, count: moves.classCount))
        fleetObservation = [Float](repeating: 0, count: fleet.observationDimension)
        var mask = [Bool](repeating: false, count: fleet.actionLayout.maskWidth)
        fleet.writeActionMask(into: &mask)
        fleetMask = mask
        deviceChoices = [Int](repeating: 0, count: fleet.model.deviceCount)
    }

    public var observationDimension: Int { moves.observationDimension }
    public var actionLayout: ActionLayout { moves.actionLayout }

    public mutating func reset(seed: UInt64?, options: NoResetOptions?) throws -> ResetResult<[Float], ServingStepInfo> {
        resetState(seed: seed)
        return ResetResult(observation: currentObservation(), info: fleet.last)
    }

    public mutating func step(_ action: [Int]) throws -> StepResult<[Float], ServingStepInfo> {
        guard actionSpace.contains(action) else {
            throw EnvError(.invalidAction, "FleetMovesEnv: action \(action) is not in \(actionLayout) (one move per device class).")
        }
        let t = action.withUnsafeBufferPointer { step(choices: $0.baseAddress!) }
        return StepResult(observation: currentObservation(), reward: t.reward, terminated: t.terminated,
                          truncated: t.truncated, info: fleet.last)
    }

    public mutating func close() { fleet.close() }

    public mutating func resetState(seed: UInt64?) { fleet.resetState(seed: seed) }

    public func writeObservation(into destination: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: fleet.observationDimension) { obs in
            fleet.writeObservation(into: obs.baseAddress!)
            moves.writeObservation(fleet: obs.baseAddress!, into: destination)
        }
    }

    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: fleet.observationDimension) { obs in
            fleet.writeObservation(into: obs.baseAddress!)
            fleetMask.withUnsafeBufferPointer { moves.writeMask(fleet: obs.baseAddress!, fleetMask: $0.baseAddress!, into: destination) }
        }
    }

    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        fleetObservation.withUnsafeMutableBufferPointer { obs in
            fleet.writeObservation(into: obs.baseAddress!)
            fleetMask.withUnsafeBufferPointer { mask in
                deviceChoices.withUnsafeMutableBufferPointer {
                    moves.apply(choices, fleet: obs.baseAddress!, fleetMask: mask.baseAddress!, into: $0.baseAddress!)
                }
            }
        }
        return deviceChoices.withUnsafeBufferPointer { fleet.step(choices: $0.baseAddress!) }
    }

    public func saveState() -> StateDict {
        var s = StateDict()
        s.merge(fleet.saveState(), prefix: "fleet")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws { try fleet.loadState(s.subset("fleet")) }
}
