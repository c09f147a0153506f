import SwitchGymCore

/// A deterministic env for autoreset tests: episodes last `length` steps; the observation
/// is `[resets so far, steps in the episode]` and the reward is the step number.
struct CountdownEnv: SimpleVectorizableEnv {
    var length = 3
    var isReady = false
    var resets = 0
    var t = 0
    var observationSpace: Box { Box(low: 0, high: 1_000_000, shape: [2]) }
    var actionSpace: Discrete { Discrete(2) }
    var observationDimension: Int { 2 }
    mutating func resetState(seed: UInt64?) { resets += 1; t = 0 }
    func writeObservation(into d: UnsafeMutablePointer<Float>) { d[0] = Float(resets); d[1] = Float(t) }
    mutating func step(discrete action: Int) -> Transition {
        t += 1
        return Transition(reward: Double(t), terminated: t == length, truncated: false)
    }
}

/// Broken: its observations leave the observation space after a few steps.
struct OutOfSpaceEnv: SimpleVectorizableEnv {
    var isReady = false
    var t = 0
    var observationSpace: Box { Box(low: 0, high: 1, shape: [1]) }
    var actionSpace: Discrete { Discrete(2) }
    var observationDimension: Int { 1 }
    mutating func resetState(seed: UInt64?) { t = 0 }
    func writeObservation(into d: UnsafeMutablePointer<Float>) { d[0] = Float(t) }
    mutating func step(discrete action: Int) -> Transition {
        t += 1
        return Transition(reward: 0, terminated: t > 5, truncated: false)
    }
}

/// Broken: ignores the seed and draws from the system generator.
struct UnseededEnv: SimpleVectorizableEnv {
    var isReady = false
    var value: Float = 0
    var observationSpace: Box { Box(low: 0, high: 1, shape: [1]) }
    var actionSpace: Discrete { Discrete(2) }
    var observationDimension: Int { 1 }
    mutating func resetState(seed: UInt64?) { value = Float.random(in: 0..<1) }
    func writeObservation(into d: UnsafeMutablePointer<Float>) { d[0] = value }
    mutating func step(discrete action: Int) -> Transition {
        value = Float.random(in: 0..<1)
        return Transition(reward: 0, terminated: false, truncated: false)
    }
}

/// Broken: lets `step` run before `reset`.
struct NoResetCheckEnv: Env {
    var observationSpace: Box { Box(low: 0, high: 1, shape: [1]) }
    var actionSpace: Discrete { Discrete(2) }
    mutating func reset(seed: UInt64?, options: NoResetOptions?) throws -> ResetResult<[Float], EmptyInfo> {
        ResetResult(observation: [0], info: EmptyInfo())
    }
    mutating func step(_ action: Int) throws -> StepResult<[Float], EmptyInfo> {
        StepResult(observation: [0], reward: 0, terminated: false, truncated: false, info: EmptyInfo())
    }
    mutating func close() {}
}

func isClose(_ a: Double, _ b: Double, tolerance: Double = 1e-9) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(a), abs(b))
}
