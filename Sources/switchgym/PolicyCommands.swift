import ArgumentParser
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymData
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymONNX

/// A frozen policy file's format.
enum PolicyFormat: String, ExpressibleByArgument, CaseIterable {
    case safetensors
    /// An ONNX model computing the whole decision (SwitchGymONNX, ``ONNXPolicyExport``).
    case onnx
}

/// An exported policy file.
enum PolicyFileOutput: OutputKind {
    static var help: String { "The policy file to write (written atomically; docs/policy-format.md)." }
    static var valueName: String { "policy.safetensors" }
}

/// `switchgym export CHECKPOINT --format safetensors|onnx -o FILE`
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Freeze a trained policy into a policy file for a serving core (docs/policy-format.md).",
        discussion: """
            The file holds the network, the observation's features and frozen normalisation, the action layout, \
            the scenario's fingerprint, versions, the checkpoint's sha256 and golden cases that every reader \
            checks when it loads the file. The scenario and trace default to the run folder's config.json; \
            the bill scale (the observation's normalisation) is the trace's mean bills per interval, so give \
            the training trace.
            """)

    @Argument(help: "A checkpoint file (.h5) or a run folder (its latest checkpoint).")
    var checkpoint: String

    @Option(help: "The file format.")
    var format: PolicyFormat = .safetensors

    /// The env the policy serves; default: the run folder's config.json.
    @Option(help: ScenarioOptions.envHelp)
    var env: String?

    @Option(help: ScenarioOptions.traceHelp)
    var trace: String?

    @Option(help: "Beams of a family policy's decoding (1: greedy; default as eval).")
    var beamWidth: Int = FrozenPolicy.defaultBeamWidth

    @Option(help: "Golden self-test cases to store.")
    var golden: Int = PolicyFile.defaultGoldenCases

    @OptionGroup var seed: SeedOption

    @OptionGroup var output: OutputOptions<PolicyFileOutput>

    func run() throws {
        try reportingErrors(inputs: [checkpoint] + (env.map { [$0] } ?? []) + (trace.map { [$0] } ?? [])) {
            try Self.export(checkpoint: checkpoint, env: env, trace: trace, format: format, beamWidth: beamWidth, golden: golden,
                            seed: seed.value, to: output.out)
        }
    }

    /// Exports `checkpoint` to `path` and reads the written file back (checksum and self-test).
    static func export(checkpoint: String, env: String?, trace: String?, format: PolicyFormat = .safetensors,
                       beamWidth: Int = FrozenPolicy.defaultBeamWidth, golden: Int = PolicyFile.defaultGoldenCases,
                       seed: UInt64 = 0, to path: String) throws {
        let file = try make(checkpoint: checkpoint, env: env, trace: trace, beamWidth: beamWidth, golden: golden, seed: seed)
        try OutputGuard.check(output: path)
        switch format {
        case .safetensors:
            try file.write(to: path)
            _ = try PolicyFile.read(path: path)
        case .onnx:
            try ONNXPolicyExport.write(file, to: path)
        }
        let d = file.document
        say("exported \(d.policy.kind.rawValue) policy (\(d.policy.algorithm), network \(d.policy.network.sizes)) to \(path)")
        say("  observation \(d.observation.dimension) floats, action \(d.action.components.count) components, \(d.goldenCount) golden cases\(format == .onnx ? " (in metadata_props)" : "")"
            + (d.scenario.map { ", scenario \($0.name) \($0.fingerprint.prefix(12))" } ?? ""))
    }

    /// The policy file of `checkpoint` for `env` (default: the run folder's config.json).
    static func make(checkpoint: String, env: String?, trace: String?, beamWidth: Int, golden: Int, seed: UInt64) throws -> PolicyFile {
        let policy = try PolicyLoader.load(checkpoint)
        var envName = env, traceName = trace
        if envName == nil {
            let folder = URL(fileURLWithPath: policy.source).deletingLastPathComponent()
            guard FileSystem.exists(folder.appendingPathComponent(RunConfigFile.fileName).path) else {
                throw CLIError.usage("\(checkpoint): no config.json beside the checkpoint to say its env; give --env (and --trace, the training trace)")
            }
            // A damaged or changed config.json is an error naming it, not a missing one.
            let config = try trainingErrors { try TrainingRunConfig.read(from: folder) }
            envName = config.env
            if traceName == nil { traceName = config.trace }
        }
        let name = envName!
        let context: PolicyFile.Context, dimension: Int, layout: ActionLayout, family: FamilyObservationLayout?
        if EnvResolver.isScenarioPath(name) {
            let (spec, model) = try EnvResolver.scenarioSpec(path: name, trace: traceName)
            context = .init(scenario: model.scenario, normalization: model.normalization, checkpointPath: policy.source)
            if policy.normalization == nil {
                note("note: \(policy.source) predates recorded observation normalisation; the file freezes that of \(traceName ?? "the spec's trace") (bill scale \(model.billScale)). Give --trace the training trace.")
            }
            (dimension, layout, family) = (spec.observationSpace.low.count, spec.actionLayout, spec.familyLayout)
        } else {
            let spec = try EnvResolver.spec(name, trace: traceName)
            context = .init(scenario: nil, normalization: nil, checkpointPath: policy.source)
            (dimension, layout, family) = (spec.observationSpace.low.count, spec.actionLayout, spec.familyLayout)
        }
        return try PolicyFile.make(policy: policy, observationDimension: dimension, actionLayout: layout, familyLayout: family,
                                   context: context, beamWidth: beamWidth, goldenCases: golden, seed: seed)
    }
}

