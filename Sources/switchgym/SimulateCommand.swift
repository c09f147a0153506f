import ArgumentParser
import SwitchGymData
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO

/// `switchgym envs simulate --env SPEC`: run simple policies over a scenario's whole trace and print
/// the serving metrics.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run fixed policies over a scenario's whole trace and print serving metrics.",
        discussion: """
            Policies: hold (keep the initial variants), random (a random feasible joint action each \
            interval), static:VARIANT (every device that can hold VARIANT holds it), static-best (the \
            best constant joint action in hindsight), any baseline of `switchgym eval`, or hold, every \
            static:VARIANT, static-best and random with --policy all. --seed seeds the random policy.

            --fidelity des replays each policy's decisions (made on the fluid fidelity) on the \
            discrete-event fidelity, followed by --drain-intervals empty intervals; --requests-out \
            then writes one CSV row per request answered by a token-level variant or dropped \
            (arrival_s, stream, device, prompt_tokens, output_tokens, ttft_s, tpot_s, e2e_s, \
            preemptions, dropped; empty latencies when dropped). Requests still in flight at the end \
            have no row; the count is printed.
            """)

    @OptionGroup var scenario: ScenarioOptions

    @Option(help: "hold | random | static:VARIANT | static-best | a baseline (reactive, infaas, oracle, ...) | all")
    var policy: String = "all"

    @OptionGroup var seed: SeedOption

    @Flag(help: "Print {\"policies\": [...]} as JSON.")
    var json = false

    /// Which simulator serves the decisions.
    enum Fidelity: String, ExpressibleByArgument, CaseIterable { case fluid, des }

    @Option(help: "fluid, or des: replay the decisions on the discrete-event fidelity.")
    var fidelity: Fidelity = .fluid

    @Option(help: ArgumentHelp("With --fidelity des and one --policy: write a CSV row per request to this file.",
                               valueName: "file.csv"))
    var requestsOut: String?

    @Option(help: "With --fidelity des: empty intervals simulated after the trace so that requests in flight finish.")
    var drainIntervals = 0

    @Option(help: ArgumentHelp("The router's queued queries at a decision: pinned (default: they stay on the device they were sent to unless it switches) or rebalanced (every device's are dispatched again when any device switches; the fluid queue stays pooled).", valueName: "pinned|rebalanced"))
    var dispatch: QueuedDispatch?

    func validate() throws {
        if drainIntervals < 0 { throw ValidationError("--drain-intervals must be >= 0, got \(drainIntervals).") }
        if fidelity != .des && (requestsOut != nil || drainIntervals > 0) {
            throw ValidationError("--requests-out and --drain-intervals need --fidelity des.")
        }
        if requestsOut != nil && policy == "all" {
            throw ValidationError("--requests-out needs one --policy (hold, static:VARIANT, ...), not all.")
        }
    }

    func run() throws {
        try reportingErrors(inputs: scenario.inputs) {
            let sc = try scenario.loadSpec()
            let arrivals = try sc.loadArrivals(overridePath: scenario.trace)
            let model = try ServingEvaluation.model(scenario: sc, arrivals: arrivals).withDispatch(dispatch ?? .pinned)
            if requestsOut != nil && !sc.variants.contains(where: { $0.llm != nil }) {
                throw CLIError.usage("--requests-out: \(sc.name) has no token-level variant ([variants.llm]); per-request records come from the step model.")
            }
            var runs: [ServingRun] = []
            let names = policy == "all"
                ? ["hold"] + sc.variants.map { "static:\($0.name)" } + ["static-best", "random"]
                : [policy]
            for name in names {
                let decisions = try Self.run(policy: name, scenario: sc, model: model, seed: seed.value)
                guard fidelity == .des else { runs.append(decisions); continue }
                let des = try RequestRecordRun.run(scenario: sc, arrivals: arrivals, assignments: decisions.assignments,
                                                   drainIntervals: drainIntervals, seed: seed.value,
                                                   queuedDispatch: dispatch ?? .pinned)
                runs.append(ServingRun(name: name, metrics: des.totals.serving, intervals: [], assignments: decisions.assignments))
                if let path = requestsOut {
                    let bytes = Array(des.csv.utf8)
                    try AtomicOutput.write(bytes: bytes, to: path)
                    try ContentChecksum.writeSidecar(for: path, bytes: bytes)
                    let dropped = des.records.filter(\.dropped).count
                    note("\(path): \(des.records.count) requests (\(dropped) dropped) over \(des.intervals) intervals; \(des.unfinished) still in flight at the end (no row)")
                }
            }
            let table = PolicyTable(scenario: sc, seconds: Double(model.intervalCount) * sc.decisionInterval, runs: runs)
            print(json ? table.json() : table.text())
        }
    }

    /// hold and random here; static:VARIANT, static-best and every other baseline from
    /// ``ServingBaselines``.
    static func run(policy name: String, scenario sc: ServingScenario, model: ServingModel, seed: UInt64) throws -> ServingRun {
        switch name {
        case "hold":
            return ServingEvaluation.replay(name: "hold", model: model, assignments: [sc.initialVariants])
        case "random":
            // Each device uniformly among the variants it can hold.
            var g = SeededGenerator(seed: seed)
            let allowed = (0..<model.deviceCount).map { d in (0..<model.variantCount).filter { model.canHold(device: d, variant: $0) } }
            return ServingEvaluation.run(name: "random", model: model) { _, _, _, out in
                for d in 0..<model.deviceCount { out[d] = allowed[d][Int(g.next() % UInt64(allowed[d].count))] }
            }
        case _ where FileManager.default.fileExists(atPath: name):
            // A trained policy: a checkpoint file or a run folder.
            return try PolicyLoader.evaluate(checkpoint: name, spec: sc, model: model)
        default:
            do {
                return try ServingBaselines.run(name, model: model)
            } catch let e as EnvError {
                throw CLIError.usage("--policy \(name): expected hold, random, a baseline or a checkpoint (no such file): \(e)")
            }
        }
    }
}

