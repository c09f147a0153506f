import Foundation
import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

/// Issue 13, cases 4 and 8: every number of a spec is checked where it is parsed (the error
/// names the file, the key and the range), sizes are estimated before they are allocated,
/// and no accepted spec traps.
@Suite("Scenario specs: out-of-range numbers, nan, empty and duplicate names are errors naming the key")
struct SpecInputBoundsTests {
    /// A small valid spec; each case replaces one line.
    static let base = """
        name = "tiny"
        decision_interval_s = 1.0
        [trace]
        synthetic = "default"
        [reward]
        slo = 1.0
        [[variants]]
        name = "a"
        accuracy = 0.8
        batch_sizes = [1, 8]
        latency_ms = [5.0, 20.0]
        memory_gb = 1.0
        load_s_disk = 1.0
        load_s_ram = 0.5
        [[fleet]]
        name = "gpu"
        memory_gb = 10.0
        count = 2
        [[streams]]
        name = "fast"
        deadline_ms = 100.0
        drop_after = 3
        penalty_amount = 1.0
        """

    static func with(_ line: String, _ replacement: String) -> String {
        precondition(base.contains(line), line)
        return base.replacingOccurrences(of: line, with: replacement)
    }

    @Test("the base spec parses and builds a model")
    func baseParses() throws {
        let sc = try ScenarioFixtures.parseSpec(Self.base)
        _ = try ServingModel(scenario: sc, arrivals: ScenarioFixtures.randomArrivals(intervals: 4, streams: 1, mean: 10, seed: 1))
    }

    @Test("case 4: values that overflowed, trapped or allocated terabytes are errors naming the key and the range",
          arguments: [
            ("drop_after = 3", "drop_after = 9223372036854775807", "streams[0].drop_after", "[1, 100000] intervals"),
            ("drop_after = 3", "drop_after = 1e9", "streams[0].drop_after", "expected an integer"),
            ("drop_after = 3", "drop_after = 1000000000", "streams[0].drop_after", "[1, 100000] intervals"),
            ("deadline_ms = 100.0", "deadline_ms = 1e300", "streams[0].deadline_ms", "(0, 86400000] ms"),
            ("deadline_ms = 100.0", "deadline_ms = 1e12", "streams[0].deadline_ms", "(0, 86400000] ms"),
            ("decision_interval_s = 1.0", "decision_interval_s = 1e-9", "decision_interval_s", "[0.001, 86400] s"),
            ("count = 2", "count = 100000", "fleet[0].count", "[1, 16384]"),
          ])
    func case4(_ line: String, _ replacement: String, _ key: String, _ range: String) {
        ScenarioFixtures.expectSpecError(Self.with(line, replacement), key: key, contains: range)
    }

    @Test("case 4: count = 32 loads and builds a model (it overflowed the joint action count once)")
    func count32() throws {
        let sc = try ScenarioFixtures.parseSpec(Self.with("count = 2", "count = 32"))
        let model = try ServingModel(scenario: sc, arrivals: ScenarioFixtures.randomArrivals(intervals: 4, streams: 1, mean: 10, seed: 1))
        #expect(model.deviceCount == 32)
    }

    @Test("case 4: a deadline and drop_after each in range but too long together is refused before the queues are allocated")
    func lateSlots() {
        let text = Self.with("decision_interval_s = 1.0", "decision_interval_s = 0.001")
            .replacingOccurrences(of: "deadline_ms = 100.0", with: "deadline_ms = 86400000.0")
        ScenarioFixtures.expectSpecError(text, key: "streams", contains: "limit of \(ScenarioBounds.maxLateSlots)")
        ScenarioFixtures.expectSpecError(text, key: "streams", contains: "lower deadline_ms or drop_after, or raise decision_interval_s")
    }

