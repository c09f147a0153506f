import Foundation
import SwitchGymCore
@testable import SwitchGymEnvs

/// Small hand-built scenarios for the discrete-event tests.
enum DESFixtures {
    /// A variant with batch sizes 1, 8, 32 at 5, 10, 20 ms: 1,600 queries/s under a 100 ms SLO.
    static func variant(_ name: String, accuracy: Double = 0.8, latencyMs: [Double] = [5, 10, 20],
                        disk: Double = 0.5, ram: Double = 0.1, memoryGB: Double = 2) -> ModelVariant {
        ModelVariant(name: name, accuracy: accuracy, batchSizes: [1, 8, 32], latencyMs: latencyMs, memoryGB: memoryGB,
                     loadSecondsDisk: disk, loadSecondsRAM: ram, costPerSecond: 1)
    }

    static func stream(_ name: String = "s", deadlineMs: Double = 100, share: Double = 1, minAccuracy: Double = 0,
                       dropAfter: Int = 2) -> SLOStream {
        SLOStream(name: name, deadlineMs: deadlineMs, share: share, minAccuracy: minAccuracy,
                  penalty: .stepwise(amount: 1), weight: 1, dropAfterIntervals: dropAfter, dropPenalty: 1)
    }

    static func scenario(variants: [ModelVariant], devices: Int = 1, streams: [SLOStream] = [stream()],
                         interval: Double = 1, hostRAMGB: Double = 8, concurrency: Int = 1,
                         initial: [Int]? = nil, episode: Int? = nil) -> ServingScenario {
        let fleet = (0..<devices).map { Device(name: "g\($0)", memoryGB: 40, hostRAMGB: hostRAMGB, concurrency: concurrency) }
        return ServingScenario(name: "des-test", variants: variants, fleet: fleet, streams: streams,
                               decisionInterval: interval, episodeIntervals: episode,
                               weights: ServingRewardWeights(served: 1, accuracy: 1, cost: 0, slo: 1),
                               initialVariants: initial ?? [Int](repeating: 0, count: devices))
    }

    /// `perInterval` queries per interval (split by the streams' shares) for `intervals` intervals:
    /// no arrival times, so the DES replays them as a Poisson process per interval.
    static func constant(_ sc: ServingScenario, perInterval: Double, intervals: Int) -> ScenarioArrivals {
        var counts: [Double] = []
        for _ in 0..<intervals { for s in sc.streams { counts.append(perInterval * s.share) } }
        return ScenarioArrivals(intervals: intervals, streams: sc.streams.count, counts: counts)
    }

    /// The shipped vision scenario at `meanRate` queries/s over its own trace.
    static func vision(meanRate: Double? = nil, episode: Int? = nil) throws -> (ServingScenario, ScenarioArrivals) {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml")
        if let meanRate { sc.targetMeanRate = meanRate }
        if let episode { sc.episodeIntervals = episode }
        return (sc, try sc.loadArrivals())
    }

    /// The joint action holding the named variants.
    static func action(_ sc: ServingScenario, _ names: [String]) -> [Int] {
        (names.map { n in sc.variants.firstIndex { $0.name == n }! })
    }

    /// The static policy of the fidelity checks on the vision zoo: two EfficientNet-B0 for the
    /// 50 ms stream, one EfficientNet-B4 (AMP) for the 200 ms, >= 80% stream.
    static let visionStatic = ["efficientnet-b0-amp", "efficientnet-b0-amp", "efficientnet-b4-amp"]
}
