import Foundation
import SwitchGymAgents
import SwitchGymData
import SwitchGymEnvs
import SwitchGymIO

/// `eval --export DIR`: tidy CSVs, a Jupyter notebook that loads and plots them, and SVG
/// pictures. Every file is written atomically; `SHA256SUMS` (written last) lists each file's
/// SHA-256 (`sha256sum -c SHA256SUMS`), and the notebook checks the CSVs against it first.
enum ReportExport {
    /// Load-time multipliers of the crossover experiment.
    static let crossoverScales: [Double] = [0.125, 0.25, 0.5, 1, 2, 4, 8, 16]

    static func write(directory: String, table: PolicyTable, model: ServingModel,
                      crossoverPolicies: [(String, (ServingModel) throws -> ServingRun)] = []) throws {
        try OutputGuard.check(folder: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sc = table.scenario
        var written: [String] = []
        func path(_ name: String) -> String {
            written.append(name)
            return (directory as NSString).appendingPathComponent(name)
        }

        // policies.csv: one row per policy.
        var p = "policy,kind,utility,goodput,slo_attainment,mean_accuracy,cost,switches,dropped,arrived,regret\n"
        for (i, r) in table.runs.enumerated() {
            let m = r.metrics
            let regret = table.oracleBound.map { "\($0 - m.utility)" } ?? ""
            p += "\(csv(r.name)),\(table.kind(i)),\(m.utility),\(m.goodput),\(m.sloAttainment),\(m.meanAccuracy),\(m.cost),\(m.switches),\(m.dropped),\(m.arrived),\(regret)\n"
        }
        try AtomicOutput.write(text: p, to: path("policies.csv"))

        // intervals.csv and assignments.csv: one row per policy and interval (and device).
        var iv = "policy,interval,time_s,arrived,served,served_on_time,dropped,queued,accuracy_served,cost,reward,switches\n"
        var asg = "policy,interval,device,variant\n"
        for r in table.runs {
            for (t, i) in r.intervals.enumerated() {
                iv += "\(csv(r.name)),\(t),\(Double(t) * sc.decisionInterval),\(i.arrived),\(i.served),\(i.servedOnTime),\(i.dropped),\(i.queued),\(i.accuracyServed),\(i.cost),\(i.reward),\(i.switches)\n"
            }
            var previous: [Int]? = nil
            for (t, held) in r.assignments.enumerated() {
                if held != previous {
                    for (d, v) in held.enumerated() { asg += "\(csv(r.name)),\(t),\(csv(sc.fleet[d].name)),\(csv(sc.variants[v].name))\n" }
                    previous = held
                }
            }
        }
        try AtomicOutput.write(text: iv, to: path("intervals.csv"))
        try AtomicOutput.write(text: asg, to: path("assignments.csv"))

        // Dispatch among the loaded variants (LP bound, R-JIQ, POP, JSQ) for the first policy.
        if let first = table.runs.first {
            func opt(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
            var d = "policy,interval,arrival_rate,accuracy_target,status,lp_bound_ms,rjiq_ms,pop_ms,jsq_ms,rjiq_accuracy,pop_accuracy,jsq_accuracy\n"
            let target = DispatchReport.defaultTarget(sc, shares: model.arrivals.shares)
            for r in DispatchReport.report(model: model, run: first, accuracyTarget: target, jobsPerInterval: 1000) {
                d += "\(csv(first.name)),\(r.interval),\(r.arrivalRate),\(target),\(r.status),\(opt(r.lpBoundMs)),\(opt(r.rjiqMs)),\(opt(r.popMs)),\(opt(r.jsqMs)),\(opt(r.rjiqAccuracy)),\(opt(r.popAccuracy)),\(opt(r.jsqAccuracy))\n"
            }
            try AtomicOutput.write(text: d, to: path("dispatch.csv"))
        }

        // Crossover: reactive vs proactive as the switch delay grows.
        var cross = "load_scale,policy,utility\n"
        var crossSeries: [String: [Double]] = [:]
        var crossNames: [String] = []
        let policies: [(String, (ServingModel) throws -> ServingRun)] = [
            ("reactive", { ServingBaselines.reactive(model: $0) }),
            ("forecast-holt-winters", { ServingBaselines.forecastProactive(model: $0, forecaster: .holtWinters) }),
            ("mccall", { ServingBaselines.mccall(model: $0) }),
            ("static-best", { ServingBaselines.staticBest(model: $0) }),
        ] + crossoverPolicies
        for scale in crossoverScales {
            var s2 = sc
            s2.episodeIntervals = nil
            for v in s2.variants.indices {
                s2.variants[v].loadSecondsDisk *= scale
                s2.variants[v].loadSecondsRAM *= scale
            }
            let m2 = try ServingModel(scenario: s2, arrivals: model.arrivals, randomStart: false)
            for (name, run) in policies {
                let u = try run(m2).metrics.utility
                cross += "\(scale),\(csv(name)),\(u)\n"
                if crossSeries[name] == nil { crossNames.append(name) }
                crossSeries[name, default: []].append(u)
            }
            let bound = ServingBaselines.oracleBound(model: m2)
            cross += "\(scale),oracle-bound,\(bound)\n"
            if crossSeries["oracle-bound"] == nil { crossNames.append("oracle-bound") }
            crossSeries["oracle-bound", default: []].append(bound)
        }
        try AtomicOutput.write(text: cross, to: path("crossover.csv"))

        // Pictures.
        let T = model.intervalCount
        let minutes = (0..<T).map { Double($0) * sc.decisionInterval / 60 }
        var rateSeries = [SVGChart.Series(label: "all streams", x: minutes, y: (0..<T).map { t in
            (0..<model.streamCount).reduce(0) { $0 + model.arrivals(interval: t, stream: $1) } / sc.decisionInterval
        }, width: 1.8)]
        for s in 0..<model.streamCount {
            rateSeries.append(SVGChart.Series(label: sc.streams[s].name, x: minutes,
                                              y: (0..<T).map { model.arrivals(interval: $0, stream: s) / sc.decisionInterval }))
        }
        try AtomicOutput.write(text: SVGChart.lines(
            title: "\(sc.name): arrival rate per decision interval", subtitle: "\(T) intervals of \(sc.decisionInterval) s",
            xLabel: "time (min)", yLabel: "queries/s", series: rateSeries), to: path("rate.svg"))

        let shown = Array(table.runs.prefix(1)) + table.runs.filter { $0.name == "reactive" || $0.name == "oracle" }
        for r in shown {
            // Devices holding each variant over time (one line per variant: readable for any fleet size).
            let series = sc.variants.indices.map { v in
                SVGChart.Series(label: sc.variants[v].name, x: minutes.prefix(r.assignments.count).map { $0 },
                                y: r.assignments.map { a in Double(a.reduce(0) { $0 + ($1 == v ? 1 : 0) }) }, steps: true)
            }
            try AtomicOutput.write(text: SVGChart.lines(
                title: "\(sc.name): devices holding each variant, \(r.name)", subtitle: "\(sc.fleet.count) devices; \(r.metrics.switches) switches; utility \(String(format: "%.4g", r.metrics.utility))",
                xLabel: "time (min)", yLabel: "devices", series: series, height: 360),
                to: path("variants-\(fileSafe(r.name)).svg"))
        }
        try AtomicOutput.write(text: SVGChart.bars(
            title: "\(sc.name): utility per policy", subtitle: table.oracleBound.map { "oracle bound \(String(format: "%.4g", $0))" } ?? "",
            valueLabel: "utility (sum of rewards)", labels: table.runs.map(\.name), values: table.runs.map(\.metrics.utility)),
            to: path("utility.svg"))
        try AtomicOutput.write(text: SVGChart.lines(
            title: "\(sc.name): the crossover as the switch delay grows", subtitle: "every variant's load time multiplied by the x value",
            xLabel: "load-time multiplier (log2)", yLabel: "utility",
            series: crossNames.map { n in SVGChart.Series(label: n, x: crossoverScales.map { log2($0) }, y: crossSeries[n]!) }),
            to: path("crossover.svg"))

        try AtomicOutput.write(text: notebook(scenario: sc.name), to: path("report.ipynb"))
        try ContentChecksum.writeManifest(folder: directory, names: written)
    }

    static func csv(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
    }

    /// A notebook (nbformat 4) that loads the CSVs with pandas and plots them with matplotlib.
    static func notebook(scenario: String) -> String {
        var cellCount = 0
        func cell(_ kind: String, _ source: String) -> String {
            cellCount += 1
            let id = "\"id\": \"cell-\(cellCount)\", "
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let src = lines.enumerated().map { i, l in jsonString(i < lines.count - 1 ? l + "\n" : l) }.joined(separator: ", ")
            return kind == "markdown"
                ? "{\(id)\"cell_type\": \"markdown\", \"metadata\": {}, \"source\": [\(src)]}"
                : "{\(id)\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {}, \"outputs\": [], \"source\": [\(src)]}"
        }
        let cells = [
            cell("markdown", "# SwitchGym evaluation: \(scenario)\n\nWritten by `switchgym eval --export`. Tidy CSVs: `policies.csv` (one row per policy), `intervals.csv` (per policy and decision interval), `assignments.csv` (variant per device whenever it changes), `crossover.csv` (utility as every load time is scaled)."),
            cell("code", "import hashlib, pathlib\n# The CSVs as eval wrote them: each must match its SHA-256 in SHA256SUMS.\nfor line in pathlib.Path('SHA256SUMS').read_text().splitlines():\n    digest, name = line.split('  ', 1)\n    if name.endswith('.csv'):\n        assert hashlib.sha256(pathlib.Path(name).read_bytes()).hexdigest() == digest, f'{name} does not match SHA256SUMS: changed or damaged'\nimport pandas as pd\nimport matplotlib.pyplot as plt\npolicies = pd.read_csv('policies.csv')\nintervals = pd.read_csv('intervals.csv')\nassignments = pd.read_csv('assignments.csv')\ncrossover = pd.read_csv('crossover.csv')\npolicies.sort_values('utility', ascending=False)"),
            cell("markdown", "## Trained policies against the best deployable baseline\n\n`kind` is `trained` (a checkpoint), `baseline` (deployable) or `oracle` (the hindsight plan, an upper reference, not a policy one can run)."),
            cell("code", "baselines = policies[policies.kind == 'baseline']\nbest = baselines.loc[baselines.utility.idxmax()] if len(baselines) else None\ntrained = policies[policies.kind == 'trained'].copy()\nif best is not None:\n    trained['margin_over_best_baseline_%'] = 100 * (trained.utility - best.utility) / abs(best.utility)\n    print(f'best baseline: {best.policy} ({best.utility:.4g})')\ntrained"),
            cell("code", "ax = policies.set_index('policy')['utility'].sort_values().plot.barh(figsize=(8, 4))\nax.set_xlabel('utility (sum of rewards)')\nplt.tight_layout()"),
            cell("code", "fig, ax = plt.subplots(figsize=(10, 4))\nfor name, g in intervals.groupby('policy'):\n    ax.plot(g.time_s / 60, (g.served_on_time.cumsum() / g.arrived.cumsum().clip(lower=1)), label=name)\nax.set_xlabel('time (min)'); ax.set_ylabel('SLO attainment so far'); ax.legend(fontsize=8)"),
            cell("code", "fig, ax = plt.subplots(figsize=(10, 4))\nfor name, g in intervals.groupby('policy'):\n    ax.plot(g.time_s / 60, g.reward.cumsum(), label=name)\nax.set_xlabel('time (min)'); ax.set_ylabel('cumulative reward'); ax.legend(fontsize=8)"),
            cell("code", "fig, ax = plt.subplots(figsize=(8, 4))\nfor name, g in crossover.groupby('policy'):\n    ax.plot(g.load_scale, g.utility, marker='o', label=name)\nax.set_xscale('log', base=2); ax.set_xlabel('load-time multiplier'); ax.set_ylabel('utility'); ax.legend(fontsize=8)"),
        ]
        return "{\"cells\": [\(cells.joined(separator: ",\n"))],\n \"metadata\": {\"kernelspec\": {\"display_name\": \"Python 3\", \"language\": \"python\", \"name\": \"python3\"}, \"language_info\": {\"name\": \"python\"}},\n \"nbformat\": 4, \"nbformat_minor\": 5}\n"
    }
}
