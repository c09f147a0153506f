import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// What a switch costs the fluid env with sub-interval queueing, checked against values worked
/// out by hand from the model's inputs (rates, latencies, load times): an LLM variant's device
/// that switches loses the requests it was running (they go back to the queue), loads go through
/// the device's host-RAM cache, and a fixed-cost variant's device loads once its batches end.
@Suite struct FluidSwitchCostTests {
    /// One H100 of the LLM zoo with its chat stream only (a deadline long enough that nothing is
    /// late), a backlog that keeps the device busy through interval 0, nothing after. The 70B
    /// FP8 variant's disk load is made longer than an interval so it serves nothing in interval 1.
    func llmDevice() throws -> ServingModel {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        sc.fleet = [sc.fleet[0]]
        sc.streams = [sc.streams[0]]
        sc.streams[0].share = 1
        sc.streams[0].deadlineMs = 600_000
        sc.streams[0].dropAfterIntervals = 30
        sc.initialVariants = [0]
        sc.episodeIntervals = nil
        sc.targetMeanRate = nil
        let big = sc.variants.firstIndex { $0.name == "llama3-70b-fp8" }!
        sc.variants[big].loadSecondsDisk = 2 * sc.decisionInterval
        let capacity = sc.capacityPerInterval(variant: 0, stream: 0)
        let arrivals = ScenarioArrivals(intervals: 4, streams: 1, counts: [3 * max(capacity, 1000), 0, 0, 0])
        return try ServingModel(scenario: sc, arrivals: arrivals)
    }

    /// Holding the 8B all of interval 0, then switching to the 70B (a disk load longer than the
    /// interval): interval 1 serves nothing and takes back what was still running at the end of
    /// interval 0, the device's rate per second times one batch latency (Little's law: the
    /// device was busy throughout, starting service at a constant rate).
    @Test func aSwitchingLLMDeviceLosesTheRequestsItWasRunning() throws {
        let model = try llmDevice()
        let big = model.scenario.variants.firstIndex { $0.name == "llama3-70b-fp8" }!
        let rate = model.serviceRate(interval: 0, variant: 0, stream: 0)
        let latency = model.serviceLatency[model.rateRow(0)]
        #expect(latency > 0 && latency < model.interval)
        let running = rate / model.interval * latency

        var env = FluidServingEnv(model: model)
        _ = try env.reset(seed: 0)
        let first = try env.step([0]).info
        // Busy throughout: it served its whole capacity, all on time.
        #expect(abs(first.served - rate) <= 1e-9 * rate)
        #expect(abs(first.servedOnTime - rate) <= 1e-9 * rate)
        let switched = try env.step([big]).info
        #expect(switched.switches == 1)
        #expect(abs(switched.served + running) <= 1e-9 * rate, "served \(switched.served), expected \(-running)")
        #expect(abs(switched.servedOnTime + running) <= 1e-9 * rate)
        #expect(abs(switched.accuracyServed + model.accuracy[0] * running) <= 1e-9 * rate)
        #expect(abs(switched.queued - (first.queued + running)) <= 1e-9 * first.queued)
        try env.checkInvariants()

        // Without the switch, nothing is lost: the device keeps serving.
        var stay = FluidServingEnv(model: model)
        _ = try stay.reset(seed: 0)
        _ = try stay.step([0])
        #expect(abs(try stay.step([0]).info.served - rate) <= 1e-9 * rate)
    }

    /// A switch back to a variant the device loaded before reads it from host RAM; the first
    /// load of a variant reads it from disk (the scenario's `load_from` does not matter here).
    /// The part of the interval the load takes shows it.
    @Test func loadsGoThroughTheHostRAMCache() throws {
        let model = try llmDevice()
        let small = model.scenario.variants.firstIndex { $0.name == "llama3-8b-int4" }!
        let I = model.interval
        var env = FluidServingEnv(model: model)
        _ = try env.reset(seed: 0)
        _ = try env.step([small])  // never loaded: from disk
        #expect(abs(env.bins.loadFraction[0] - model.loadSecondsDisk[small] / I) < 1e-12)
        _ = try env.step([0])      // the initial variant: cached from the start
        #expect(abs(env.bins.loadFraction[0] - model.loadSecondsRAM[0] / I) < 1e-12)
        _ = try env.step([small])  // cached by its disk load
        #expect(abs(env.bins.loadFraction[0] - model.loadSecondsRAM[small] / I) < 1e-12)
        #expect(model.loadSecondsRAM[small] < model.loadSecondsDisk[small])
        // A reset empties the cache but for the initial variant.
        _ = try env.reset(seed: 0)
        _ = try env.step([small])
        #expect(abs(env.bins.loadFraction[0] - model.loadSecondsDisk[small] / I) < 1e-12)
    }

    /// A fixed-cost variant's device that served until the interval's end loads only once its
    /// last batch ends (one batch latency after the interval's end); an idle one at once.
    @Test func aFixedCostDeviceDrainsItsBatchesBeforeItsLoad() throws {
        let v = [DESFixtures.variant("a", disk: 0.2, ram: 0.2), DESFixtures.variant("b", disk: 0.2, ram: 0.2)]
        let sc = DESFixtures.scenario(variants: v, devices: 1, interval: 1)
        func loadAfterSwitch(perInterval: Double) throws -> (Double, ServingModel) {
            let model = try ServingModel(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: perInterval, intervals: 4))
            var env = FluidServingEnv(model: model)
            _ = try env.reset(seed: 0)
            _ = try env.step([0])
            _ = try env.step([1])
            return (env.bins.loadFraction[0], model)
        }
        let (busy, model) = try loadAfterSwitch(perInterval: 5000)   // over its 1,600 q/s
        let (idle, _) = try loadAfterSwitch(perInterval: 0)
        let latency = model.serviceLatency[0]
        #expect(latency > 0)
        #expect(abs(idle - 0.2) < 1e-12)
        #expect(abs(busy - (0.2 + latency)) < 1e-9, "load fraction \(busy), expected \(0.2 + latency)")
    }
}
