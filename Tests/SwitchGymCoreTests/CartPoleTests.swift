import Foundation
import Testing
import SwitchGymCore

@Suite("CartPole")
struct CartPoleTests {
    /// From rest, pushing right: temp = F / M = 100/11, θ̈ = -temp / (l (4/3 - m/M)) = -600/41,
    /// ẍ = temp - m l θ̈ / M = 400/41; Euler with τ = 0.02. Two steps keep θ = 0 (θ moves
    /// only with θ̇ of the previous state), so both use the same accelerations.
    @Test func knownAnswerFromRest() throws {
        var env = CartPole()
        _ = try env.reset(seed: 0)
        try env.setState([0, 0, 0, 0])
        let s1 = try env.step(1)
        #expect(s1.reward == 1 && !s1.terminated && !s1.truncated)
        #expect(s1.observation == [0, Float(8.0 / 41), 0, Float(-12.0 / 41)])
        #expect(isClose(env.state.1, 8.0 / 41) && isClose(env.state.3, -12.0 / 41))

        let s2 = try env.step(1)
        #expect(isClose(env.state.0, 0.02 * 8 / 41))
        #expect(isClose(env.state.1, 16.0 / 41))
        #expect(isClose(env.state.2, -0.02 * 12 / 41))
        #expect(isClose(env.state.3, -24.0 / 41))
        #expect(s2.observation == [Float(0.16 / 41), Float(16.0 / 41), Float(-0.24 / 41), Float(-24.0 / 41)])

        // Third step, pushing left, by the equations written out.
        let (x, xd, th, thd) = (0.16 / 41, 16.0 / 41, -0.24 / 41, -24.0 / 41)
        let force = -10.0, mp = 0.1, mt = 1.1, l = 0.5, g = 9.8, tau = 0.02
        let sinT: Double = sin(th), cosT: Double = cos(th)
        let temp: Double = (force + mp * l * thd * thd * sinT) / mt
        let denominator: Double = l * (4.0 / 3.0 - mp * cosT * cosT / mt)
        let thacc: Double = (g * sinT - cosT * temp) / denominator
        let xacc: Double = temp - mp * l * thacc * cosT / mt
        let s3 = try env.step(0)
        #expect(isClose(env.state.0, x + tau * xd))
        #expect(isClose(env.state.1, xd + tau * xacc))
        #expect(isClose(env.state.2, th + tau * thd))
        #expect(isClose(env.state.3, thd + tau * thacc))
        #expect(s3.observation == [Float(x + tau * xd), Float(xd + tau * xacc), Float(th + tau * thd), Float(thd + tau * thacc)])
    }

    @Test func terminatesAtPositionThreshold() throws {
        var env = CartPole()
        _ = try env.reset(seed: 0)
        try env.setState([2.39, 1.0, 0, 0])
        let s = try env.step(1)  // x = 2.39 + 0.02 > 2.4
        #expect(s.terminated && s.reward == 1)
        let after = try env.step(1)
        #expect(after.terminated && after.reward == 0)
    }

    @Test func terminatesAtAngleThreshold() throws {
        var env = CartPole()
        _ = try env.reset(seed: 0)
        let threshold = 12 * 2 * Double.pi / 360
        try env.setState([0, 0, threshold - 0.001, 0.1])  // θ += 0.002
        #expect(try env.step(0).terminated)
        _ = try env.reset(seed: 0)
        try env.setState([0, 0, -threshold + 0.01, 0])
        #expect(try !env.step(0).terminated)
    }

    @Test func resetIsUniformSmallAndSeeded() throws {
        var a = CartPole(), b = CartPole()
        let oa = try a.reset(seed: 5).observation
        #expect(oa == (try b.reset(seed: 5).observation))
        #expect(oa.allSatisfy { abs($0) < 0.05 })
        #expect(oa != (try a.reset(seed: 6).observation))
    }

    @Test func registeredCartPoleTruncatesAt500() throws {
        func run<E: VectorizableEnv>(_ env: E) throws -> Int {
            var env = env
            var obs = try env.reset(seed: 0).observation
            try env.setState([0.01, 0, 0.02, 0])
            obs = env.currentObservation()
            for t in 1...600 {
                let a = obs[2] + 0.5 * obs[3] + 0.01 * obs[0] + 0.1 * obs[1] > 0 ? 1 : 0
                let s = try env.step([a].withUnsafeBufferPointer { env.actionSpace.element(choices: $0) })
                obs = s.observation
                #expect(!s.terminated)
                if s.truncated { return t }
            }
            return -1
        }
        #expect(try run(EnvRegistry.spec("CartPole-v1").make()) == 500)
    }

    @Test func stepBeforeResetThrows() {
        var env = TimeLimit(CartPole(), maxEpisodeSteps: 500)
        let e = #expect(throws: EnvError.self) { try env.step(0) }
        #expect(e?.code == .stepBeforeReset)
        var closed = CartPole()
        _ = try? closed.reset(seed: 1)
        closed.close()
        closed.close()
        #expect(throws: EnvError.self) { try closed.step(0) }
        #expect(throws: EnvError.self) { _ = try { var c = CartPole(); _ = try c.reset(); return try c.step(2) }() }
    }
}
