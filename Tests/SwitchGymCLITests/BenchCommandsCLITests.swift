import Foundation
import Testing

/// The `bench` commands run end to end and print what their JSON lines promise. Their
/// figures are the benchmark's business, not the test's: these runs are short and debug.
@Suite("switchgym bench: the commands run end to end", .serialized)
struct BenchCommandsCLITests {
    /// The JSON lines of `stdout`, decoded.
    func lines(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
        }
    }

    @Test("bench fleet: fluid, discrete-event, PPO training and every baseline at a small fleet")
    func fleet() throws {
        // PPO training ran with `n_timesteps` 2^40, which the config's bounds (at most 1e12)
        // refused: the command stopped with an error after the env figures.
        let r = try run(["bench", "fleet", "--env", packageRoot + "/envs/vision-zoo.toml", "--devices", "2",
                         "--train-devices", "2", "--eval-devices", "2", "--seconds", "0.01", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try lines(r.stdout)
        let kinds = Set(out.compactMap { $0["bench"] as? String })
        #expect(kinds == ["fluid", "discrete-event", "ppo", "baseline"], "\(r.stdout)")
        let ppo = try #require(out.first { $0["bench"] as? String == "ppo" })
        #expect((ppo["steps_per_second"] as? Double ?? 0) > 0)
        let baselines = out.filter { $0["bench"] as? String == "baseline" }.compactMap { $0["baseline"] as? String }
        #expect(baselines.contains("oracle") && baselines.contains("static-best") && baselines.count >= 6, "\(baselines)")
    }

    @Test("bench envs on a scenario: its fluid env and its discrete-event fidelity, no allocation per step")
    func envs() throws {
        let r = try run(["bench", "envs", "--env", packageRoot + "/envs/vision-zoo.toml", "--seconds", "0.01", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try lines(r.stdout)
        #expect(out.count == 2, "\(r.stdout)")
        let fluid = try #require(out.first)
        #expect((fluid["steps_per_second"] as? Double ?? 0) > 0)
        #expect(fluid["allocations_per_step"] as? Double == 0)
    }

    @Test("--redraw: a share in (0, 1]; anything else is refused with the option named")
    func redraw() throws {
        let ok = try run(["bench", "envs", "--env", "CartPole-v1", "--seconds", "0.01", "--redraw", "0.1", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        for bad in ["0", "1.5", "nan"] {
            let r = try run(["bench", "fleet", "--devices", "2", "--train-devices", "2", "--eval-devices", "2", "--redraw", bad])
            #expect(r.status != 0 && r.stderr.contains("--redraw must be in (0, 1]"), "\(bad): \(r.stderr)")
        }
    }
}
