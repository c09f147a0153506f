import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

enum ScenarioFixtures {
    /// The package root (three levels above this file).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Parses spec text as `spec.toml` in `directory` (default: envs/).
    static func parseSpec(_ text: String, directory: String = packageRoot + "/envs") throws -> ServingScenario {
        try ScenarioSpec.parse(text, file: "spec.toml", baseDirectory: directory)
    }

    /// Expects parsing `text` to fail with a ``ScenarioError`` naming `key` (and `file`, unless
    /// nil: an error inside a base spec names that spec) whose message contains `contains`.
    static func expectSpecError(_ text: String, key: String, contains: String, directory: String = packageRoot + "/envs",
                                file: String? = "spec.toml", sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parseSpec(text, directory: directory)
            Issue.record("expected an error for key \(key)", sourceLocation: sourceLocation)
        } catch let e as ScenarioError {
            if let file { #expect(e.file == file, sourceLocation: sourceLocation) }
            #expect(e.key == key, "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(contains), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// The shipped specs in envs/ whose trace is at hand: a spec on an imported public trace
    /// (`datasets/azure-functions.h5`, made by `Scripts/azure_experiments.sh`) is skipped, with
    /// the reason printed, until it has been imported.
    static var shippedSpecs: [String] {
        let specs = EnvResolver.shippedSpecsByTrace(directory: packageRoot + "/envs")
        for m in specs.missing { print("skipping \(m.spec) in the shipped-spec tests: its dataset \(m.dataset) has not been imported") }
        return specs.ready
    }

    /// Random counts per interval and stream with bursts (deterministic).
    static func randomArrivals(intervals: Int, streams: Int, mean: Double, seed: UInt64) -> ScenarioArrivals {
        var g = SeededGenerator(seed: seed)
        var counts = [Double](repeating: 0, count: intervals * streams)
        for i in counts.indices {
            let burst = g.nextUnit() < 0.1 ? 4.0 : 1.0
            counts[i] = g.nextUnit() < 0.05 ? 0 : mean * burst * (0.3 + 1.4 * g.nextUnit())
        }
        return ScenarioArrivals(intervals: intervals, streams: streams, counts: counts)
    }

    /// A random but valid scenario: 2-4 variants, 1-3 devices of two kinds and sizes, 1-3
    /// streams with deadlines below and above the interval, every penalty kind, loads shorter
    /// and longer than an interval.
    static func randomScenario(seed: UInt64) -> ServingScenario {
        var g = SeededGenerator(seed: seed)
        func u(_ a: Double, _ b: Double) -> Double { a + (b - a) * g.nextUnit() }
        let nv = 2 + Int(g.next() % 3), nd = 1 + Int(g.next() % 3), ns = 1 + Int(g.next() % 3)
        let interval = u(0.5, 3)
        var variants: [ModelVariant] = []
        for v in 0..<nv {
            let l1 = u(2, 30)
            variants.append(ModelVariant(
                name: "v\(v)", accuracy: u(0.6, 0.9), batchSizes: [1, 4, 16], latencyMs: [l1, l1 * u(1.1, 2), l1 * u(2.5, 6)],
                memoryGB: u(1, 30), loadSecondsDisk: u(0, 3 * interval), loadSecondsRAM: u(0, interval),
                costPerSecond: u(0, 2), hardware: v == nv - 1 && nv > 2 ? "cpu" : "gpu"))
        }
        var fleet = (0..<nd).map { d in Device(name: "g\(d)", kind: "gpu", memoryGB: d == 0 ? 40 : u(8, 40)) }
        if nv > 2 { fleet.append(Device(name: "cpu", kind: "cpu", memoryGB: 64)) }
        let penalties: [LatenessPenalty] = [.stepwise(amount: 1), .linear(rate: 0.7), .logarithmic(scale: 1.3), .table([0.5, 0.6, 2])]
        var streams: [SLOStream] = []
        for s in 0..<ns {
            let deadline = s == 1 ? interval * 1000 * u(1, 3) : u(80, 400)
            streams.append(SLOStream(name: "s\(s)", deadlineMs: deadline, share: 1 / Double(ns),
                                     minAccuracy: s == 2 ? 0.7 : 0, penalty: penalties[Int(g.next() % 4)],
                                     weight: u(0.5, 2), dropAfterIntervals: 1 + Int(g.next() % 4), dropPenalty: u(0, 2)))
        }
        // Make the minimum-accuracy stream servable.
        variants[0].accuracy = 0.85
        // Every device can hold variant 0 (GPU) or the CPU variant.
        variants[0].memoryGB = 1
        return ServingScenario(
            name: "random-\(seed)", variants: variants, fleet: fleet, streams: streams, decisionInterval: interval,
            episodeIntervals: 40, loadFrom: g.next() % 2 == 0 ? .disk : .ram,
            weights: ServingRewardWeights(served: u(0.5, 2), accuracy: u(0, 3), cost: u(0, 1), slo: u(0.5, 3)),
            initialVariants: fleet.map { d in variants.firstIndex(where: { d.canHold($0) })! })
    }
}
