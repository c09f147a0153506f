import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Both fidelities run a batch of a profiled size for its profiled latency, also where a
/// profile is not monotone (EfficientNet-B0 AMP on an A100, vision-zoo.toml: 13.03 ms at 32,
/// 12.71 ms at 64). The fluid step's capacity is the profile's best `b / L(b)`
/// (``ModelVariant/throughput(deadlineMs:)``); the discrete-event fidelity used to run the
/// 64-batch for 13.03 ms (the interpolation's floor at the smaller size), 2.4% below that
/// capacity, which near saturation decided whether a backlog drained (README, "Each query due
/// after its own arrival").
@Suite struct ProfiledLatencyTests {
    static let b0 = ModelVariant(name: "b0", accuracy: 0.8, batchSizes: [1, 2, 4, 8, 16, 32, 64],
                                 latencyMs: [11.21, 11.01, 11.45, 11.78, 11.89, 13.03, 12.71], memoryGB: 2,
                                 loadSecondsDisk: 0.5, loadSecondsRAM: 0.1, costPerSecond: 1)

    @Test func aProfiledSizeTakesItsProfiledLatencyAndSizesBetweenNoLessThanTheSmaller() {
        let v = Self.b0
        for (b, l) in zip(v.batchSizes, v.latencyMs) { #expect(v.latency(batch: b) == l, "batch \(b)") }
        #expect(v.latency(batch: 48) == 13.03)
        #expect(v.latency(batch: 24) > 11.89 && v.latency(batch: 24) < 13.03)
        #expect(v.latency(batch: 1) == 11.21)
    }

    /// Three devices, 20% over capacity: the discrete-event fidelity serves the fluid step's
    /// capacity (472 batches of 64 per 2 s interval), within one batch per device.
    @Test func aSaturatedFleetServesTheProfilesCapacityInBothFidelities() throws {
        let sc = DESFixtures.scenario(variants: [Self.b0], devices: 3, streams: [DESFixtures.stream(deadlineMs: 50, dropAfter: 3)],
                                      interval: 2)
        let capacity = 3 * sc.capacityPerInterval(variant: 0, stream: 0)
        #expect(abs(capacity - 3 * 2 * 64 / 0.01271) < 1e-6)
        let arrivals = DESFixtures.constant(sc, perInterval: 1.2 * capacity, intervals: 4)
        var des = DiscreteEventServingEnv(model: try DiscreteEventModel(scenario: sc, arrivals: arrivals))
        des.resetState(seed: 0)
        _ = des.step(assignment: [0, 0, 0])
        for _ in 0..<3 {
            _ = des.step(assignment: [0, 0, 0])
            #expect(abs(Double(des.last.served) - capacity) <= 3 * 64, "served \(des.last.served), capacity \(capacity)")
        }
        var fluid = FluidServingEnv(model: try ServingModel(scenario: sc, arrivals: arrivals))
        fluid.resetState(seed: 0)
        #expect(abs(try fluid.step([0, 0, 0]).info.served - capacity) <= 1e-9 * capacity)
    }
}
