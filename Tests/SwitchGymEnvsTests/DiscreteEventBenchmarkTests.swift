import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The speed of the discrete-event fidelity on the shipped vision scenario. The figure is
/// printed; run `swift test -c release --filter DiscreteEventBenchmark` for a meaningful one
/// (the target is >= 10 M simulated queries/s per core in release).
@Suite struct DiscreteEventBenchmarkTests {
    @Test func visionScenarioQueriesPerSecond() throws {
        let path = ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml"
        let seconds = ProcessInfo.processInfo.environment["SWITCHGYM_DES_BENCH_SECONDS"].flatMap(Double.init) ?? 0.3
        let r = try DiscreteEventBenchmark.run(
            specPath: path, action: ["efficientnet-b0-amp", "efficientnet-b0-amp", "efficientnet-b4-amp"],
            minSeconds: seconds)
        print("DiscreteEventBenchmark vision-zoo: \(r.queries) queries in \(r.intervals) intervals, \(String(format: "%.3f", r.seconds)) s: \(String(format: "%.2f", r.queriesPerSecond / 1e6)) M queries/s, \(String(format: "%.0f", r.intervalsPerSecond)) intervals/s")
        #expect(r.queries > 0 && r.queriesPerSecond > 0)
    }
}
