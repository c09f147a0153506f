import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The speed of the discrete-event fidelity on the shipped vision scenario. The figure is
/// printed; run `swift test -c release --filter DiscreteEventBenchmark` for a meaningful one
/// (the target is >= 10 M simulated queries/s per core in release).
@Suite(.serialized) struct DiscreteEventBenchmarkTests {
    @Test func visionScenarioQueriesPerSecond() throws {
        let path = ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml"
        let seconds = ProcessInfo.processInfo.environment["SWITCHGYM_DES_BENCH_SECONDS"].flatMap(Double.init) ?? 0.3
        let r = try DiscreteEventBenchmark.run(
            specPath: path, action: ["efficientnet-b0-amp", "efficientnet-b0-amp", "efficientnet-b4-amp"],
            minSeconds: seconds)
        print("DiscreteEventBenchmark vision-zoo: \(r.queries) queries in \(r.intervals) intervals, \(String(format: "%.3f", r.seconds)) s: \(String(format: "%.2f", r.queriesPerSecond / 1e6)) M queries/s (\(String(format: "%.2f", r.queriesPerCPUSecond / 1e6)) M per CPU second), \(String(format: "%.0f", r.intervalsPerSecond)) intervals/s")
        #expect(r.queries > 0 && r.queriesPerSecond > 0)
    }

    @Test(arguments: [400.0, 1000.0])
    func visionScenarioAtOtherRates(rate: Double) throws {
        let seconds = ProcessInfo.processInfo.environment["SWITCHGYM_DES_BENCH_SECONDS"].flatMap(Double.init) ?? 0.2
        let (sc, arrivals) = try DESFixtures.vision(meanRate: rate)
        let model = try DiscreteEventModel(scenario: sc, arrivals: arrivals)
        let r = DiscreteEventBenchmark.run(model: model, assignment: DESFixtures.action(sc, DESFixtures.visionStatic), minSeconds: seconds)
        print("DiscreteEventBenchmark vision-zoo at \(rate) q/s: \(String(format: "%.2f", r.queriesPerSecond / 1e6)) M queries/s (\(String(format: "%.2f", r.queriesPerCPUSecond / 1e6)) M per CPU second)")
        #expect(r.queries > 0)
    }
}
