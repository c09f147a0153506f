import Testing
import SwitchGymCore
@testable import SwitchGymAgents

/// An independent forward simulator of the switching model, written from the spec with a
/// "remaining delay" counter rather than the oracle's whole/fraction split.
private func simulate(rewards: [Double], T: Int, C: Int, model: SwitchingModel,
                      decisions: [Int], initial: Int?) -> Double {
    var current = initial ?? decisions[0]
    var target = current
    var remaining = 0.0
    var pending = false
    var total = 0.0
    for t in 0..<T {
        if !pending, decisions[t] != current {
            target = decisions[t]
            total -= model.cost(from: current, to: target)
            remaining = model.delay(from: current, to: target)
            pending = true
        }
        guard pending else { total += rewards[t * C + current]; continue }
        let p = min(1, remaining)
        let pendingRate: Double
        switch model.pending {
        case .nothing: pendingRate = 0
        case .perInterval(let v): pendingRate = v[t]
        case .previousConfiguration: pendingRate = rewards[t * C + current]
        }
        total += p * pendingRate + (1 - p) * rewards[t * C + target]
        remaining -= 1
        if remaining <= 0 { pending = false; current = target }
    }
    return total
}

/// Every decision sequence in C^T.
private func allSequences(T: Int, C: Int) -> [[Int]] {
    var result: [[Int]] = [[]]
    for _ in 0..<T { result = result.flatMap { s in (0..<C).map { s + [$0] } } }
    return result
}

@Suite struct BaselineHindsightOracleTests {
    @Test func handExample() {
        // c0 pays early, c1 pays late; switching to c1 takes one interval and costs 0.5.
        let rewards: [Double] = [1, 0,  1, 0,  0, 5,  0, 5]
        var model = SwitchingModel(configurationCount: 2, uniformDelay: 1, uniformCost: 0.5)
        var oracle = HindsightOracle(rewards: rewards, intervalCount: 4, configurationCount: 2, switching: model)
        var plan = oracle.solve(initialConfiguration: 0)
        // Switch at t = 1: 1 + (pending 0 - 0.5) + 5 + 5 = 10.5.
        #expect(plan.totalReward == 10.5)
        #expect(plan.configurations == [0, 1, 1, 1] && plan.switchIntervals == [1])
        #expect(plan.intervalRewards == [1, -0.5, 5, 5])
        // If c0 keeps serving while c1 loads, switching at t = 1 earns 1 + (1 - 0.5) + 10.
        model = SwitchingModel(configurationCount: 2, uniformDelay: 1, uniformCost: 0.5, pending: .previousConfiguration)
        oracle = HindsightOracle(rewards: rewards, intervalCount: 4, configurationCount: 2, switching: model)
        plan = oracle.solve(initialConfiguration: 0)
        #expect(plan.totalReward == 11.5 && plan.switchIntervals == [1])
        // A free start in c1 earns 10; starting in c0 and switching at t = 1 still earns 10.5.
        let free = HindsightOracle(rewards: rewards, intervalCount: 4, configurationCount: 2,
                                   switching: SwitchingModel(configurationCount: 2, uniformDelay: 1, uniformCost: 0.5)).solve()
        #expect(free.totalReward == 10.5 && free.configurations == [0, 1, 1, 1])
    }

    @Test func fractionalDelayEarnsTheRemainingFraction() {
        // d = 0.25: interval 0 earns 0.75 * 4 (nothing while pending), minus cost 1.
        let model = SwitchingModel(configurationCount: 2, delay: [0, 0.25, 0.25, 0], cost: [0, 1, 1, 0])
        let oracle = HindsightOracle(rewards: [0, 4, 0, 4], intervalCount: 2, configurationCount: 2, switching: model)
        let plan = oracle.solve(initialConfiguration: 0)
        let expected: Double = 0.75 * 4 - 1 + 4
        #expect(plan.totalReward == expected)
        #expect(plan.switchIntervals == [0] && plan.configurations == [1, 1])
    }

