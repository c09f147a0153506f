import Testing
import SwitchGymCore
import SwitchGymTestSupport

/// Keeps a deliberate allocation alive so the optimizer cannot remove it.
nonisolated(unsafe) var allocationSink: [Int] = []

@Suite("VectorEnv")
struct VectorEnvTests {
    func obs(_ b: VectorBuffers, _ i: Int) -> [Float] { Array(b.observation(i)) }

    @Test func nextStepAutoreset() throws {
        let v = VectorEnv(count: 2, autoreset: .nextStep) { i in CountdownEnv(length: 3 + i) }
        let b = v.makeBuffers()
        try v.reset(seed: 0, into: b)
        #expect(obs(b, 0) == [1, 0])
        for t in 1...3 { try v.step([0, 1], into: b); #expect(obs(b, 0) == [1, Float(t)]) }
        #expect(b.terminations[0] && b.rewards[0] == 3 && !b.terminations[1])
        // Step 4: sub-env 0 is reset, its action ignored, reward 0 and flags false.
        try v.step([1, 1], into: b)
        #expect(obs(b, 0) == [2, 0] && b.rewards[0] == 0 && !b.terminations[0] && !b.truncations[0])
        #expect(b.terminations[1] && obs(b, 1) == [1, 4])
        try v.step([0, 0], into: b)
        #expect(obs(b, 0) == [2, 1] && b.rewards[0] == 1)
        #expect(obs(b, 1) == [2, 0] && b.rewards[1] == 0)
    }

    @Test func sameStepAutoreset() throws {
        let v = VectorEnv(count: 1, autoreset: .sameStep) { _ in CountdownEnv(length: 3) }
        let b = v.makeBuffers()
        try v.reset(seed: 0, into: b)
        try v.step([0], into: b)
        try v.step([0], into: b)
        #expect(!b.hasFinalObservation[0])
        // Step 3 ends the episode: the returned obs is already the reset obs.
        try v.step([0], into: b)
        #expect(b.terminations[0] && b.rewards[0] == 3)
        #expect(obs(b, 0) == [2, 0])
        #expect(b.hasFinalObservation[0] && Array(b.finalObservation(0)) == [1, 3])
        try v.step([0], into: b)
        #expect(obs(b, 0) == [2, 1] && !b.terminations[0] && !b.hasFinalObservation[0] && b.rewards[0] == 1)
    }

    @Test func disabledAutoreset() throws {
        let v = VectorEnv(count: 2, autoreset: .disabled) { _ in CountdownEnv(length: 2) }
        let b = v.makeBuffers()
        try v.reset(seed: 0, into: b)
        try v.step([0, 0], into: b)
        try v.step([0, 0], into: b)
        #expect(b.terminations[0] && obs(b, 0) == [1, 2])
        try v.step([0, 0], into: b)  // no reset happens
        #expect(obs(b, 0) == [1, 3])
        try v.reset(mask: [true, false], into: b)
        #expect(obs(b, 0) == [2, 0] && obs(b, 1) == [1, 3])
    }

    @Test func errors() throws {
        let v = VectorEnv(count: 2) { _ in CartPole() }
        let b = v.makeBuffers()
        let early = #expect(throws: EnvError.self) { try v.step([0, 0], into: b) }
        #expect(early?.code == .stepBeforeReset)
        try v.reset(seed: 0, into: b)
        #expect((#expect(throws: EnvError.self) { try v.step([0, 2], into: b) })?.code == .invalidAction)
        // Negative choices too (the check compares them as unsigned).
        #expect((#expect(throws: EnvError.self) { try v.step([-1, 0], into: b) })?.code == .invalidAction)
        #expect((#expect(throws: EnvError.self) { try v.step([0, Int.min], into: b) })?.code == .invalidAction)
        #expect((#expect(throws: EnvError.self) { try v.step([0], into: b) })?.code == .invalidArgument)
        let wrong = VectorBuffers(count: 3, observationDimension: 4, actionLayout: .discrete(2))
        #expect(throws: EnvError.self) { try v.step([0, 0], into: wrong) }
        v.close()
        v.close()
        #expect(throws: EnvError.self) { try v.step([0, 0], into: b) }
    }

    @Test func buffersAreWrittenInPlace() throws {
        let v = VectorEnv(count: 4) { _ in TimeLimit(CartPole(), maxEpisodeSteps: 500) }
        let b = v.makeBuffers()
        let base = b.observations.baseAddress
        try v.reset(seed: 1, into: b)
        let before = Array(b.observations)
        try v.step([0, 1, 0, 1], into: b)
        #expect(b.observations.baseAddress == base)
        #expect(Array(b.observations) != before)
        #expect(b.rewards.allSatisfy { $0 == 1 })
        // Sub-env i is seeded with seed + i, like the scalar env.
        var s2 = CartPole()
        let o = try s2.reset(seed: 3).observation
        try v.reset(seed: 1, into: b)
        #expect(Array(b.observation(2)) == o)
    }

    @Test func parallelMatchesSerial() throws {
        let spec = try EnvRegistry.spec("CartPole-v1")
        let serial = spec.makeVector(count: 8), parallel = spec.makeVector(count: 8)
        parallel.setParallelism(3)
        let bs = serial.makeBuffers(), bp = parallel.makeBuffers()
        try serial.reset(seed: 2, into: bs)
        try parallel.reset(seed: 2, into: bp)
        let table = EnvBenchmark.actionTable(for: serial, rows: 300, seed: 1)
        for r in 0..<300 {
            let actions = Array(table[(r * 8)..<((r + 1) * 8)])
            try serial.step(actions, into: bs)
            try parallel.step(actions, into: bp)
            #expect(Array(bs.observations) == Array(bp.observations))
            #expect(Array(bs.terminations) == Array(bp.terminations))
        }
    }

    /// The env benchmarks' `--redraw`: a share of each row's choices drawn anew, the rest
    /// repeating the sub-env's previous row; 1 keeps the table every figure so far was measured on.
    @Test func actionTableRedrawsTheGivenShareOfChoices() throws {
        let v = try EnvRegistry.spec("CartPole-v1").makeVector(count: 16)
        let all = EnvBenchmark.actionTable(for: v, rows: 2_000, seed: 3)
        #expect(EnvBenchmark.actionTable(for: v, rows: 2_000, seed: 3, redraw: 1) == all)
        let sticky = EnvBenchmark.actionTable(for: v, rows: 2_000, seed: 3, redraw: 0.1)
        #expect(sticky.count == all.count && sticky.allSatisfy { (0..<2).contains($0) })
        func changed(_ t: [Int]) -> Double {
            var n = 0
            for i in 16..<t.count where t[i] != t[i - 16] { n += 1 }
            return Double(n) / Double(t.count - 16)
        }
        // A redrawn choice of two values changes with probability 1/2.
        #expect(abs(changed(all) - 0.5) < 0.02, "\(changed(all))")
        #expect(abs(changed(sticky) - 0.05) < 0.01, "\(changed(sticky))")
    }

    @Test func allocationCounterDetectsAllocations() throws {
        try #require(AllocationCounter.isSupported)
        let n = AllocationCounter.count { allocationSink = [Int](repeating: 1, count: 1000) }
        #expect((n ?? 0) >= 1)
        #expect(AllocationCounter.count {} == 0)
    }

    @Test(arguments: EnvRegistry.ids)
    func zeroAllocationsPerVectorStep(id: String) throws {
        try #require(AllocationCounter.isSupported)
        let spec = try EnvRegistry.spec(id)
        for mode in AutoresetMode.allCases {
            let v = spec.makeVector(count: 16, autoreset: mode)
            let b = v.makeBuffers()
            try v.reset(seed: 0, into: b)
            let table = EnvBenchmark.actionTable(for: v, rows: 64, seed: 0)
            let allocations = try EnvBenchmark.allocationsPerStep(v, buffers: b, actions: table, steps: 1_000)
            #expect(allocations == 0, "\(id) \(mode): \(allocations ?? -1) allocations per vector step")
        }
    }

    @Test func genericVectorEnvAlsoAllocationFree() throws {
        try #require(AllocationCounter.isSupported)
        let v = VectorEnv(count: 16, autoreset: .sameStep) { _ in TimeLimit(CartPole(), maxEpisodeSteps: 500) }
        let b = v.makeBuffers()
        try v.reset(seed: 0, into: b)
        let actions = (0..<16).map { $0 % 2 }
        let n = try actions.withUnsafeBufferPointer { a in
            try AllocationCounter.count { for _ in 0..<1_000 { try v.step(a, into: b) } }
        }
        #expect(n == 0)
    }
}
