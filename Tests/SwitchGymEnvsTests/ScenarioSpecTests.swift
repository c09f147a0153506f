import Foundation
import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

@Suite struct ScenarioSpecTests {
    static let vision = ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml"

    func visionText() throws -> String { try String(contentsOfFile: Self.vision, encoding: .utf8) }

    func expectError(_ text: String, key: String, contains: String, sourceLocation: SourceLocation = #_sourceLocation) {
        ScenarioFixtures.expectSpecError(text, key: key, contains: contains, sourceLocation: sourceLocation)
    }

    @Test func shippedSpecsLoadWithSourcedFigures() throws {
        let sc = try ScenarioSpec.load(path: Self.vision)
        #expect(sc.variants.count == 4 && sc.fleet.count == 3 && sc.streams.count == 2)
        #expect(sc.fleet.map(\.name) == ["a100-0", "a100-1", "a100-2"])
        // ResNet-50 FP16 TRT under 50 ms: batch 64 takes 25.24 ms (2 x 25.24 > 50), batch 32 11.19 ms.
        let r50 = sc.variants.firstIndex { $0.name == "resnet50-trt-fp16" }!
        #expect(abs(sc.throughput(variant: r50, stream: 0) - 32_000 / 11.19) < 1e-9)
        // The quality stream needs >= 80% top-1: ResNet-50 may not answer it.
        #expect(sc.throughput(variant: r50, stream: 1) == 0)
        guard case .dataset(let path) = sc.trace else { Issue.record("expected a dataset trace"); return }
        #expect(FileManager.default.fileExists(atPath: path))
        let llm = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        #expect(llm.deadlineIntervals(stream: 1) == 2)
        let big = llm.variants.firstIndex { $0.name == "llama3-70b-fp8" }!
        #expect(llm.throughput(variant: big, stream: 0) == 0)   // 2 x 3.256 s > 5 s
        #expect(abs(llm.throughput(variant: big, stream: 1) - 64 / 20.78) < 1e-9)
    }

    @Test func unknownKeysNameTheKeyPath() throws {
        let text = try visionText()
        expectError("bogus = 1\n" + text, key: "bogus", contains: "unknown key")
        // Appended at the end, TOML puts the key in the last [[streams]] table.
        expectError(text + "\nbogus = 1\n", key: "streams[1].bogus", contains: "unknown key")
        expectError(text.replacingOccurrences(of: "mean_rate = 3000.0", with: "mean_rate = 3000.0\nmean_rat = 1"),
                    key: "trace.mean_rat", contains: "unknown key")
        expectError(text.replacingOccurrences(of: "name = \"efficientnet-b0-amp\"", with: "name = \"efficientnet-b0-amp\"\nlatency = 3"),
                    key: "variants[1].latency", contains: "unknown key")
    }

    @Test func wrongTypesMissingKeysAndBadValuesAreNamed() throws {
        let text = try visionText()
        expectError(text.replacingOccurrences(of: "decision_interval_s = 2.0", with: "decision_interval_s = \"2\""),
                    key: "decision_interval_s", contains: "expected a number")
        expectError(text.replacingOccurrences(of: "decision_interval_s = 2.0", with: ""),
                    key: "decision_interval_s", contains: "missing")
        expectError(text.replacingOccurrences(of: "latency_ms = [2.13, 2.19, 2.76, 3.90, 5.79, 11.19, 25.24]", with: "latency_ms = [2.13, 2.19]"),
                    key: "variants[0] (resnet50-trt-fp16).latency_ms", contains: "one latency per batch size")
        expectError(text.replacingOccurrences(of: "share = 0.3", with: "share = 0.5"),
                    key: "streams.share", contains: "summing to 1")
        expectError(text.replacingOccurrences(of: "penalty = \"linear\"", with: "penalty = \"cubic\""),
                    key: "streams[1].penalty", contains: "expected stepwise")
        expectError(text.replacingOccurrences(of: "initial = \"efficientnet-b0-amp\"", with: "initial = \"alexnet\""),
                    key: "fleet.initial", contains: "unknown variant")
        expectError("name = [", key: "", contains: "not valid TOML at line 1")
    }

    @Test func aMissingSpecOrDatasetIsNamed() throws {
        #expect(throws: ScenarioError.self) { try ScenarioSpec.load(path: "/nonexistent/spec.toml") }
        let text = try visionText().replacingOccurrences(of: "../datasets/default.h5", with: "../datasets/missing.h5")
        let sc = try ScenarioFixtures.parseSpec(text)
        do {
            _ = try sc.loadArrivals()
            Issue.record("expected an error")
        } catch let e as ScenarioError {
            #expect(e.key == "trace.dataset" && e.description.contains("missing.h5"))
        }
    }

    @Test func meanRateScalesAnyTraceToTheTarget() throws {
        let sc = try ScenarioSpec.load(path: Self.vision)
        let a = try sc.loadArrivals()
        let total = a.counts.reduce(0, +)
        let seconds = Double(a.intervals) * sc.decisionInterval
        // The last interval may be partial, so the binned mean is a little below the target.
        #expect(abs(total / seconds - 3000) / 3000 < 0.01)
        #expect(a.streams == 2)
    }

    @Test func envCheckerPassesOnEveryShippedSpecAndItsReduction() throws {
        for path in ScenarioFixtures.shippedSpecs {
            let sc = try ScenarioSpec.load(path: path)
            let model = try ServingModel(scenario: sc, arrivals: try sc.loadArrivals(), randomStart: true)
            _ = try EnvChecker.check(name: "fluid \(sc.name)", { FluidServingEnv(model: model) }, steps: 200)
            let config = ScenarioReduction.configuration(sc, arrivals: model.arrivals, randomStart: true)
            _ = try EnvChecker.check(name: "employment \(sc.name)", { try EmploymentSearch(configuration: config) }, steps: 200)
        }
    }
}
