import Foundation
import Testing
import SwitchGymCore
import SwitchGymNN
@testable import SwitchGymAgents

/// Issue 13, case 6: every number of a train config is checked where it is decoded (the
/// error names the file, the key and the range); networks and storage are sized before
/// they are allocated; an update that leaves `nan` stops the run.
@Suite("Train config bounds: out-of-range keys name the file, key and range; sizes are refused before allocation")
struct ConfigBoundsTests {
    @Test("case 6: values that trapped in the log-softmax or asked for 40 GB", arguments: [
        ("ppo", #"{"ent_coef": 1e300}"#, "key 'ent_coef': expected a finite number in [0, 1000]"),
        ("ppo", #"{"learning_rate": 1e38}"#, "key 'learning_rate': expected a finite number in [0, 1]"),
        ("dqn", #"{"learning_rate": 1e38}"#, "key 'learning_rate': expected a finite number in [0, 1]"),
        ("ppo", #"{"net_arch": [100000, 100000]}"#, "key 'net_arch[0]': expected an integer in [1, 65536] units"),
        ("ppo", #"{"n_envs": 1000000000}"#, "key 'n_envs'"),
        ("dqn", #"{"exploration_final_eps": -1}"#, "key 'exploration_final_eps'"),
    ])
    func case6(_ algo: String, _ json: String, _ expected: String) throws {
        let base = AgentConfig.defaults(algo == "ppo" ? .ppo : .dqn, serving: true)
        do {
            _ = try AgentConfig.decode(Data(json.utf8), over: base, source: "cfg.json")
            Issue.record("expected an error for \(json)")
        } catch let e as TrainingError {
            #expect("\(e)".contains("cfg.json") && "\(e)".contains(expected), "\(e)")
        }
    }

    @Test("batch_size = 64.5 names the key")
    func fractionalInteger() throws {
        do {
            _ = try AgentConfig.decode(Data(#"{"batch_size": 64.5}"#.utf8), over: .defaults(.ppo, serving: true), source: "cfg.json")
            Issue.record("expected an error")
        } catch let e as TrainingError {
            #expect("\(e)".contains("cfg.json") && "\(e)".contains("batch_size"), "\(e)")
        }
    }

    @Test("case 6: widths within range but too many parameters together are refused before allocating")
    func networkEstimate() throws {
        let wide = [65_536, 65_536]
        #expect(ConfigBounds.parameterCount([4] + wide + [2])! > ConfigBounds.maxParameters)
        let e = #expect(throws: AgentError.self) { try ConfigBounds.checkNetworks([[4] + wide + [2]]) }
        #expect(e?.message.contains("net_arch") == true && e?.message.contains("limit of \(ConfigBounds.maxParameters)") == true)
        try ConfigBounds.checkNetworks([[4, 64, 64, 2], [4, 64, 64, 1]])
        #expect(ConfigBounds.parameterCount([Int.max / 2, 4]) == nil)
    }

    @Test("a non-finite loss or parameter stops training with an error naming the update and the knob")
    func divergence() throws {
        let net = MLP(sizes: [2, 3, 1], hiddenActivation: .tanh)
        try Divergence.check("ppo", update: 1, losses: ["value_loss": 1], networks: [("critic", net)])
        let e = #expect(throws: AgentError.self) {
            try Divergence.check("ppo", update: 7, losses: ["value_loss": .nan], networks: [("critic", net)])
        }
        #expect(e?.message.contains("update 7") == true && e?.message.contains("learning_rate") == true)
        net.parameters[0] = .infinity
        #expect(throws: AgentError.self) { try Divergence.check("dqn", update: 2, losses: [:], networks: [("Q-network", net)]) }
    }
}
