import SwitchGymCore

/// A class-level action codec for a serving fleet (experimental): per device class, one
/// **move**, "switch `2^level` idle devices of this class from variant `from` to variant
/// `to`", or no move. Its size, `classes × (1 + variants² × levels)`, does not grow with the
/// number of devices (`levels` is the number of powers of two up to the largest class), and
/// a policy over it cannot thrash the whole fleet in one interval.
///
/// The move is realised on devices deterministically: the lowest-indexed devices of the class
/// that hold `from` and are not loading. Its observation is the class-level summary (per class
/// the fraction of devices on each variant and the fraction loading) and the fleet's shared
/// block (``FamilyObservationLayout``), so it has the same size for any number of devices.
public struct FleetMoves: Sendable, Equatable {
    public let classes: FleetClasses
    public let variantCount: Int
    /// Block sizes `1, 2, 4, …, 2^(levels − 1)`.
    public let levels: Int
    /// The devices of each class, in index order.
    public let classDevices: [[Int]]
    /// The fleet's observation layout (its shared block is copied).
    public let layout: FamilyObservationLayout

    public init(model m: ServingModel) {
        classes = m.classes
        variantCount = m.variantCount
        var members = [[Int]](repeating: [], count: m.classes.count)
        for d in 0..<m.deviceCount { members[m.classes.classOf[d]].append(d) }
        classDevices = members
        let largest = members.map(\.count).max() ?? 1
        var l = 1
        while (1 << l) <= largest { l += 1 }
        levels = l
        layout = m.observationLayout
    }

    /// Options per class: no move, then `(from, to, level)` at `1 + (from × V + to) × levels + level`.
    public var optionsPerClass: Int { 1 + variantCount * variantCount * levels }
    /// The action codec: one component per class.
    public var actionLayout: ActionLayout { ActionLayout(repeating: optionsPerClass, count: classes.count) }
    /// Floats of the class-level observation.
    public var observationDimension: Int { classes.count * (variantCount + 1) + layout.sharedCount }

    /// The move of `option`, or `nil` for no move.
    public func move(_ option: Int) -> (from: Int, to: Int, count: Int)? {
        guard option > 0 else { return nil }
        let x = option - 1, level = x % levels, pair = x / levels
        return (pair / variantCount, pair % variantCount, 1 << level)
    }

    /// Idle devices (not loading) of class `k` holding each variant.
    @inline(__always)
    func idle(_ k: Int, variants: UnsafePointer<Int>, pending: UnsafePointer<Double>, into counts: UnsafeMutablePointer<Int>) {
        counts.update(repeating: 0, count: variantCount)
        for d in classDevices[k] where pending[d] <= 0 { counts[variants[d]] += 1 }
    }

    /// Writes the mask: a move is allowed when `to ≠ from`, the class can hold `to`, and the
    /// class has at least `count` idle devices on `from`; no move is always allowed.
    public func writeMask(variants: UnsafePointer<Int>, pending: UnsafePointer<Double>, into out: UnsafeMutablePointer<Bool>) {
        let V = variantCount, n = optionsPerClass
        withUnsafeTemporaryAllocation(of: Int.self, capacity: V) { counts in
            for k in 0..<classes.count {
                idle(k, variants: variants, pending: pending, into: counts.baseAddress!)
                let row = out + k * n
                row[0] = true
                for from in 0..<V {
                    for to in 0..<V {
                        let ok = from != to && classes.canHold[k * V + to]
                        for level in 0..<levels { row[1 + (from * V + to) * levels + level] = ok && counts[from] >= (1 << level) }
                    }
                }
            }
        }
    }

    /// The variant each device should hold under `choices` (one option per class): the held
    /// variants, with each class's move applied to its lowest-indexed idle devices on `from`
    /// (a move asking for more idle devices than there are moves as many as there are).
    public func apply(_ choices: UnsafePointer<Int>, variants: UnsafePointer<Int>, pending: UnsafePointer<Double>,
                      into out: UnsafeMutablePointer<Int>, deviceCount: Int) {
        for d in 0..<deviceCount { out[d] = variants[d] }
        for k in 0..<classes.count {
            guard let mv = move(choices[k]), classes.canHold[k * variantCount + mv.to] else { continue }
            var left = mv.count
            for d in classDevices[k] where left > 0 && variants[d] == mv.from && pending[d] <= 0 {
                out[d] = mv.to
                left -= 1
            }
        }
    }

    /// Writes the class-level observation from the fleet's state and its full observation
    /// `fleetObservation` (whose shared block is copied).
    public func writeObservation(variants: UnsafePointer<Int>, pending: UnsafePointer<Double>,
                                 fleetObservation: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let V = variantCount, K = classes.count
        out.update(repeating: 0, count: K * (V + 1))
        for k in 0..<K {
            let inverse = 1 / Float(max(1, classDevices[k].count))
            for d in classDevices[k] {
                out[k * V + variants[d]] += inverse
                if pending[d] > 0 { out[K * V + k] += inverse }
            }
        }
        (out + K * (V + 1)).update(from: fleetObservation + layout.sharedOffset, count: layout.sharedCount)
    }
}

/// ``FluidServingEnv`` driven through ``FleetMoves`` (experimental): one move per device class
/// per interval, a class-level observation.
public struct FleetMovesEnv: VectorizableEnv, StateCheckpointable, Sendable {
    public typealias Info = ServingStepInfo

    /// The fleet it drives.
    public private(set) var fleet: FluidServingEnv
    public let moves: FleetMoves
    public let observationSpace: Box
    public let actionSpace: MultiDiscrete
    private var deviceChoices: [Int]

    public init(model: ServingModel, seed: UInt64 = 0) {
        fleet = FluidServingEnv(model: model, seed: seed)
        moves = FleetMoves(model: model)
        let n = moves.observationDimension
        observationSpace = Box(low: [Float](repeating: 0, count: n), high: [Float](repeating: .infinity, count: n))
        actionSpace = MultiDiscrete([Int](repeating: moves.optionsPerClass, count: moves.classes.count))
        deviceChoices = [Int](repeating: 0, count: model.deviceCount)
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
        withUnsafeTemporaryAllocation(of: Float.self, capacity: fleet.observationDimension) { full in
            fleet.writeObservation(into: full.baseAddress!)
            fleet.variants.withUnsafeBufferPointer { v in
                fleet.pending.withUnsafeBufferPointer { p in
                    moves.writeObservation(variants: v.baseAddress!, pending: p.baseAddress!, fleetObservation: full.baseAddress!,
                                           into: destination)
                }
            }
        }
    }

    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        fleet.variants.withUnsafeBufferPointer { v in
            fleet.pending.withUnsafeBufferPointer { moves.writeMask(variants: v.baseAddress!, pending: $0.baseAddress!, into: destination) }
        }
    }

    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        let D = fleet.model.deviceCount
        fleet.variants.withUnsafeBufferPointer { v in
            fleet.pending.withUnsafeBufferPointer { p in
                deviceChoices.withUnsafeMutableBufferPointer {
                    moves.apply(choices, variants: v.baseAddress!, pending: p.baseAddress!, into: $0.baseAddress!, deviceCount: D)
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
