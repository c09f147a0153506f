import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// ``ServingObserver``: the observation a serving daemon builds from telemetry is the env's.
@Suite struct ServingObserverTests {
    func spec(_ observation: String = "forecast = false") throws -> ServingScenario {
        let text = try String(contentsOfFile: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml", encoding: .utf8)
            .replacingOccurrences(of: "forecast = false", with: observation)
            // Short intervals so that loads span several of them (pending loads in the observation).
            .replacingOccurrences(of: "decision_interval_s = 2.0", with: "decision_interval_s = 0.1")
        return try ScenarioSpec.parse(text, file: "spec.toml", baseDirectory: ScenarioFixtures.packageRoot + "/envs")
    }

    /// Over a whole evaluation series, with random switches (so loads are pending) and heavy
    /// traffic (so backlogs build), the observer fed the env's telemetry through JSON writes the
    /// env's observation bit for bit, with and without a noisy forecast, under the model's own
    /// and a frozen normalisation.
    @Test(arguments: ["forecast = false", "forecast = \"noisy\"\nforecast_noise = 0.3"])
    func telemetryRebuildsTheEnvsObservationExactly(_ forecast: String) throws {
        let sc = try spec(forecast)
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 300, streams: sc.streams.count, mean: 200, seed: 7)
        let own = try ServingEvaluation.model(scenario: sc, arrivals: arrivals)
        let frozen = ObservationNormalization(billScale: own.billScale * 1.7, episodeIntervals: 120)
        for model in [own, try own.normalized(frozen)] {
            var env = FluidServingEnv(model: model)
            env.resetState(seed: 0)
            var observer = ServingObserver(scenario: sc, normalization: model.normalization)
            var g = SeededGenerator(seed: 3)
            var choices = [Int](repeating: 0, count: model.deviceCount)
            let mask = model.scenario.actionMask
            var backlogSeen = false, pendingSeen = false
            for step in 0..<model.intervalCount {
                let wire = try JSONEncoder().encode(env.telemetry())
                let t = try JSONDecoder().decode(ServingTelemetry.self, from: wire)
                #expect(t.interval == step)
                backlogSeen = backlogSeen || t.streams.contains { $0.backlog.contains { $0 > 0 } }
                pendingSeen = pendingSeen || t.devices.contains { $0.pendingS > 0 }
                let rebuilt = try observer.observe(t)
                #expect(rebuilt == env.currentObservation(), "interval \(step)")
                if rebuilt != env.currentObservation() { break }
                for d in 0..<model.deviceCount {
                    let allowed = (0..<model.variantCount).filter { mask[d * model.variantCount + $0] }
                    choices[d] = g.nextUnit() < 0.1 ? allowed[Int(g.next() % UInt64(allowed.count))] : env.variants[d]
                }
                _ = choices.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            }
            #expect(backlogSeen && pendingSeen)
        }
    }

    /// Bad telemetry is refused naming the key, and leaves the history as it was; an interval
    /// that does not follow the last one starts the history afresh.
    @Test func badTelemetryIsNamedAndHistoryRestartsOnAGap() throws {
        let sc = try spec()
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 50, streams: sc.streams.count, mean: 500, seed: 1)
        let model = try ServingEvaluation.model(scenario: sc, arrivals: arrivals)
        var env = FluidServingEnv(model: model)
        env.resetState(seed: 0)
        var observer = ServingObserver(scenario: sc, normalization: model.normalization)
        let good = env.telemetry()
        _ = try observer.observe(good)
        let held = env.variants
        _ = held.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
        let next = env.telemetry()
        func refusal(_ edit: (inout ServingTelemetry) -> Void) -> String? {
            var t = next
            edit(&t)
            var copy = observer
            do { _ = try copy.observe(t); return nil } catch let e as TelemetryError { return e.description } catch { return "\(error)" }
        }
        #expect(refusal { $0.streams.removeLast() }?.hasPrefix("streams: 1 entries") == true)
        #expect(refusal { $0.devices.removeLast() }?.hasPrefix("devices:") == true)
        #expect(refusal { $0.streams[0].arrivals = -1 }?.hasPrefix("streams[0].arrivals") == true)
        #expect(refusal { $0.streams[1].backlog = [1, 2, .nan, 0] }?.hasPrefix("streams[1].backlog") == true)
        #expect(refusal { $0.streams[1].backlog = [1] }?.hasPrefix("streams[1].backlog") == true)
        #expect(refusal { $0.devices[2].variant = "gpt-9" }?.contains("'gpt-9' is not a variant") == true)
        #expect(refusal { $0.devices[0].pendingS = -3 }?.hasPrefix("devices[0].pending_s") == true)
        #expect(refusal { $0.interval = -1 }?.hasPrefix("interval") == true)
        // After the refusals the history is intact: the next good interval is the env's observation.
        #expect(try observer.observe(next) == env.currentObservation())
        #expect(!observer.restarted)
        // A gap: the history restarts (windows empty, elapsed 0).
        var later = next
        later.interval += 5
        let obs = try observer.observe(later)
        #expect(observer.restarted && observer.start == later.interval)
        #expect(obs[model.observationLayout.elapsedOffset] == 0)
        #expect(obs[model.observationLayout.streamOffset(0)] == 0)
        // A scenario whose policies read a forecast needs one.
        let noisy = try spec("forecast = \"noisy\"\nforecast_noise = 0.3")
        var o2 = ServingObserver(scenario: noisy, normalization: model.normalization)
        #expect(throws: TelemetryError.self) { _ = try o2.observe(good) }
    }
}
