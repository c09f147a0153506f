import Foundation
import Testing
import SwitchGymCore

@Suite("Wrappers")
struct WrapperTests {
    @Test func timeLimitTruncatesAtN() throws {
        var env = TimeLimit(SwitchCost(), maxEpisodeSteps: 5)
        _ = try env.reset(seed: 0)
        for t in 1...5 {
            let s = try env.step(0)
            #expect(s.truncated == (t == 5))
        }
        _ = try env.reset()
        #expect(env.elapsedSteps == 0)
        #expect(try !env.step(0).truncated)
    }

    @Test func runningMeanStdMatchesNaive() {
        var rms = RunningMeanStd(dimension: 2, initialCount: 0)
        let xs: [[Float]] = [[1, 10], [2, 20], [4, 40], [7, 70]]
        for x in xs { rms.update(x) }
        let mean0 = xs.map { Double($0[0]) }.reduce(0, +) / 4
        let var0 = xs.map { (Double($0[0]) - mean0) * (Double($0[0]) - mean0) }.reduce(0, +) / 4
        #expect(isClose(rms.mean[0], mean0) && isClose(rms.variance[0], var0))
        #expect(isClose(rms.variance[1], var0 * 100))
        var batch = RunningMeanStd(dimension: 2, initialCount: 0)
        batch.update(batchMean: [1.5, 15], batchVariance: [0.25, 25], batchCount: 2)
        batch.update(batchMean: [5.5, 55], batchVariance: [2.25, 225], batchCount: 2)
        #expect(isClose(batch.mean[0], rms.mean[0]) && isClose(batch.variance[0], rms.variance[0]))
    }

    @Test func normalizeObservationFreezeAndRoundTrip() throws {
        var env = NormalizeObservation(CartPole())
        _ = try env.reset(seed: 1)
        for k in 0..<20 { _ = try env.step(k % 2) }
        let stats = env.statistics
        #expect(stats.count > 20)
        env.isUpdating = false
        _ = try env.step(0)
        #expect(env.statistics == stats)

        // Export as JSON (as a checkpoint would), import into a fresh wrapper: same outputs.
        let data = try JSONEncoder().encode(stats)
        var restored = NormalizeObservation(CartPole())
        restored.statistics = try JSONDecoder().decode(RunningMeanStd.self, from: data)
        restored.isUpdating = false
        var original = env
        #expect(try original.reset(seed: 9).observation == (try restored.reset(seed: 9).observation))
        #expect(try original.step(1).observation == (try restored.step(1).observation))
    }

    @Test func normalizeObservationCentres() throws {
        var env = NormalizeObservation(SwitchCost())
        _ = try env.reset(seed: 0)
        var sum = [Double](repeating: 0, count: 4)
        for k in 0..<2000 {
            let o = try env.step(k % 7 == 0 ? 1 : 0).observation
            for i in 0..<4 { sum[i] += Double(o[i]) }
        }
        #expect(sum.allSatisfy { abs($0 / 2000) < 0.2 })
    }

    @Test func rewardWrappers() throws {
        var scaled = ScaleReward(TimeLimit(CartPole(), maxEpisodeSteps: 500), scale: 0.5)
        _ = try scaled.reset(seed: 0)
        #expect(try scaled.step(0).reward == 0.5)
        var normalized = NormalizeReward(SwitchCost())
        _ = try normalized.reset(seed: 0)
        for _ in 0..<100 { _ = try normalized.step(0) }
        #expect(normalized.statistics.variance[0] > 0 && normalized.discountedReturn > 0)
    }

    @Test func recordEpisodeStatistics() throws {
        var env = RecordEpisodeStatistics(TimeLimit(CartPole(), maxEpisodeSteps: 500))
        _ = try env.reset(seed: 3)
        var steps = 0
        while true {
            let s = try env.step(1)
            steps += 1
            if s.terminated || s.truncated {
                #expect(s.info.episode == EpisodeStatistics(episodeReturn: Double(steps), length: steps))
                break
            }
            #expect(s.info.episode == nil)
        }
        _ = try env.reset()
        #expect(env.episodeLength == 0 && env.episodeReturn == 0)
    }
}
