import ArgumentParser
import Foundation
import SwitchGymData
import SwitchGymIO
import SwitchGymAgents
import SwitchGymNN

/// `switchgym quickstart`: the main job end to end on the built-in default.
///
/// The default dataset (made from the built-in recipe when absent), its statistics, a
/// train/held-out split and a rate plot; then a PPO agent trained on the training part in a
/// scenario (envs/vision-zoo.toml by default), evaluated against every baseline on the
/// held-out part, and the report exported to notebooks-export/quickstart.
struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Run the main job end to end on the built-in default dataset.")

    @Option(help: "The dataset to run on (generated from the built-in recipe when missing), or a raw trace (CSV, .zst, .gz; e.g. ../shared/traces/azure_functions_2019_sample500/invocations.csv), imported first.")
    var dataset = DefaultDataset.relativePath

    @Option(name: .out, help: ArgumentHelp("Folder for the run's outputs (split datasets, plots, the run folders).", valueName: "folder"))
    var out = "checkpoints/quickstart"

    @Option(name: .long, help: "Fraction of the trace used for training.")
    var train: Double = 0.7

    @Option(help: ScenarioOptions.envHelp)
    var env = "envs/vision-zoo.toml"

    @Option(help: "PPO training steps.")
    var steps = 600_000

    @Option(help: "Seed of the agent; repeat for one run per seed (run-s<N>), all evaluated together.")
    var seed: [UInt64] = [1]

    @Option(help: "A JSON file of PPO config keys overriding the serving defaults, or the JSON object itself (as `train --config`).")
    var config: String?

    @Option(help: "Folder for the evaluation report.")
    var export = "notebooks-export/quickstart"

    func run() throws {
        ensureFastBLASKernels(command: "quickstart")
        try reportingErrors(inputs: [dataset, env] + (config.map { [$0] } ?? [])) {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var path = dataset
            let trace: Trace
            if !FileSystem.exists(dataset) {
                path = out + "/default.h5"
                note("[1/8] \(dataset) is missing: generating the built-in default into \(path)")
                trace = try DefaultDataset.generate()
                try TraceDataset.write(trace, to: path)
            } else if dataset.hasSuffix(".h5") {
                note("[1/8] dataset \(dataset)")
                trace = try TraceDataset.read(path)
            } else {
                path = out + "/imported.h5"
                note("[1/8] importing the raw trace \(dataset) into \(path)")
                trace = try TraceImporter.importFile(dataset)
                try TraceDataset.write(trace, to: path)
            }
            note("[2/8] statistics")
            say(try TraceStatistics.compute(trace).render(maxStreams: 10))
            note("[3/8] time split, \(Int(train * 100))% train")
            let (a, b) = try TraceSplit.split(trace, trainFraction: train)
            let trainPath = out + "/train.h5", heldPath = out + "/heldout.h5"
            try TraceDataset.write(a, to: trainPath)
            try TraceDataset.write(b, to: heldPath)
            say("train:    \(trainPath): \(a.summaryLine)")
            say("held-out: \(heldPath): \(b.summaryLine)")
            note("[4/8] rate plot")
            let plot = out + "/rate.svg"
            try AtomicOutput.write(text: try RatePlot.svg(trace, windowSeconds: 10, streams: 4, title: (path as NSString).lastPathComponent),
                                   to: plot)
            say("plot:     \(plot)")
            let runs = seed.count == 1 ? [out + "/run"] : seed.map { "\(out)/run-s\($0)" }
            for (run, runSeed) in zip(runs, seed) {
                if FileSystem.exists(run) {
                    note("[5/8] removing the previous quickstart run \(run)")
                    try FileManager.default.removeItem(atPath: run)
                }
                note("[5/8] training PPO in \(env) on the training part (\(steps) steps, seed \(runSeed))")
                let runConfig = try trainingErrors {
                    try Training.resolve(env: env, trace: trainPath, algorithm: .ppo, file: config, seed: runSeed, steps: steps)
                }
                BLAS.setThreadCount(1)
                let s = try trainingErrors { try Training.run(runConfig, in: URL(fileURLWithPath: run)) }
                say("ppo on \(s.env): \(s.steps) steps; mean return of the last \(s.recentEpisodes) episodes \(String(format: "%.4g", s.recentMeanReturn)); checkpoint \(s.checkpoint ?? "-")")
            }
            note("[6/8] evaluating \(runs.count == 1 ? "it" : "them") against every baseline on the held-out part")
            try EvalCommand.evaluate(checkpoints: runs, env: env, trace: heldPath, baselines: "all", json: false, export: export)
            note("[7/8] report in \(export)/: policies.csv, intervals.csv, report.ipynb, utility.svg, crossover.svg, ...")
            for run in runs {
                let file = run + ".safetensors"
                note("[8/8] exporting the trained policy to \(file) (docs/policy-format.md)")
                try ExportCommand.export(checkpoint: run, env: env, trace: trainPath, to: file)
            }
            say("quickstart: done")
        }
    }
}
