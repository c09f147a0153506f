import Foundation
import Testing
import SwitchGymCore
import SwitchGymData
import SwitchGymTestSupport
@testable import SwitchGymEnvs

/// `extends = "base.toml"` and the shipped spec built on it, envs/vision-functions.toml.
@Suite struct ScenarioExtendsTests {
    static let envs = ScenarioFixtures.packageRoot + "/envs"

    func parse(_ text: String) throws -> ServingScenario { try ScenarioFixtures.parseSpec(text) }

    @Test func visionFunctionsIsVisionZooWithStreamsByTriggerAtSevenThousandQueries() throws {
        let base = try ScenarioSpec.load(path: Self.envs + "/vision-zoo.toml")
        let sc = try ScenarioSpec.load(path: Self.envs + "/vision-functions.toml")
        #expect(sc.name == "vision-functions")
        #expect(sc.variants == base.variants && sc.fleet == base.fleet && sc.weights == base.weights)
        #expect(sc.decisionInterval == base.decisionInterval && sc.loadFrom == base.loadFrom)
        #expect(sc.targetMeanRate == 7000)
        guard case .dataset(let d) = sc.trace else { Issue.record("expected a dataset"); return }
        #expect(d.hasSuffix("envs/../datasets/azure-functions.h5"))
        #expect(sc.streams.map(\.name) == ["interactive", "background"])
        #expect(sc.streams[0].select == StreamSelector(kinds: ["http", "event"]))
        #expect(sc.streams[1].select?.isRest == true && sc.streams[1].minAccuracy == 0.8)
        #expect(sc.streams.map(\.deadlineMs) == base.streams.map(\.deadlineMs))
    }

    @Test func llmCodeIsLLMZooWithLongPromptsAsTheBatchStreamLoadedFromRAM() throws {
        let base = try ScenarioSpec.load(path: Self.envs + "/llm-zoo.toml")
        let sc = try ScenarioSpec.load(path: Self.envs + "/llm-code.toml")
        #expect(sc.name == "llm-code" && sc.loadFrom == .ram && base.loadFrom == .disk)
        #expect(sc.variants == base.variants && sc.fleet == base.fleet && sc.weights == base.weights)
        #expect(sc.targetMeanRate == 20 && sc.decisionInterval == 30)
        #expect(sc.streams.map(\.name) == ["chat", "batch"])
        #expect(sc.streams[0].select?.isRest == true)
        #expect(sc.streams[1].select == StreamSelector(minTokensIn: 2400) && sc.streams[1].minAccuracy == 0.8)
        // 70B FP8 reloads from host RAM in 3.18 s rather than 20.7 s from disk.
        let big = sc.variants.firstIndex { $0.name == "llama3-70b-fp8" }!
        #expect(sc.loadSeconds(variant: big) == 3.18 && base.loadSeconds(variant: big) == 20.7)
        // Training episodes scale their load (envs/llm-code.toml explains why); llm-zoo's do not.
        #expect(sc.trainingLoadScale == LoadAugmentation(low: 0.8, high: 1.25) && base.trainingLoadScale == nil)
        // Prompt sizes route requests: 2,399 tokens is chat, 2,400 batch.
        let trace = Trace(arrivals: [0, 1_000_000, 2_000_000], streamIDs: [0, 0, 0], tokensIn: [2_399, 2_400, 100_000],
                          streams: [TraceStream(name: "code")], duration: 30_000_000,
                          metadata: TraceMetadata(sourceFile: "test", sourceFormat: "synthetic:test"))
        #expect(try sc.streamOfEachRequest(trace) == [0, 1, 1])
    }