    @Test("the discrete-event fidelity refuses more requests at once than it may hold, before generating any; the fluid one runs")
    func discreteEventRequests() throws {
        let sc = try ScenarioFixtures.parseSpec(Self.base)
        // drop_after 3, a 100 ms deadline in 1 s intervals: a request stays at most 5 intervals.
        func arrivals(_ perInterval: Double, intervals: Int = 12) -> ScenarioArrivals {
            ScenarioArrivals(intervals: intervals, streams: 1, counts: [Double](repeating: perInterval, count: intervals))
        }
        let limit = Double(ScenarioBounds.maxDiscreteEventRequests)
        _ = try DiscreteEventModel(serving: try ServingModel(scenario: sc, arrivals: arrivals(1000)))
        let e = #expect(throws: ScenarioError.self) {
            _ = try DiscreteEventModel(serving: try ServingModel(scenario: sc, arrivals: arrivals(limit / 4)))
        }
        #expect(e?.key == "trace" && e?.message.contains("busiest 5 intervals") == true
                && e?.message.contains("limit of \(ScenarioBounds.maxDiscreteEventRequests)") == true, "\(String(describing: e))")
        // One busy interval alone is within the limit; five in a row are not.
        var counts = [Double](repeating: 0, count: 12)
        counts[6] = limit / 2
        _ = try DiscreteEventModel(serving: try ServingModel(scenario: sc, arrivals: ScenarioArrivals(intervals: 12, streams: 1, counts: counts)))
        _ = try FluidServingEnv(scenario: sc, arrivals: arrivals(limit / 4))
        // A record per request of the whole trace: 12 intervals of limit / 8 are too many.
        #expect(throws: ScenarioError.self) { try sc.checkDiscreteEventRequests(arrivals(limit / 8), wholeTrace: true) }
        try sc.checkDiscreteEventRequests(arrivals(limit / 8))
    }

    @Test("case 8: nan or infinite weights, penalties, memory sizes; empty names",
          arguments: [
            ("slo = 1.0", "slo = nan", "reward.slo"),
            ("slo = 1.0", "served = inf", "reward.served"),
            ("penalty_amount = 1.0", "penalty_amount = nan", "streams[0].penalty_amount"),
            ("penalty_amount = 1.0", "penalty = \"table\"\npenalty_table = [1.0, inf]", "streams[0].penalty_table[1]"),
            ("penalty_amount = 1.0", "drop_penalty = -inf", "streams[0].drop_penalty"),
            ("penalty_amount = 1.0", "weight = nan", "streams[0].weight"),
            ("memory_gb = 1.0", "memory_gb = nan", "variants[0].memory_gb"),
            ("memory_gb = 10.0", "memory_gb = inf", "fleet[0].memory_gb"),
            ("memory_gb = 10.0", "memory_gb = 10.0\nhost_ram_gb = nan", "fleet[0].host_ram_gb"),
            ("latency_ms = [5.0, 20.0]", "latency_ms = [5.0, nan]", "variants[0].latency_ms[1]"),
            ("accuracy = 0.8", "accuracy = nan", "variants[0].accuracy"),
          ])
    func case8(_ line: String, _ replacement: String, _ key: String) {
        ScenarioFixtures.expectSpecError(Self.with(line, replacement), key: key, contains: "expected a finite number in")
    }

    @Test("case 8: empty names", arguments: [
        ("name = \"tiny\"", "name = \"\"", "name"),
        ("name = \"a\"", "name = \" \"", "variants[0].name"),
        ("name = \"gpu\"", "name = \"\"", "fleet[0].name"),
        ("name = \"fast\"", "name = \"\"", "streams[0].name"),
    ])
    func emptyNames(_ line: String, _ replacement: String, _ key: String) {
        ScenarioFixtures.expectSpecError(Self.with(line, replacement), key: key, contains: "expected a non-empty string")
    }

    @Test("a duplicate variant name is named as such, not as an unknown initial variant")
    func duplicateVariant() {
        let text = Self.with("count = 2", "count = 2\ninitial = \"a\"") + """

            [[variants]]
            name = "a"
            accuracy = 0.9
            batch_sizes = [1]
            latency_ms = [5.0]
            memory_gb = 1.0
            load_s_disk = 1.0
            load_s_ram = 0.5
            """
        ScenarioFixtures.expectSpecError(text, key: "variants[1].name", contains: "duplicate name \"a\" (also variants[0])")
    }

    @Test("case 5 (the scenario's half): a trace too long for the decision interval is refused before binning")
    func intervalTables() throws {
        let sc = try ScenarioFixtures.parseSpec(Self.base)
        let e = #expect(throws: ScenarioError.self) { try sc.checkIntervalTables(duration: 1 << 62, trace: "long.h5") }
        #expect(e?.key == "decision_interval_s" && e?.description.contains("long.h5") == true
                && e?.description.contains("limit of \(ScenarioBounds.maxIntervalCells)") == true, "\(String(describing: e))")
        try sc.checkIntervalTables(duration: 3_600_000_000, trace: "hour.h5")
    }

    @Test("guarded conversions and checked sizes")
    func checked() {
        #expect(Checked.int(1e300) == nil && Checked.int(.nan) == nil && Checked.int(-.infinity) == nil)
        #expect(Checked.int(2.7) == 2 && Checked.int(2.2, rounding: .up) == 3)
        #expect(Checked.product(1 << 40, 1 << 30) == nil && Checked.product(3, 4, 5) == 60 && Checked.product(-1, 2) == nil)
        #expect(Checked.sum([Int.max, 1]) == nil)
        #expect(InputBounds.above(0, upTo: 5).violation(0.0) != nil && InputBounds.closed(0, 5).violation(0.0) == nil)
    }
}