/// One table of policies on the same trace: text for people, JSON for scripts.
struct PolicyTable {
    var scenario: ServingScenario
    var seconds: Double
    var runs: [ServingRun]
    var oracleBound: Double? = nil
    /// How the bound was computed (``ServingBaselines/oracleBoundMethod(model:)``).
    var oracleBoundMethod = ""
    /// The first `trained` runs are trained policies (checkpoints); the rest are baselines and
    /// the oracle.
    var trained = 0

    /// "trained", "oracle" (the hindsight DP, not deployable) or "baseline".
    func kind(_ i: Int) -> String {
        i < trained ? "trained" : runs[i].name == "oracle" ? "oracle" : "baseline"
    }

    /// The deployable baseline with the highest utility, if any ran.
    var bestBaseline: ServingRun? {
        runs.indices.filter { kind($0) == "baseline" }.map { runs[$0] }.max { $0.metrics.utility < $1.metrics.utility }
    }

    /// Each trained policy's utility relative to the best baseline's (0.05 = 5% more).
    var marginsOverBestBaseline: [(name: String, margin: Double)] {
        guard let best = bestBaseline, best.metrics.utility != 0 else { return [] }
        let b = best.metrics.utility
        return runs.prefix(trained).map { ($0.name, ($0.metrics.utility - b) / abs(b)) }
    }

    func text() -> String {
        var out = "\(scenario.name): \(runs.first?.metrics.intervals ?? 0) intervals of \(scenario.decisionInterval) s (\(formatSeconds(seconds))), arrivals \(String(format: "%.0f", runs.first?.metrics.arrived ?? 0))\n"
        let header = ["policy", "utility", "goodput/s", "SLO", "accuracy", "cost", "switches", "dropped"]
            + (oracleBound == nil ? [] : ["regret"])
        var rows: [[String]] = [header]
        for r in runs {
            let m = r.metrics
            var row = [r.name, String(format: "%.4g", m.utility), String(format: "%.2f", m.goodput),
                       String(format: "%.2f%%", 100 * m.sloAttainment), String(format: "%.4f", m.meanAccuracy),
                       String(format: "%.4g", m.cost), "\(m.switches)", String(format: "%.0f", m.dropped)]
            if let b = oracleBound { row.append(String(format: "%.4g", b - m.utility)) }
            rows.append(row)
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        for (i, row) in rows.enumerated() {
            out += row.enumerated().map { c, s in
                c == 0 ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - s.count) + s
            }.joined(separator: "  ") + "\n"
            if i == 0 { out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n" }
        }
        if let b = oracleBound { out += "oracle bound (\(oracleBoundMethod), fluid): \(String(format: "%.4g", b))\n" }
        if let best = bestBaseline, trained > 0 {
            let margins = marginsOverBestBaseline.map { "\($0.name) \(String(format: "%+.2f%%", 100 * $0.margin))" }
            out += "against the best baseline (\(best.name), \(String(format: "%.4g", best.metrics.utility))): \(margins.joined(separator: ", "))\n"
        }
        return out
    }

    /// The table as JSON (`{"scenario", "policies": [...], "oracle_bound", "oracle_bound_method",
    /// "best_baseline"}`; non-finite numbers are null), from Codable values.
    struct Report: Encodable {
        struct Policy: Encodable {
            var name: String, kind: String
            var utility, goodput, slo_attainment, mean_accuracy, cost: Double?
            var switches: Int
            var dropped, arrived: Double?
        }
        struct Best: Encodable { var name: String; var utility: Double? }
        var scenario: String
        var policies: [Policy]
        var oracle_bound: Double?
        var oracle_bound_method: String
        var best_baseline: Best?

        func encode(to encoder: any Encoder) throws {
            // Explicit nulls (the default synthesis would leave nil keys out).
            enum K: String, CodingKey { case scenario, policies, oracle_bound, oracle_bound_method, best_baseline }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(scenario, forKey: .scenario)
            try c.encode(policies, forKey: .policies)
            try c.encode(oracle_bound, forKey: .oracle_bound)
            try c.encode(oracle_bound_method, forKey: .oracle_bound_method)
            try c.encode(best_baseline, forKey: .best_baseline)
        }
    }

    func json() -> String {
        func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
        let report = Report(
            scenario: scenario.name,
            policies: runs.indices.map { i in
                let r = runs[i], m = r.metrics
                return Report.Policy(name: r.name, kind: kind(i), utility: finite(m.utility), goodput: finite(m.goodput),
                                     slo_attainment: finite(m.sloAttainment), mean_accuracy: finite(m.meanAccuracy),
                                     cost: finite(m.cost), switches: m.switches, dropped: finite(m.dropped), arrived: finite(m.arrived))
            },
            oracle_bound: oracleBound.flatMap(finite), oracle_bound_method: oracleBoundMethod,
            best_baseline: bestBaseline.map { Report.Best(name: $0.name, utility: finite($0.metrics.utility)) })
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(report)) ?? Data(), as: UTF8.self)
    }

    private func formatSeconds(_ s: Double) -> String {
        s >= 3600 ? String(format: "%.2f h", s / 3600) : String(format: "%.1f min", s / 60)
    }
}