    @Test func tablesMergeKeyByKeyAndArraysOfTablesReplaceTheBases() throws {
        let sc = try parse("""
            extends = "vision-zoo.toml"
            name = "child"
            [trace]
            synthetic = "default"
            [reward]
            accuracy = 0.5
            [[streams]]
            name = "only"
            deadline_ms = 80.0
            """)
        let base = try ScenarioSpec.load(path: Self.envs + "/vision-zoo.toml")
        #expect(sc.name == "child" && sc.summary == base.summary)
        // synthetic replaces the base's dataset instead of clashing with it; mean_rate stays.
        #expect(sc.trace == .defaultSynthetic && sc.targetMeanRate == 3000)
        #expect(sc.weights == ServingRewardWeights(served: 1, accuracy: 0.5, cost: 0, slo: 2))
        #expect(sc.streams.count == 1 && sc.streams[0].deadlineMs == 80 && sc.streams[0].share == 1)
        // rate_scale replaces the base's mean_rate.
        let scaled = try parse("extends = \"vision-zoo.toml\"\n[trace]\nrate_scale = 2.0\n")
        #expect(scaled.targetMeanRate == nil && scaled.rateScale == 2)
        // A key the base does not know is still an unknown key, named as the child spells it.
        do {
            _ = try parse("extends = \"vision-zoo.toml\"\n[reward]\nacuracy = 1.0\n")
            Issue.record("expected an error")
        } catch let e as ScenarioError {
            #expect(e.key == "reward.acuracy" && e.description.contains("unknown key"), "\(e)")
        }
    }

    @Test func aMissingBaseOrACycleIsANamedError() throws {
        func expectExtendsError(_ text: String, directory: String = Self.envs, _ contains: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
            ScenarioFixtures.expectSpecError(text, key: "extends", contains: contains, directory: directory, file: nil,
                                             sourceLocation: sourceLocation)
        }
        expectExtendsError("extends = \"nope.toml\"\n", "cannot read the base spec")
        expectExtendsError("extends = 3\n", "expected a spec path")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sg-extends-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "extends = \"b.toml\"\n".write(toFile: dir + "/a.toml", atomically: true, encoding: .utf8)
        try "extends = \"a.toml\"\n".write(toFile: dir + "/b.toml", atomically: true, encoding: .utf8)
        expectExtendsError("extends = \"a.toml\"\n", directory: dir, "more than 8 levels")
    }

    /// A trace shaped like the Functions sample: event and http functions, and queue and timer
    /// ones whose share swings between intervals.
    static func functionsLikeTrace(intervals: Int, perInterval: Int, seed: UInt64) -> Trace {
        var g = SeededGenerator(seed: seed)
        var times: [Int64] = [], ids: [UInt32] = []
        for t in 0..<intervals {
            let background = 0.15 + 0.4 * g.nextUnit()
            for k in 0..<perInterval {
                let isBackground = g.nextUnit() < background
                times.append(Int64(t) * 2_000_000 + Int64(k) * Int64(2_000_000 / perInterval))
                ids.append(isBackground ? UInt32(2 + g.next() % 2) : UInt32(g.next() % 2))
            }
        }
        let kinds = ["event", "http", "queue", "timer"]
        return Trace(arrivals: times, streamIDs: ids, streams: kinds.map { TraceStream(name: $0 + "-fn", kind: $0) },
                     duration: Int64(intervals) * 2_000_000, metadata: TraceMetadata(sourceFile: "test", sourceFormat: "synthetic:test"))
    }

