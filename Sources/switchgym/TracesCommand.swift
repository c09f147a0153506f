import ArgumentParser
import Foundation
import SwitchGymData
import SwitchGymIO

/// `switchgym traces ...`: real and synthetic query traces as canonical HDF5 datasets.
struct TracesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "Import, inspect, split and synthesise query-arrival traces (canonical HDF5 datasets).",
        discussion: "The dataset layout is documented in datasets/FORMAT.md.",
        subcommands: [TracesImport.self, TracesInspect.self, TracesSplit.self, TracesSynth.self])
}

/// How every command that writes a dataset writes it (the path is ``OutputOptions``, or
/// `traces split`'s two outputs).
struct DatasetOutputOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Column compression: zstd[:LEVEL] (HDF5 filter 32015, default), deflate[:LEVEL], or none.",
        valueName: "codec"))
    var compression: HDF5Compression = .standard
}

extension Trace {
    /// One line summarising a trace for command output.
    var summaryLine: String {
        String(format: "%d requests, %d streams, %.1f s, %.3f req/s", count, streams.count,
               Double(duration) / 1e6, meanRate)
    }
}

/// Writes a dataset and reports its size.
func writeDataset(_ trace: Trace, to path: String, compression: HDF5Compression) throws -> Int {
    try TraceDataset.write(trace, to: path, compression: compression)
    return try FileSystem.size(of: path)
}

// MARK: - inspect

struct TracesInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a dataset's statistics: requests, duration, rate, and per-window burstiness.",
        discussion: """
            Per-window statistics count requests in windows of each width over [0, duration), \
            empty windows included; CV is the population standard deviation of the counts over \
            their mean.
            """)

    @Argument(help: "A dataset written by `traces import`, `traces synth` or `traces split`.")
    var dataset: String

    @Flag(help: "Print the statistics as JSON (snake_case keys) instead of a table.")
    var json = false

    @Option(help: "Window widths in seconds, comma-separated.")
    var windows = "1,10,60"

    @Option(help: "Streams listed in the table (the JSON always lists every stream).")
    var streams = 10

    @Option(help: ArgumentHelp("Also draw the rate over time as an SVG picture.", valueName: "out.svg"))
    var plot: String?

    @Option(help: "Window width of the plot in seconds.")
    var plotWindow: Double = 10

    @Option(help: "Streams drawn in the plot besides the total.")
    var plotStreams = 3

    func validate() throws {
        guard plotWindow.isFinite, plotWindow > 0 else {
            throw ValidationError("--plot-window must be a number of seconds > 0, found \(plotWindow)")
        }
        guard streams >= 0, plotStreams >= 0 else { throw ValidationError("--streams and --plot-streams must be >= 0") }
    }

    func run() throws {
        let ws = try parseWindows(windows, option: "--windows")
        try reportingErrors(inputs: [dataset]) {
            let trace = try TraceDataset.read(dataset)
            let stats = try TraceStatistics.compute(trace, windows: ws)
            if json { say(try stats.jsonString()) } else {
                say("\(dataset): \(trace.metadata.sourceFormat) from \(trace.metadata.sourceFile)")
                say(stats.render(maxStreams: streams))
            }
            if let plot {
                let svg = try RatePlot.svg(trace, windowSeconds: plotWindow, streams: plotStreams,
                                           title: FileSystem.baseName(of: dataset))
                try AtomicOutput.write(text: svg, to: plot)
                note("wrote \(plot) (rate over time, \(plotWindow) s windows)")
            }
        }
    }
}

// MARK: - split

struct TracesSplit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split a dataset in time into a training part and a held-out part.",
        discussion: """
            The split point is FRACTION x duration. The held-out part is rebased to start at 0; \
            both parts keep the whole stream table and record the split in their `parameters`.
            """)

    @Argument(help: "The dataset to split.")
    var dataset: String

    @Option(name: .long, help: "Fraction of the duration that goes to training, in (0, 1).")
    var train: Double = 0.7

    @Option(help: "Training output (default: DATASET with .train.h5).")
    var trainOut: String?

    @Option(help: "Held-out output (default: DATASET with .heldout.h5).")
    var heldoutOut: String?

    @OptionGroup var writing: DatasetOutputOptions

    func validate() throws {
        guard train.isFinite, train > 0, train < 1 else {
            throw ValidationError("--train must be strictly between 0 and 1, found \(train)")
        }
    }

    static func derived(_ path: String, _ suffix: String) -> String {
        let stem = path.hasSuffix(".h5") ? String(path.dropLast(3)) : path
        return stem + "." + suffix + ".h5"
    }

    func run() throws {
        let trainPath = trainOut ?? Self.derived(dataset, "train")
        let heldPath = heldoutOut ?? Self.derived(dataset, "heldout")
        try reportingErrors(inputs: [dataset]) {
            guard !OutputGuard.sameFile(trainPath, heldPath) else {
                throw CLIError.usage("the training output \(trainPath) and the held-out output \(heldPath) are the same file")
            }
            try OutputGuard.check(output: trainPath)
            try OutputGuard.check(output: heldPath)
            let trace = try TraceDataset.read(dataset)
            let (a, b) = try TraceSplit.split(trace, trainFraction: train)
            _ = try writeDataset(a, to: trainPath, compression: writing.compression)
            _ = try writeDataset(b, to: heldPath, compression: writing.compression)
            say("train:    \(trainPath): \(a.summaryLine)")
            say("held-out: \(heldPath): \(b.summaryLine)")
        }
    }
}

