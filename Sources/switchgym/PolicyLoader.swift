import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs

/// Loads a trained policy (``RunnablePolicy``: a checkpoint, a run folder or a policy file) and
/// runs it, mapping its errors to the CLI's exit statuses.
enum PolicyLoader {
    /// ``FrozenPolicy/load(path:)`` with CLI errors: a checkpoint or run folder only (`export`).
    static func load(_ path: String) throws -> FrozenPolicy {
        if PolicyFile.isPolicyFile(path: path) {
            throw CLIError.usage("\(path) is a policy file already; pass the checkpoint (ckpt-*.h5) or run folder it was exported from")
        }
        do { return try FrozenPolicy.load(path: path) } catch let e as FrozenPolicy.LoadError { throw cliError(e) }
    }

    /// ``RunnablePolicy/load(path:)`` with CLI errors: a checkpoint, a run folder, or a policy
    /// file (run with its own beam width).
    static func runnable(_ path: String) throws -> RunnablePolicy {
        do { return try RunnablePolicy.load(path: path) } catch let e as FrozenPolicy.LoadError { throw cliError(e) }
    }

    /// A load error's exit status: no input when the file or folder is missing, else data error.
    private static func cliError(_ e: FrozenPolicy.LoadError) -> CLIError {
        CLIError(message: e.message, status: e.kind == .notFound ? ExitStatus.noInput : ExitStatus.dataError)
    }

    /// A checkpoint's name in tables: its run folder's (`run-s0`), or the file's; with
    /// `components` > 1, that many trailing path components (`llm/run-s0`), to tell apart runs
    /// whose folders share a name.
    static func displayName(_ path: String, components: Int = 1) -> String {
        var url = URL(fileURLWithPath: path)
        if url.lastPathComponent.hasPrefix("ckpt-") { url.deleteLastPathComponent() }
        var parts = [String]()
        for _ in 0..<components where !url.lastPathComponent.isEmpty && url.path != "/" {
            parts.insert(url.lastPathComponent, at: 0)
            url.deleteLastPathComponent()
        }
        return parts.joined(separator: "/")
    }

    /// `model` with the observation scaled as `policy` was trained (``FrozenPolicy/normalization``);
    /// a checkpoint that predates it is evaluated with the model's own, with a note.
    static func normalized(_ model: ServingModel, for policy: FrozenPolicy) throws -> ServingModel {
        guard let n = policy.normalization else {
            note("note: \(policy.source) predates recorded observation normalisation; its observation is scaled by the evaluated trace's own mean (bill scale \(model.billScale)).")
            return model
        }
        return n == model.normalization ? model : try model.normalized(n)
    }

    /// The policy's run over `model`'s whole series (fluid fidelity).
    /// `spec`: the scenario as its spec file gives it (what `export` fingerprints; the evaluated
    /// model's copy differs, e.g. in its episode length).
    static func evaluate(checkpoint path: String, spec: ServingScenario, model evaluated: ServingModel, nameComponents: Int = 1) throws -> ServingRun {
        let loaded = try runnable(path)
        let policy = loaded.policy
        if let n = loaded.otherScenarioNote(name: spec.name, fingerprint: spec.fingerprint) { note(n) }
        let model = try normalized(evaluated, for: policy)
        let bound: BoundPolicy
        do {
            bound = try loaded.bind(observationDimension: model.observationDimension, actionLayout: model.actionLayout,
                                    familyLayout: model.observationLayout)
        } catch let e as FrozenPolicy.LoadError {
            throw CLIError(message: e.message, status: ExitStatus.dataError)
        }
        let name = displayName(path, components: nameComponents)
        return ServingEvaluation.run(name: "\(policy.algorithm):\(name)", model: model) { _, obs, mask, out in
            bound.act(observation: obs.baseAddress!, mask: mask.baseAddress!, into: out.baseAddress!)
        }
    }
}
