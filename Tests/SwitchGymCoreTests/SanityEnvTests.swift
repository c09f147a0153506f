import Testing
import SwitchGymCore

/// Each sanity env separates the right behaviour from a random one.
@Suite("Sanity envs")
struct SanityEnvTests {
    func meanReturn<E: Env>(_ env: E, episodes: Int, policy: (E.Observation, inout SeededGenerator) -> E.Action) throws -> Double {
        var env = env
        var g = SeededGenerator(seed: 99)
        var total = 0.0
        var obs = try env.reset(seed: 1).observation
        var done = 0
        while done < episodes {
            let s = try env.step(policy(obs, &g))
            total += s.reward
            obs = s.observation
            if s.terminated || s.truncated {
                done += 1
                obs = try env.reset().observation
            }
        }
        return total / Double(episodes)
    }

    @Test func banditBestArmPaysMost() throws {
        let best = try meanReturn(Bandit(), episodes: 2000) { _, _ in 2 }
        let random = try meanReturn(Bandit(), episodes: 2000) { _, g in Int.random(in: 0..<4, using: &g) }
        #expect(best > 0.85 && random < 0.45)
    }

    @Test func delayedRewardPaysOnlyForTheCue() throws {
        let cued = try meanReturn(DelayedReward(), episodes: 500) { o, _ in o[1] == 1 ? 1 : 0 }
        let constant = try meanReturn(DelayedReward(), episodes: 500) { _, _ in 0 }
        #expect(cued == 1 && constant < 0.6)
        var env = DelayedReward()
        _ = try env.reset(seed: 0)
        let rewards = try (0..<4).map { _ in try env.step(0).reward }
        #expect(rewards[0..<3].allSatisfy { $0 == 0 })
    }

    @Test func switchCostRewardsFollowingTheBetterOption() throws {
        let env = TimeLimit(SwitchCost(), maxEpisodeSteps: 200)
        let follow = try meanReturn(env, episodes: 50) { o, _ in o[3] == 1 ? 1 : 0 }
        let stay = try meanReturn(env, episodes: 50) { o, _ in o[1] == 1 ? 1 : 0 }
        let random = try meanReturn(env, episodes: 50) { _, g in Int.random(in: 0..<2, using: &g) }
        #expect(follow > stay && stay > random)
    }
}
