import ArgumentParser
import SwitchGymCore
import SwitchGymEnvs

// The options that several commands share, each defined once so that its name and help are
// the same everywhere (`OptionConsistencyTests` checks every command against these rules):
//
// - the env a command runs is `--env`, never a positional argument;
// - `--trace` replays a dataset instead of the spec's trace;
// - `--seed` seeds a command's random draws;
// - the primary output is `-o`/`--out` (secondary outputs keep their own names: `eval
//   --export`, `traces split --train-out/--heldout-out`, `traces inspect --plot`).

// MARK: - --env, --trace

/// `--env` and `--trace`: the env or scenario a command runs, and the trace it replays.
///
/// Commands whose env has a default (`quickstart`, `bench fleet`) or is optional (`bench envs`)
/// declare their own `--env` with ``envHelp``; every other command takes this group.
struct ScenarioOptions: ParsableArguments {
    /// The help of every `--env`.
    static let envHelp = ArgumentHelp(
        "A scenario spec (envs/*.toml), or a registered env id (CartPole-v1, ...) where the command runs plain envs; see `switchgym envs list`.",
        valueName: "env")

    /// The help of every `--trace`.
    static let traceHelp = ArgumentHelp(
        "For a scenario spec: replay this trace dataset (.h5) instead of the spec's, e.g. a part written by `traces split`.",
        valueName: "dataset.h5")

    @Option(help: ScenarioOptions.envHelp)
    var env: String

    @Option(help: ScenarioOptions.traceHelp)
    var trace: String?

    /// The files the command reads, for its exit status on a missing file.
    var inputs: [String] { [env] + (trace.map { [$0] } ?? []) }

    /// The scenario of `--env`, for commands that need a spec.
    func loadSpec() throws -> ServingScenario { try Self.loadSpec(env) }

    /// The scenario spec at `env`; a registered env id is a usage error that says which
    /// commands take one.
    static func loadSpec(_ env: String) throws -> ServingScenario {
        if !EnvResolver.isScenarioPath(env), (try? EnvRegistry.spec(env)) != nil {
            throw CLIError.usage("--env \(env): this command needs a scenario spec (envs/*.toml); registered env ids run in `train`, `envs rollout` and `bench envs`")
        }
        return try ScenarioSpec.load(path: env)
    }
}

// MARK: - --seed

/// `--seed`: the seed of a command's random draws (the agent and envs in `train`, the random
/// policy in `envs simulate`, resets and the random policy in `envs rollout`, the generator in
/// `traces synth`, the per-minute expansion in `traces import`).
///
/// Optional, so commands that read a config or recipe keep its seed when `--seed` is absent;
/// the others use ``value`` (0 by default). `quickstart --seed` (repeatable, one run per seed)
/// and `bench agents --seeds` (a count) mean something else and are declared on their own.
struct SeedOption: ParsableArguments {
    @Option(name: .customLong("seed"), help: ArgumentHelp(
        "Seed of the command's random draws; the same seed gives the same output (default: the config's or recipe's seed where the command reads one, else 0).",
        valueName: "n"))
    var given: UInt64?

    /// The seed, 0 when not given.
    var value: UInt64 { given ?? 0 }
}

// MARK: - --redraw

/// `--redraw`: how the env benchmarks (`bench envs`, `bench fleet`) draw their random actions.
struct RedrawOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Share of each step's choices drawn anew; the others repeat the previous step's (1, the default: every choice random, so almost every device switches every interval; about 0.2 matches how often the trained policies measured in the README switch).",
        valueName: "p"))
    var redraw: Double = 1

    func validate() throws {
        guard redraw > 0 && redraw <= 1 else { throw ValidationError("--redraw must be in (0, 1], got \(redraw).") }
    }
}

// MARK: - --out

/// What a command's `--out` names, for its help.
protocol OutputKind {
    /// The help of `--out`.
    static var help: String { get }
    /// The value's name in the usage line.
    static var valueName: String { get }
}

/// A run folder: config.json, metrics.csv, TensorBoard events and checkpoints.
enum RunFolderOutput: OutputKind {
    static var help: String { "The run folder (config.json, metrics.csv, TensorBoard events, checkpoints)." }
    static var valueName: String { "folder" }
}

/// A canonical trace dataset.
enum DatasetOutput: OutputKind {
    static var help: String { "The dataset to write (HDF5, written atomically)." }
    static var valueName: String { "out.h5" }
}

/// `-o`/`--out`: where a command writes its result. `quickstart --out` has a default and so
/// declares its own, named ``ArgumentParser/NameSpecification/out``.
struct OutputOptions<Kind: OutputKind>: ParsableArguments {
    @Option(name: .out, help: ArgumentHelp(Kind.help, valueName: Kind.valueName))
    var out: String
}

extension NameSpecification {
    /// The names of every primary output option: `-o`, `--out`.
    static var out: NameSpecification { [.customShort("o"), .customLong("out")] }
}

// MARK: - Old spellings

/// Option spellings that were renamed, still accepted with a note on standard error, without
/// showing in any help.
enum DeprecatedSpellings {
    /// The command path, the old spelling and the new one.
    static let renamed: [(command: [String], old: String, new: String)] = [
        (["traces", "import"], "--output", "--out"),
        (["traces", "synth"], "--output", "--out"),
    ]

    /// `arguments` with each old spelling replaced by the new one (also in `--old=VALUE`
    /// form), up to a `--` terminator.
    static func rewrite(_ arguments: [String], warn: (String) -> Void = note) -> [String] {
        var args = arguments
        for r in renamed where args.starts(with: r.command) {
            for i in args.indices.dropFirst(r.command.count) {
                if args[i] == "--" { break }
                if args[i] == r.old {
                    args[i] = r.new
                } else if args[i].hasPrefix(r.old + "=") {
                    args[i] = r.new + args[i].dropFirst(r.old.count)
                } else {
                    continue
                }
                warn("warning: \(r.old) is deprecated; use \(r.new)")
            }
        }
        return args
    }
}