/// Random valid-but-extreme specs (values at the accepted bounds, just outside them, and in
/// between) go through parsing, the model and a short fluid simulation: each either runs with
/// finite rewards or throws a ScenarioError; none traps.
@Suite("Scenario specs at the bounds: run or a clear error, never a trap")
struct SpecExtremesPropertyTests {
    @Test("200 random extreme specs: parse, model, 3 fluid steps; finite rewards or a ScenarioError")
    func extremes() throws {
        var ran = 0, refused = 0, reasons: [String: Int] = [:]
        for seed in UInt64(0)..<200 {
            let text = ExtremeSpecs.randomSpec(seed: seed, use: .model)
            do {
                let sc = try ScenarioFixtures.parseSpec(text)
                try sc.checkIntervalTables(duration: Int64(1 + seed % 7) * 86_400_000_000, trace: "a week")
                var g = SeededGenerator(seed: seed)
                let arrivals = ScenarioFixtures.randomArrivals(intervals: 1 + Int(g.next() % 6), streams: sc.streams.count,
                                                               mean: [0, 1, 1e6, 1e9][Int(g.next() % 4)], seed: seed)
                var env = try FluidServingEnv(scenario: sc, arrivals: arrivals)
                _ = try env.reset(seed: seed)
                for _ in 0..<3 {
                    let action = (0..<sc.fleet.count).map { d in sc.variants.indices.first { sc.fleet[d].canHold(sc.variants[$0]) } ?? 0 }
                    let r = try env.step(action)
                    #expect(r.reward.isFinite, "seed \(seed): reward \(r.reward)\n\(text)")
                    if r.terminated || r.truncated { break }
                }
                ran += 1
            } catch let e as ScenarioError {
                #expect(!e.key.isEmpty && e.file == "spec.toml", "seed \(seed): \(e)")
                refused += 1
                reasons[e.key.split(separator: "[").first.map(String.init) ?? e.key, default: 0] += 1
            }
        }
        print("extreme specs: \(ran) ran, \(refused) refused with a ScenarioError (by key: \(reasons.sorted { $0.key < $1.key }))")
        #expect(ran > 10 && refused > 10)
    }
}
