import Foundation
import SwitchGymAgents
import SwitchGymEnvs

/// Loads a trained policy from a checkpoint and runs it over a scenario's whole trace.
enum PolicyLoader {
    static func evaluate(checkpoint path: String, model: ServingModel) throws -> ServingRun {
        throw CLIError(message: "\(path): evaluating checkpoints needs the PPO/DQN agents (not merged yet).", status: ExitStatus.usage)
    }
}
