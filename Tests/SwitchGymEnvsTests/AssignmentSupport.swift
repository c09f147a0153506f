import SwitchGymCore
@testable import SwitchGymEnvs

extension ServingScenario {
    /// Each device uniformly over every variant (feasible or not: the envs treat an infeasible
    /// choice as staying, which the tests exercise too).
    func randomAssignment(using g: inout SeededGenerator) -> [Int] {
        fleet.indices.map { _ in Int(g.next() % UInt64(variants.count)) }
    }
}

extension FluidServingEnv {
    /// Steps with one variant per device.
    mutating func step(assignment: [Int]) -> Transition {
        assignment.withUnsafeBufferPointer { step(choices: $0.baseAddress!) }
    }

    /// Steps with every device asked to hold variant `v`.
    mutating func step(everyDevice v: Int) -> Transition {
        step(assignment: [Int](repeating: v, count: model.deviceCount))
    }
}

extension DiscreteEventServingEnv {
    /// Steps with one variant per device.
    mutating func step(assignment: [Int]) -> Transition {
        assignment.withUnsafeBufferPointer { step(choices: $0.baseAddress!) }
    }

    /// Steps with every device asked to hold variant `v`.
    mutating func step(everyDevice v: Int) -> Transition {
        step(assignment: [Int](repeating: v, count: model.serving.deviceCount))
    }
}
