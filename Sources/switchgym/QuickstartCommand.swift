import ArgumentParser
import Foundation
import SwitchGymData
import SwitchGymIO

/// `switchgym quickstart`: the main job end to end on the built-in default.
///
/// Today: the default dataset (made from the built-in recipe when absent), its
/// statistics, a train/held-out split and a rate plot. Training, evaluation and
/// export join this command as the agents land.
struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Run the main job end to end on the built-in default dataset.")

    @Option(help: "The dataset to run on (generated from the built-in recipe when missing).")
    var dataset = DefaultDataset.relativePath

    @Option(help: "Folder for the run's outputs (split datasets, plots).")
    var out = "checkpoints/quickstart"

    @Option(name: .long, help: "Fraction of the trace used for training.")
    var train: Double = 0.7

    func run() throws {
        try reportingErrors(inputs: [dataset]) {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var path = dataset
            if !FileSystem.exists(dataset) {
                path = out + "/default.h5"
                note("[1/4] \(dataset) is missing: generating the built-in default into \(path)")
                try TraceDataset.write(try DefaultDataset.generate(), to: path)
            } else {
                note("[1/4] dataset \(dataset)")
            }
            let trace = try TraceDataset.read(path)
            note("[2/4] statistics")
            say(try TraceStatistics.compute(trace).render(maxStreams: 10))
            note("[3/4] time split, \(Int(train * 100))% train")
            let (a, b) = try TraceSplit.split(trace, trainFraction: train)
            let trainPath = out + "/train.h5", heldPath = out + "/heldout.h5"
            try TraceDataset.write(a, to: trainPath)
            try TraceDataset.write(b, to: heldPath)
            say("train:    \(trainPath): \(a.summaryLine)")
            say("held-out: \(heldPath): \(b.summaryLine)")
            note("[4/4] rate plot")
            let plot = out + "/rate.svg"
            try AtomicOutput.write(text: try RatePlot.svg(trace, windowSeconds: 10, streams: 4, title: "default dataset"),
                                   to: plot)
            say("plot:     \(plot)")
            say("quickstart: done")
        }
    }
}