    @Test func visionFunctionsRunsOnAFunctionsLikeTraceAndItsReductionPassesTheChecker() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sg-vf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/functions.h5"
        try TraceDataset.write(Self.functionsLikeTrace(intervals: 400, perInterval: 50, seed: 4), to: path)
        let sc = try ScenarioSpec.load(path: Self.envs + "/vision-functions.toml")
        let arrivals = try sc.loadArrivals(overridePath: path)
        #expect(arrivals.intervals == 400 && arrivals.arrivalStreams.count == 20_000)
        // The mix changes from interval to interval, and the total is scaled to 7,000 q/s.
        let background = arrivals.rows.map { $0[1] / ($0[0] + $0[1]) }
        #expect(background.min()! < 0.25 && background.max()! > 0.45)
        let total: Double = arrivals.counts.reduce(0, +)
        let rate = total / 800
        #expect(abs(rate - 7000) < 1e-6)
        let model = try ServingModel(scenario: sc, arrivals: arrivals, randomStart: true)
        _ = try EnvChecker.check(name: "fluid vision-functions", { FluidServingEnv(model: model) }, steps: 200)
        let config = ScenarioReduction.configuration(sc, arrivals: arrivals, randomStart: true)
        _ = try EnvChecker.check(name: "employment vision-functions", { try EmploymentSearch(configuration: config) }, steps: 200)
        // Both views agree step by step on the per-interval mix, as they do on fixed shares.
        let reduction = ReductionTests()
        try reduction.compare(sc, arrivals, actions: reduction.actions(sc, count: 300, seed: 9), seed: 2)
    }

    static let functionsCSV = ScenarioFixtures.packageRoot + "/../shared/traces/azure_functions_2019_sample500/invocations.csv"

    static func sharedTracePresent() -> Bool {
        if FileManager.default.fileExists(atPath: functionsCSV) { return true }
        print("skipping the real-trace vision-functions test: \(functionsCSV) is absent (the shared traces folder is not next to the package)")
        return false
    }

    static let llmCSV = ScenarioFixtures.packageRoot + "/../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: llmCSV)))
    func onTheRealLLMTraceTheBatchStreamIsThePromptsOfAtLeast2400Tokens() throws {
        let trace = try TraceImporter.importFile(Self.llmCSV)
        let sc = try ScenarioSpec.load(path: Self.envs + "/llm-code.toml")
        let streams = try sc.streamOfEachRequest(trace)
        // Independent count from the CSV's ContextTokens column.
        let text = try String(contentsOfFile: Self.llmCSV, encoding: .utf8)
        let long = text.split(whereSeparator: \.isNewline).dropFirst().filter { Int($0.split(separator: ",")[1])! >= 2400 }.count
        #expect(streams.filter { $0 == 1 }.count == long)
        #expect(abs(Double(long) / Double(trace.count) - 0.309) < 0.001)
        // Both views of the scenario agree step by step on the real mix, token-level rates
        // included (EmploymentSearch pays them as its salary schedule).
        let arrivals = ScenarioArrivals(arrivalTimes: trace.arrivals, arrivalStreams: streams, streams: 2, duration: trace.duration,
                                        interval: sc.decisionInterval, rateScale: 20 / trace.meanRate)
        #expect(ScenarioReduction.configuration(sc, arrivals: arrivals).salarySchedule != nil)
        let reduction = ReductionTests()
        try reduction.compare(sc, arrivals, actions: reduction.actions(sc, count: arrivals.intervals, seed: 4), seed: 1)
    }

    @Test(.enabled(if: sharedTracePresent()))
    func onTheRealFunctionsTraceTheBackgroundShareIsTheNonHTTPNonEventInvocations() throws {
        let trace = try TraceImporter.importFile(Self.functionsCSV)
        var sc = try ScenarioSpec.load(path: Self.envs + "/vision-functions.toml")
        sc.episodeIntervals = nil
        let streams = try sc.streamOfEachRequest(trace)
        let arrivals = ScenarioArrivals(arrivalTimes: trace.arrivals, arrivalStreams: streams, streams: 2,
                                        duration: trace.duration, interval: sc.decisionInterval, rateScale: 7000 / trace.meanRate)
        // Independent count from the CSV: the invocations of functions whose trigger is neither
        // http nor event (column 4), summed over the minute columns.
        let text = try String(contentsOfFile: Self.functionsCSV, encoding: .utf8)
        var background = 0, all = 0
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            let n = f[4...].reduce(0) { $0 + Int($1)! }
            all += n
            if f[3] != "http" && f[3] != "event" { background += n }
        }
        #expect(trace.count == all)
        #expect(streams.filter { $0 == 1 }.count == background)
        #expect(abs(arrivals.shares[1] - Double(background) / Double(all)) < 1e-9)
        // The mix moves: the background part of single 2 s intervals spans at least 15% to 45%.
        let parts = arrivals.rows.map { $0[1] / max($0[0] + $0[1], 1e-9) }
        #expect(parts.min()! < 0.15 && parts.max()! > 0.45, "\(parts.min()!) ... \(parts.max()!)")
    }
}
