import Foundation
import Testing
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN
@testable import SwitchGymAgents

/// ``FleetMoves`` and the `moves` policy: one class-level move per interval.
@Suite struct FleetMovesTests {
    /// The fleet observation of `variants` and `pending` (the rest zero).
    func observation(_ layout: FamilyObservationLayout, _ variants: [Int], _ pending: [Double]) -> [Float] {
        var obs = [Float](repeating: 0, count: layout.dimension)
        obs.withUnsafeMutableBufferPointer { layout.writeWorkers(into: $0.baseAddress!, job: { variants[$0] }, pending: { pending[$0] }) }
        return obs
    }

    /// The mask allows exactly the moves a class can make (by brute force over random states),
    /// a move switches exactly `min(count, movable devices)` devices of its class, the
    /// lowest-indexed idle ones that may hold the target, and the env steps the fluid fleet
    /// with those choices.
    @Test func movesAreMaskedAndAppliedExactly() throws {
        let m = try FactoredPolicyTests.fleet(big: 3, small: 2)
        let moves = FleetMoves(model: m)
        let V = m.variantCount, D = m.deviceCount, K = moves.classCount
        #expect(K == 2 && moves.levels == 2 && moves.optionsPerClass == 1 + V * V * 2)
        var fleetMask = [Bool](repeating: false, count: D * V)
        FluidServingEnv(model: m).writeActionMask(into: &fleetMask)
        var g = SeededGenerator(seed: 3)
        for _ in 0..<50 {
            let variants = (0..<D).map { d in (0..<V).filter { m.canHold(device: d, variant: $0) }.randomElement(using: &g)! }
            let pending = (0..<D).map { _ in g.nextUnit() < 0.3 ? 1.5 : 0 }
            let obs = observation(m.observationLayout, variants, pending)
            var mask = [Bool](repeating: false, count: moves.actionLayout.maskWidth)
            moves.writeMask(fleet: obs, fleetMask: fleetMask, into: &mask)
            for k in 0..<K {
                let members = (0..<D).filter { m.classes.classOf[$0] == k }
                #expect(mask[k * moves.optionsPerClass])
                for option in 1..<moves.optionsPerClass {
                    let mv = moves.move(option)!
                    let movable = members.filter { variants[$0] == mv.from && pending[$0] <= 0 && m.canHold(device: $0, variant: mv.to) }
                    let expected = mv.from != mv.to && movable.count >= mv.count
                    #expect(mask[k * moves.optionsPerClass + option] == expected, "class \(k) option \(option)")
                    guard expected else { continue }
                    var choices = [Int](repeating: 0, count: K)
                    choices[k] = option
                    var out = [Int](repeating: -1, count: D)
                    moves.apply(choices, fleet: obs, fleetMask: fleetMask, into: &out)
                    let moved = (0..<D).filter { out[$0] != variants[$0] }
                    #expect(moved == Array(movable.prefix(mv.count)))
                    #expect(moved.allSatisfy { out[$0] == mv.to })
                }
            }
        }
        // The env is the fluid fleet stepped with the applied choices.
        var env = FleetMovesEnv(fleet: FluidServingEnv(model: m))
        var fleet = FluidServingEnv(model: m)
        env.resetState(seed: 4)
        fleet.resetState(seed: 4)
        var rng = SeededGenerator(seed: 9)
        var switched = 0
        for _ in 0..<20 {
            let mask = env.currentActionMask()
            let choices = (0..<K).map { k in (0..<moves.optionsPerClass).filter { mask[k * moves.optionsPerClass + $0] }.randomElement(using: &rng)! }
            var device = [Int](repeating: 0, count: D)
            moves.apply(choices, fleet: fleet.currentObservation(), fleetMask: fleetMask, into: &device)
            let a = choices.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            let b = device.withUnsafeBufferPointer { fleet.step(choices: $0.baseAddress!) }
            #expect(a == b && env.fleet.variants == fleet.variants)
            switched += fleet.last.switches
        }
        #expect(switched > 0)
        // The observation does not grow with the fleet.
        let larger = try FactoredPolicyTests.fleet(big: 12, small: 8)
        #expect(FleetMovesEnv(fleet: FluidServingEnv(model: larger)).observationDimension == env.observationDimension)
    }

    /// `policy = moves`: PPO trains on the class-level env, the checkpoint carries the codec,
    /// and the frozen policy acts on the fluid fleet exactly as the agent does through the
    /// codec, also on a larger fleet of the same classes; PPO refuses it on another env.
    @Test func aMovesPolicyTrainsFreezesAndActs() throws {
        BLAS.setThreadCount(1)
        let m = try FactoredPolicyTests.fleet(big: 3, small: 2)
        var c = PPOConfig()
        c.numEnvs = 2; c.numSteps = 16; c.batchSize = 16; c.numEpochs = 2; c.hiddenSizes = [16]
        c.totalTimesteps = 64; c.seed = 2; c.policy = .moves
        let codec = FleetMoves(model: m)
        let agent = try PPO(config: c) { FleetMovesEnv(fleet: FluidServingEnv(model: m, seed: UInt64($0)), moves: codec) }
        try agent.train()
        #expect(agent.networks.architecture == .moves)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-moves-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CheckpointStore(directory: dir)
        _ = try store.save(agent.saveState(), step: agent.globalStep)
        let frozen = try FrozenPolicy.load(path: dir.path)
        #expect(frozen.architecture == .moves && frozen.movesLevels == codec.levels)
        var fleet = FluidServingEnv(model: m)
        fleet.resetState(seed: 5)
        let bound = try frozen.bind(to: fleet)
        var fleetMask = [Bool](repeating: false, count: m.actionLayout.maskWidth)
        fleet.writeActionMask(into: &fleetMask)
        for _ in 0..<10 {
            let obs = fleet.currentObservation()
            var movesObs = [Float](repeating: 0, count: codec.observationDimension)
            var movesMask = [Bool](repeating: false, count: codec.actionLayout.maskWidth)
            codec.writeObservation(fleet: obs, into: &movesObs)
            codec.writeMask(fleet: obs, fleetMask: fleetMask, into: &movesMask)
            var picks = [Int](repeating: 0, count: codec.classCount)
            agent.act(observation: movesObs, mask: movesMask, into: &picks)
            var expected = [Int](repeating: 0, count: m.deviceCount)
            codec.apply(picks, fleet: obs, fleetMask: fleetMask, into: &expected)
            let row = bound.act(observation: obs, mask: fleetMask)
            #expect(row == expected)
            _ = row.withUnsafeBufferPointer { fleet.step(choices: $0.baseAddress!) }
        }
        // Same classes, more devices (blocks up to what it was trained with).
        let larger = try FactoredPolicyTests.fleet(big: 6, small: 4)
        var big = FluidServingEnv(model: larger)
        big.resetState(seed: 1)
        #expect(try frozen.bind(to: big).act(observation: big.currentObservation(), mask: big.currentActionMask()).count == 10)
        // A moves policy needs the class-level env.
        #expect(throws: AgentError.self) { _ = try PPO(config: c) { FluidServingEnv(model: m, seed: UInt64($0)) } }
    }
}
