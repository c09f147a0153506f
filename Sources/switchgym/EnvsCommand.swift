import ArgumentParser
import Foundation
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO

/// `switchgym envs`: list the registered envs and roll one out.
struct EnvsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envs",
        abstract: "List the registered environments and roll them out.",
        subcommands: [List.self, RolloutCommand.self, SimulateCommand.self, FidelityCommand.self, InterferenceCommand.self])

    /// `switchgym envs list`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every registered env id with its observation and action spaces.")

        func run() throws {
            for spec in EnvRegistry.all {
                let limit = spec.maxEpisodeSteps.map { "  max_episode_steps=\($0)" } ?? ""
                print("\(spec.id)  obs=\(spec.observationSpace)  action=\(spec.actionDescription)\(limit)")
                print("    \(spec.summary)")
            }
            for path in EnvResolver.shippedSpecPaths() {
                do {
                    let sc = try ScenarioSpec.load(path: path)
                    let classes = sc.classes
                    let fleet = zip(classes.names, classes.sizes).map { "\($1) x \($0)" }.joined(separator: " + ")
                    print("\(path)  variants=\(sc.variants.count) devices=\(sc.fleet.count) (\(fleet)) streams=\(sc.streams.count)  action=\(sc.fleet.count) x Discrete(\(sc.variants.count))  interval=\(sc.decisionInterval)s")
                    print("    \(sc.summary)")
                } catch {
                    print("\(path)  (invalid: \(error))")
                }
            }
        }
    }

    /// `switchgym envs rollout --env ENV --seed N --steps K [--policy random|CHECKPOINT] [--actions FILE]`
    struct RolloutCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollout",
            abstract: "Run an env and print one JSON object per line.",
            discussion: """
                Each line is {"t", "obs", "action", "reward", "terminated", "truncated"}. The first line \
                is the reset observation with "action": null; each later line holds the action taken and \
                the resulting observation, reward and flags (t counts steps within the episode). When an \
                episode ends, the next line is a new reset. --seed seeds the first reset and the random \
                policy.
                """)

        @OptionGroup var scenario: ScenarioOptions

        @OptionGroup var seed: SeedOption

        @Option(help: "Number of steps (actions); defaults to 100, or to the length of --actions.")
        var steps: Int?

        @Option(help: "`random`, or a checkpoint file or run folder (the trained policy, its most probable action), or a policy file from `export` (with its own beam width).")
        var policy: String = "random"

        @Option(help: "A file of actions, one per line: an integer, or for a scenario one variant index per device separated by spaces or commas (overrides --policy).")
        var actions: String?

        @Option(help: ArgumentHelp("Comma-separated state set after the first reset (parity checks).",
                                   visibility: .hidden))
        var initialState: String?

        func validate() throws {
            if let steps, steps < 0 { throw ValidationError("--steps must be non-negative, got \(steps).") }
            if !EnvResolver.isScenarioPath(scenario.env) { _ = try EnvRegistry.spec(scenario.env) }
        }

        func run() throws {
            let spec = try reportingErrors(inputs: scenario.inputs) { try EnvResolver.spec(scenario.env, trace: scenario.trace) }
            let rolloutPolicy: RolloutPolicy
            if let actions {
                let contents = String(decoding: try reportingErrors(inputs: [actions]) {
                    try FileSystem.readAll(actions, limit: 256 << 20, what: "an actions file (one action per line)")
                }, as: UTF8.self)
                rolloutPolicy = .script(try ActionScript(parsing: contents, source: actions))
            } else if policy == "random" {
                rolloutPolicy = .random
            } else {
                let bound = try reportingErrors(inputs: [policy]) {
                    try PolicyLoader.runnable(policy).bind(observationDimension: spec.observationSpace.count, actionLayout: spec.actionLayout,
                                                           familyLayout: spec.familyLayout)
                }
                rolloutPolicy = .function(RolloutFunction { obs, mask in bound.act(observation: obs, mask: mask) })
            }
            var count = steps ?? 100
            if steps == nil, case .script(let script) = rolloutPolicy { count = script.actions.count }
            let state = try initialState.map { text in
                try text.split(separator: ",").map { part -> Double in
                    guard let v = Double(part.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--initial-state: '\(part)' is not a number.")
                    }
                    return v
                }
            }
            var out = FileHandleOutput()
            try Rollout.run(spec: spec, seed: seed.value, steps: count, policy: rolloutPolicy, initialState: state) { line in
                out.write(line)
            }
            out.flush()
        }
    }
}

/// Buffered stdout for long JSON-lines output.
private struct FileHandleOutput {
    private var buffer = ""
    mutating func write(_ line: String) {
        buffer += line
        buffer += "\n"
        if buffer.utf8.count > 1 << 16 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}
