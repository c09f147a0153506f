import Testing
import SwitchGymCore
import SwitchGymEnvs
@testable import SwitchGymAgents

/// ``FleetMoves``: one class-level move per interval (experimental action codec).
@Suite struct FleetMovesTests {
    /// The mask allows exactly the moves a class can make (by brute force over random states),
    /// a move switches exactly `min(count, idle devices on from)` devices of its class, the
    /// lowest-indexed idle ones, and the env steps the fluid fleet with those choices.
    @Test func movesAreMaskedAndAppliedExactly() throws {
        let m = try FactoredPolicyTests.fleet(big: 3, small: 2)
        let moves = FleetMoves(model: m)
        let V = m.variantCount, D = m.deviceCount, K = moves.classes.count
        #expect(K == 2 && moves.levels == 2 && moves.optionsPerClass == 1 + V * V * 2)
        var g = SeededGenerator(seed: 3)
        for _ in 0..<50 {
            let variants = (0..<D).map { d in (0..<V).filter { m.canHold(device: d, variant: $0) }.randomElement(using: &g)! }
            let pending = (0..<D).map { _ in g.nextUnit() < 0.3 ? 1.5 : 0 }
            var mask = [Bool](repeating: false, count: moves.actionLayout.maskWidth)
            moves.writeMask(variants: variants, pending: pending, into: &mask)
            for k in 0..<K {
                let members = (0..<D).filter { moves.classes.classOf[$0] == k }
                #expect(mask[k * moves.optionsPerClass])
                for option in 1..<moves.optionsPerClass {
                    let mv = moves.move(option)!
                    let idle = members.filter { variants[$0] == mv.from && pending[$0] <= 0 }
                    let expected = mv.from != mv.to && moves.classes.canHold[k * V + mv.to] && idle.count >= mv.count
                    #expect(mask[k * moves.optionsPerClass + option] == expected, "class \(k) option \(option)")
                    guard expected else { continue }
                    var choices = [Int](repeating: 0, count: K)
                    choices[k] = option
                    var out = [Int](repeating: -1, count: D)
                    moves.apply(choices, variants: variants, pending: pending, into: &out, deviceCount: D)
                    let moved = (0..<D).filter { out[$0] != variants[$0] }
                    #expect(moved == Array(idle.prefix(mv.count)))
                    #expect(moved.allSatisfy { out[$0] == mv.to && m.canHold(device: $0, variant: mv.to) })
                }
            }
        }
        // The env is the fluid fleet stepped with the applied choices.
        var env = FleetMovesEnv(model: m)
        var fleet = FluidServingEnv(model: m)
        env.resetState(seed: 4)
        fleet.resetState(seed: 4)
        var rng = SeededGenerator(seed: 9)
        for _ in 0..<20 {
            let mask = env.currentActionMask()
            let choices = (0..<K).map { k in (0..<moves.optionsPerClass).filter { mask[k * moves.optionsPerClass + $0] }.randomElement(using: &rng)! }
            var device = [Int](repeating: 0, count: D)
            moves.apply(choices, variants: fleet.variants, pending: fleet.pending, into: &device, deviceCount: D)
            let a = choices.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            let b = device.withUnsafeBufferPointer { fleet.step(choices: $0.baseAddress!) }
            #expect(a == b && env.fleet.variants == fleet.variants)
        }
        // The observation does not grow with the fleet.
        let larger = try FactoredPolicyTests.fleet(big: 12, small: 8)
        #expect(FleetMovesEnv(model: larger).observationDimension == env.observationDimension)
    }
}
