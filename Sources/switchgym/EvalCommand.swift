import ArgumentParser
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO

/// `switchgym eval CHECKPOINT... --env SPEC --trace HELDOUT.h5 --baselines all`
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compare trained policies with the baselines on one (held-out) trace of a scenario.",
        discussion: """
            Every policy runs the scenario's fluid env over the whole trace from its first interval. \
            The table shows utility (the summed reward), goodput, SLO attainment, mean accuracy, cost, \
            switches and regret against the hindsight oracle's bound. Baselines: \
            \(ServingBaselines.allNames.joined(separator: ", ")), static:VARIANT; `all` runs every one, with static:VARIANT for each variant. \
            --trace picks the trace to evaluate on, e.g. the held-out part of `traces split`.
            """)

    @Argument(help: "Checkpoint files (.h5) or run folders of trained policies, or policy files written by `export` (each run with its own beam width).")
    var checkpoints: [String] = []

    @OptionGroup var scenario: ScenarioOptions

    @Option(help: "Comma-separated baselines, `all` or `none`.")
    var baselines: String = "all"

    @Flag(help: "Print {\"policies\": [...], \"oracle_bound\"} as JSON.")
    var json = false

    @Option(help: "Write tidy CSVs, a notebook and SVG pictures into this folder (e.g. notebooks-export/NAME).")
    var export: String?

    func run() throws {
        try Self.evaluate(checkpoints: checkpoints, env: scenario.env, trace: scenario.trace, baselines: baselines, json: json, export: export)
    }

    /// The evaluation (also the quickstart's): prints the table, exports the report.
    static func evaluate(checkpoints: [String], env: String, trace: String?, baselines: String, json: Bool, export: String?) throws {
        try reportingErrors(inputs: checkpoints + [env] + (trace.map { [$0] } ?? [])) {
            if let export { try OutputGuard.check(folder: export) }  // before the evaluation, not after it
            let sc = try ScenarioOptions.loadSpec(env)
            let arrivals = try sc.loadArrivals(overridePath: trace)
            let model = try ServingEvaluation.model(scenario: sc, arrivals: arrivals)
            var runs: [ServingRun] = []
            // Runs whose folders share a name are told apart by their parent folders.
            let short = checkpoints.map { PolicyLoader.displayName($0) }
            let components = Set(short).count < short.count ? 2 : 1
            for path in checkpoints {
                runs.append(try PolicyLoader.evaluate(checkpoint: path, spec: sc, model: model, nameComponents: components))
            }
            let names: [String]
            switch baselines {
            case "all": names = sc.variants.map { "static:\($0.name)" } + ServingBaselines.allNames.filter { $0 != "oracle" }
            case "none": names = []
            default: names = baselines.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { $0 != "oracle" }
            }
            for name in names { runs.append(try ServingBaselines.run(name, model: model)) }
            var bound: Double? = nil
            if baselines != "none" {
                let oracle = ServingBaselines.oracle(model: model)
                runs.append(oracle.run)
                bound = oracle.bound
            }
            var table = PolicyTable(scenario: sc, seconds: Double(model.intervalCount) * sc.decisionInterval, runs: runs)
            table.oracleBound = bound
            table.oracleBoundMethod = ServingBaselines.oracleBoundMethod(model: model)
            table.trained = checkpoints.count
            print(json ? table.json() : table.text(), terminator: json ? "\n" : "")
            if let export {
                try ReportExport.write(directory: export, table: table, model: model)
                if !json { print("exported to \(export)/ (policies.csv, intervals.csv, report.ipynb, *.svg)") }
            }
        }
    }
}