    @Test func matchesBruteForceOnRandomTinyInstances() {
        var g = SeededGenerator(seed: 2024)
        let delayChoices = [0, 0.3, 0.5, 1, 1.5, 2, 2.7]
        var checked = 0
        for trial in 0..<120 {
            let T = 1 + Int(g.next() % 6), C = 1 + Int(g.next() % 3)
            let rewards = (0..<(T * C)).map { _ in -1 + 4 * g.nextUnit() }
            let delay = (0..<(C * C)).map { _ in delayChoices[Int(g.next() % UInt64(delayChoices.count))] }
            let cost = (0..<(C * C)).map { _ in 1.5 * g.nextUnit() }
            let pending: SwitchingModel.PendingEarnings
            switch trial % 3 {
            case 0: pending = .nothing
            case 1: pending = .perInterval((0..<T).map { _ in -1 + 1.5 * g.nextUnit() })
            default: pending = .previousConfiguration
            }
            let model = SwitchingModel(configurationCount: C, delay: delay, cost: cost, pending: pending)
            let oracle = HindsightOracle(rewards: rewards, intervalCount: T, configurationCount: C, switching: model)
            let initial: Int? = trial % 4 == 0 ? nil : Int(g.next() % UInt64(C))
            let sequences = allSequences(T: T, C: C)
            // A free start may begin in any configuration (and may still switch at t = 0).
            let starts = initial.map { [$0] } ?? Array(0..<C)
            let best = starts.flatMap { c0 in
                sequences.map { simulate(rewards: rewards, T: T, C: C, model: model, decisions: $0, initial: c0) }
            }.max()!
            let plan = oracle.solve(initialConfiguration: initial)
            #expect(abs(plan.totalReward - best) < 1e-9, "trial \(trial): oracle \(plan.totalReward) brute force \(best)")
            // The plan is feasible and earns what it claims under the independent simulator.
            #expect(initial == nil || plan.initialConfiguration == initial)
            let replay = simulate(rewards: rewards, T: T, C: C, model: model, decisions: plan.configurations,
                                  initial: plan.initialConfiguration)
            #expect(abs(replay - plan.totalReward) < 1e-9, "trial \(trial): replay \(replay)")
            // evaluate() agrees with the independent simulator on arbitrary sequences.
            for s in sequences.prefix(50) {
                let e = oracle.evaluate(decisions: s, initialConfiguration: initial).totalReward
                #expect(abs(e - simulate(rewards: rewards, T: T, C: C, model: model, decisions: s, initial: initial)) < 1e-12)
            }
            checked += 1
        }
        #expect(checked == 120)
    }

    @Test func neverSwitchesWhenSwitchingCostIsHuge() {
        var g = SeededGenerator(seed: 77)
        let T = 200, C = 5
        let rewards = (0..<(T * C)).map { _ in 10 * g.nextUnit() }
        let model = SwitchingModel(configurationCount: C, uniformDelay: 0, uniformCost: 1e9)
        let oracle = HindsightOracle(rewards: rewards, intervalCount: T, configurationCount: C, switching: model)
        let plan = oracle.solve(initialConfiguration: 3)
        #expect(plan.switchIntervals.isEmpty && plan.configurations.allSatisfy { $0 == 3 })
        let column3 = (0..<T).map { rewards[$0 * C + 3] }.reduce(0, +)
        #expect(abs(plan.totalReward - column3) < 1e-9)
        // A free start holds the best column throughout.
        let free = oracle.solve()
        let sums = (0..<C).map { c in (0..<T).map { rewards[$0 * C + c] }.reduce(0, +) }
        #expect(free.switchIntervals.isEmpty && abs(free.totalReward - sums.max()!) < 1e-9)
    }

    @Test func freeAndZeroDelaySwitchingFollowsThePerIntervalMaximum() {
        var g = SeededGenerator(seed: 8)
        let T = 300, C = 4
        let rewards = (0..<(T * C)).map { _ in g.nextUnit() }
        let oracle = HindsightOracle(rewards: rewards, intervalCount: T, configurationCount: C,
                                     switching: SwitchingModel(configurationCount: C, uniformDelay: 0, uniformCost: 0))
        let plan = oracle.solve(initialConfiguration: 0)
        let bound = (0..<T).map { t in (0..<C).map { rewards[t * C + $0] }.max()! }.reduce(0, +)
        #expect(abs(plan.totalReward - bound) < 1e-9)
    }

    @Test func targetOnlyDelaysBuildTheMatrix() {
        let m = SwitchingModel(delayToTarget: [0.5, 2, 3], costToTarget: [1, 2, 3])
        #expect(m.delay(from: 0, to: 2) == 3 && m.delay(from: 1, to: 0) == 0.5 && m.delay(from: 2, to: 2) == 0)
        #expect(m.cost(from: 2, to: 1) == 2 && m.cost(from: 1, to: 1) == 0)
        #expect(SwitchingModel.span(delay: 0) == 1 && SwitchingModel.span(delay: 0.5) == 1)
        #expect(SwitchingModel.span(delay: 2) == 2 && SwitchingModel.span(delay: 2.1) == 3)
    }

    @Test func scalesToLongTraces() {
        var g = SeededGenerator(seed: 1)
        let T = 20_000, C = 12
        let rewards = (0..<(T * C)).map { _ in g.nextUnit() }
        let model = SwitchingModel(delayToTarget: (0..<C).map { Double($0 % 4) * 0.75 },
                                   costToTarget: Array(repeating: 0.3, count: C), pending: .previousConfiguration)
        let plan = HindsightOracle(rewards: rewards, intervalCount: T, configurationCount: C, switching: model)
            .solve(initialConfiguration: 0)
        #expect(plan.configurations.count == T && plan.totalReward > 0.5 * Double(T))
    }
}