// MARK: - synth

struct TracesSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a seeded synthetic trace, optionally fitted to a real dataset.",
        discussion: """
            The recipe starts from --spec FILE.json (if given) or the kind's defaults; --fit \
            replaces rate, burstiness and shape with values fitted to a dataset (its rate, CV at \
            each window, diurnal shape); options given on the command line override both. The \
            resolved recipe is stored in the dataset's `parameters` attribute, so a dataset can \
            always be regenerated; --seed overrides the recipe's seed. Kinds: \(SyntheticTraceSpec.kinds.joined(separator: ", ")).
            """)

    @Option(help: "poisson, mmpp, diurnal or flash-crowd (default: the spec file's, else poisson).")
    var kind: String?

    @Option(help: ArgumentHelp("A JSON recipe (snake_case keys, see SyntheticTraceSpec).", valueName: "file.json"))
    var spec: String?

    @Option(help: ArgumentHelp("Start from a built-in recipe: `default` (the recipe of datasets/default.h5, with its fixed created_at).", valueName: "name"))
    var preset: String?

    @Option(help: ArgumentHelp("Fit the recipe to this dataset.", valueName: "data.h5"))
    var fit: String?

    @Option(help: "Duration in seconds.")
    var duration: Double?

    @Option(help: "Mean request rate (requests per second).")
    var rate: Double?

    @Option(help: "Number of streams (Zipf-distributed shares).")
    var streams: Int?

    @OptionGroup var seed: SeedOption

    @Option(help: "Value of the created_at attribute (default: now). Fix it for byte-stable outputs.")
    var createdAt: String?

    @OptionGroup var output: OutputOptions<DatasetOutput>

    @Flag(help: "Print the fit report as JSON.")
    var json = false

    @OptionGroup var writing: DatasetOutputOptions

    func run() throws {
        let (output, seed) = (self.output.out, self.seed.given)
        try reportingErrors(inputs: [spec, fit].compactMap { $0 }) {
            var recipe: SyntheticTraceSpec
            var stamp = createdAt
            if let preset {
                guard preset == "default", spec == nil else {
                    throw CLIError.usage(spec != nil ? "--preset and --spec cannot be combined"
                                                     : "unknown preset \"\(preset)\"; expected: default")
                }
                recipe = DefaultDataset.spec
                if let kind { recipe.kind = kind }
                stamp = stamp ?? DefaultDataset.createdAt
            } else if let spec {
                let text: String
                do { text = String(decoding: try FileSystem.readAll(spec), as: UTF8.self) }
                do { recipe = try SyntheticTraceSpec.decode(json: text) } catch let e as TraceAnalysisError {
                    throw CLIError.usage("\(spec): \(e.message)")
                }
                if let kind { recipe.kind = kind }
            } else {
                recipe = SyntheticTraceSpec(kind: kind ?? "poisson")
            }
            var report: FitReport?
            if let fit {
                let target = try TraceDataset.read(fit)
                let (fitted, r) = try SyntheticTraceSpec.fit(kind: recipe.kind, to: target, seed: seed ?? recipe.seed ?? 0)
                recipe = fitted
                report = r
            }
            if let duration { recipe.durationS = duration }
            if let rate { recipe.rate = rate }
            if let streams { recipe.streams = streams }
            if let seed { recipe.seed = seed }
            let resolved = recipe.resolved()
            do { try resolved.validate() } catch let e as TraceAnalysisError {
                throw CLIError.usage(spec.map { "\($0): \(e.message)" } ?? e.message)
            }
            let trace = try SyntheticTraceGenerator.generate(resolved, createdAt: stamp ?? nowISO8601())
            let size = try writeDataset(trace, to: output, compression: writing.compression)
            if let report {
                if json { say(try report.jsonString()) } else { say(report.render()) }
            }
            say("\(output): \(resolved.kind), \(trace.summaryLine), \(formatBytes(size))")
        }
    }
}