/// `switchgym act POLICY --input OBS.csv [--mask MASKS.csv]`
struct ActCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "act",
        abstract: "Run an exported policy file on observations: one action line per observation line.",
        discussion: """
            Reads the policy file (verifying its checksum and self-test), then for each line of --input \
            (the observation's floats, comma-separated) prints the action's integers, comma-separated. \
            --mask gives one line per observation of 0/1 entries (the action's mask width); without it \
            every value is allowed. The batch-1 latency (median and 99th percentile) goes to standard error.
            """)

    @Argument(help: "An exported policy file (switchgym export).")
    var policy: String

    @Option(help: ArgumentHelp("Observations, one per line, comma-separated floats.", valueName: "obs.csv"))
    var input: String

    @Option(help: ArgumentHelp("Masks, one per observation line, comma-separated 0/1.", valueName: "masks.csv"))
    var mask: String?

    /// Observations whose batch-1 latency is recorded for the percentiles (8 bytes each).
    static let timedObservations = 1 << 20

    func run() throws {
        try reportingErrors(inputs: [policy, input] + (mask.map { [$0] } ?? [])) {
            let file = try PolicyFile.read(path: policy)
            let bound = try file.bind(source: policy)
            let dim = file.document.observation.dimension, width = file.document.action.maskWidth
            // Both files are streamed a line at a time: memory does not grow with them.
            let observations = try CSVRows(input, width: dim, what: "observation") { Float($0).flatMap { $0.isFinite ? $0 : nil } }
            let masks = try mask.map { try CSVRows($0, width: width, what: "mask") { $0 == "1" ? true : $0 == "0" ? false : nil } }
            var out = [UInt8]()
            out.reserveCapacity(1 << 16)
            var nanos = [UInt64]()
            var count = 0
            while let obs = try observations.next() {
                let m: [Bool]?
                if let masks {
                    guard let row = try masks.next() else {
                        throw CLIError.data("\(masks.path): \(count) mask lines for more observation lines in \(input)")
                    }
                    m = row
                } else {
                    m = nil
                }
                count += 1
                let start = DispatchTime.now().uptimeNanoseconds
                let action: [Int]
                do { action = try bound.decide(observation: obs, mask: m) } catch let e as FrozenPolicy.LoadError {
                    throw CLIError.data("\(mask ?? input):\(masks?.line ?? observations.line): \(e.message)")
                }
                if nanos.count < Self.timedObservations { nanos.append(DispatchTime.now().uptimeNanoseconds - start) }
                for (k, a) in action.enumerated() {
                    if k > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: String(a).utf8)
                }
                out.append(UInt8(ascii: "\n"))
                if out.count >= 1 << 16 {
                    FileHandle.standardOutput.write(Data(out))
                    out.removeAll(keepingCapacity: true)
                }
            }
            if let masks, try masks.next() != nil {
                throw CLIError.data("\(masks.path): more mask lines than the \(count) observation lines in \(input)")
            }
            FileHandle.standardOutput.write(Data(out))
            nanos.sort()
            if !nanos.isEmpty {
                let p50 = nanos[nanos.count / 2], p99 = nanos[min(nanos.count - 1, nanos.count * 99 / 100)]
                let over = nanos.count < count ? " (timed over the first \(nanos.count))" : ""
                FileHandle.standardError.write(Data(
                    "acted on \(count) observations; batch-1 latency p50 \(String(format: "%.2f", Double(p50) / 1000)) µs, p99 \(String(format: "%.2f", Double(p99) / 1000)) µs\(over) (\(file.document.policy.kind.rawValue), beam \(file.document.policy.beamWidth))\n".utf8))
            }
        }
    }
}

/// Comma-separated rows of a fixed width, each field parsed by the caller, read one line at a
/// time (``TextLineReader``: a file, a pipe or a FIFO, plain or compressed; a line over 1 MiB
/// is an error). Blank lines are skipped; errors name the file, the line and the field.
final class CSVRows<T> {
    private let reader: TextLineReader
    private let width: Int
    private let what: String
    private let parse: (Substring) -> T?

    init(_ path: String, width: Int, what: String, _ parse: @escaping (Substring) -> T?) throws {
        reader = try TextLineReader(path: path)
        self.width = width
        self.what = what
        self.parse = parse
    }

    /// The path named in errors.
    var path: String { reader.path }
    /// The 1-based number of the line last read.
    var line: Int { reader.line }

    /// The next row, or `nil` at the end of the file.
    func next() throws -> [T]? {
        while let text = try reader.next() {
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == width else {
                throw CLIError.data("\(path):\(line): \(fields.count) fields; the policy's \(what) has \(width)")
            }
            var row = [T]()
            row.reserveCapacity(width)
            for (i, f) in fields.enumerated() {
                guard let v = parse(f.trimmingCharacters(in: .whitespaces)[...]) else {
                    throw CLIError.data("\(path):\(line): field \(i + 1) '\(f)' is not a valid \(what) entry\(what == "mask" ? " (0 or 1)" : " (a finite number)")")
                }
                row.append(v)
            }
            return row
        }
        return nil
    }
}
