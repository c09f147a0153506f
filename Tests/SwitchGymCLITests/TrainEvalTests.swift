import Foundation
import Testing
import SwitchGymIO

/// The package root (three levels above this file).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// metrics.csv without wall times and without the time-based SPS rows.
private func deterministicMetrics(_ dir: String) throws -> [String] {
    try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        .filter { !$0.contains("charts/SPS") }
        .map { $0.split(separator: ",").prefix(3).joined(separator: ",") }
}

@Suite("switchgym train and eval", .serialized)
struct TrainEvalTests {
    @Test("a resumed run continues bit for bit: same metrics and the same final checkpoint as an uninterrupted run")
    func resumeIsBitExact() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = ["train", "--env", "CartPole-v1", "--seed", "3", "--steps", "6000", "--checkpoint-every", "1024", "--quiet"]
        let a = try run(base + ["--out", dir + "/a"])
        #expect(a.status == 0, "\(a.stderr)")
        let b1 = try run(base + ["--out", dir + "/b", "--stop-at", "3000"])
        #expect(b1.status == 0, "\(b1.stderr)")
        #expect(!files(dir + "/b").contains { $0.hasPrefix("ckpt-00000061") })
        let b2 = try run(["train", "--env", "CartPole-v1", "--out", dir + "/b", "--resume", "--quiet"])
        #expect(b2.status == 0, "\(b2.stderr)")
        let ma = try deterministicMetrics(dir + "/a"), mb = try deterministicMetrics(dir + "/b")
        #expect(ma.count > 20)
        #expect(ma == mb)
        let last = try #require(files(dir + "/a").filter { $0.hasPrefix("ckpt-") }.last)
        #expect(files(dir + "/b").contains(last))
        let ca = try FileSystem.readAll(dir + "/a/" + last), cb = try FileSystem.readAll(dir + "/b/" + last)
        #expect(ca == cb, "the final checkpoints differ")
        // keep-last-3, a config.json and a TensorBoard event file per session.
        #expect(files(dir + "/a").filter { $0.hasPrefix("ckpt-") }.count == 3)
        #expect(files(dir + "/b").filter { $0.hasPrefix("events.out.tfevents.") }.count == 2)
        #expect(files(dir + "/a").contains("config.json"))
    }

    @Test("train --stop-at-return stops early and says so; --eval-every keeps best.h5, which export reads; bad goals are usage errors")
    func trainingGoals() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try run(["train", "--env", "CartPole-v1", "--seed", "1", "--steps", "50000", "--stop-at-return", "60",
                         "--eval-every", "2048", "--eval-episodes", "3", "--out", dir + "/r", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("reached --stop-at-return 60") && t.stdout.contains("best evaluation"), "\(t.stdout)")
        let steps = try #require(Int(t.stdout.split(separator: ":")[1].split(separator: " ")[0]))
        #expect(steps < 50_000)
        #expect(files(dir + "/r").contains("best.h5"))
        let config = try String(contentsOfFile: dir + "/r/config.json", encoding: .utf8)
        #expect(config.contains("\"stop_at_return\"") && config.contains("\"eval_every\""))
        // --stop-on eval: stops at an evaluation (a multiple of 2048 past which the update ended)
        // whose mean reached the return, and says so.
        let v = try run(["train", "--env", "CartPole-v1", "--seed", "1", "--steps", "50000", "--stop-at-return", "60", "--stop-on", "eval",
                         "--eval-every", "2048", "--eval-episodes", "3", "--out", dir + "/v", "--quiet"])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.contains("reached --stop-at-return 60 (evaluation mean)"), "\(v.stdout)")
        let evalConfig = try String(contentsOfFile: dir + "/v/config.json", encoding: .utf8)
        #expect(evalConfig.contains("\"stop_on\" : \"eval\"") || evalConfig.contains("\"stop_on\":\"eval\""), "\(evalConfig)")
        let e = try run(["export", dir + "/r/best.h5", "--format", "safetensors", "-o", dir + "/p.safetensors"])
        #expect(e.status == 0, "\(e.stderr)")
        for (args, option) in [(["--eval-every", "0"], "--eval-every"), (["--stop-at-return", "inf"], "--stop-at-return"),
                               (["--eval-every", "10", "--eval-episodes", "0"], "--eval-episodes"),
                               (["--stop-at-return", "10", "--stop-on", "eval"], "--stop-on"),
                               (["--eval-every", "10", "--stop-on", "eval"], "--stop-on"),
                               (["--stop-at-return", "10", "--eval-every", "10", "--stop-on", "evaluation"], "--stop-on")] {
            let bad = try run(["train", "--env", "CartPole-v1", "--out", dir + "/bad", "--quiet"] + args)
            #expect(bad.status != 0 && bad.stderr.contains(option), "\(args): \(bad.stderr)")
        }
    }

    @Test("envs rollout --policy CHECKPOINT acts with the trained policy (greedy, deterministic)")
    func rolloutWithCheckpoint() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try run(["train", "--env", "CartPole-v1", "--steps", "1024", "--out", dir + "/r", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let a = try run(["envs", "rollout", "--env", "CartPole-v1", "--policy", dir + "/r", "--steps", "20", "--seed", "4"])
        let b = try run(["envs", "rollout", "--env", "CartPole-v1", "--policy", dir + "/r", "--steps", "20", "--seed", "4"])
        #expect(a.status == 0, "\(a.stderr)")
        let lines = a.stdout.split(separator: "\n")
        #expect(lines.count >= 21 && a.stdout == b.stdout)
        #expect(lines.dropFirst().allSatisfy { $0.contains("\"action\":0") || $0.contains("\"action\":1") || $0.contains("\"action\":null") })
        let bad = try run(["envs", "rollout", "--env", "Bandit-v0", "--policy", dir + "/r", "--steps", "2"])
        #expect(bad.status != 0 && bad.stderr.contains("observations"), "\(bad.stderr)")
    }

    @Test("bad train input: unknown config key, an existing run, nothing to resume")
    func badTrainInput() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("{\"n_steps\": 16, \"lr\": 0.1}", dir + "/c.json")
        let r = try run(["train", "--env", "CartPole-v1", "--config", dir + "/c.json", "--out", dir + "/r", "--quiet"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("c.json") && r.stderr.contains("unknown ppo config key 'lr'"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r/config.json"))
        let ok = try run(["train", "--env", "CartPole-v1", "--steps", "512", "--out", dir + "/r", "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let again = try run(["train", "--env", "CartPole-v1", "--steps", "512", "--out", dir + "/r", "--quiet"])
        #expect(again.status == 73 && again.stderr.contains("already holds a run"), "\(again.stderr)")
        let none = try run(["train", "--env", "CartPole-v1", "--out", dir + "/empty", "--resume", "--quiet"])
        #expect(none.status == 66, "\(none.stderr)")
    }

    @Test("eval compares a trained policy with every baseline, prints JSON and exports CSVs, a notebook and SVGs")
    func evalAndExport() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = packageRoot + "/envs/vision-zoo.toml"
        try write("{\"n_steps\": 32, \"n_epochs\": 2, \"n_timesteps\": 1024}", dir + "/small.json")
        let t = try run(["train", "--env", spec, "--config", dir + "/small.json", "--out", dir + "/run", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let e = try run(["eval", dir + "/run", "--env", spec, "--json", "--export", dir + "/report"])
        #expect(e.status == 0, "\(e.stderr)")
        let line = try #require(e.stdout.split(separator: "\n").first)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let policies = try #require(obj["policies"] as? [[String: Any]])
        let names = policies.compactMap { $0["name"] as? String }
        #expect(names.first == "ppo:run")
        for n in ["static-best", "reactive", "infaas", "forecast-holt-winters", "mccall", "oracle"] { #expect(names.contains(n), "\(n) missing") }
        let bound = try #require(obj["oracle_bound"] as? Double)
        // Kinds, and the best deployable baseline (never the oracle, never a trained policy).
        let kinds = policies.compactMap { $0["kind"] as? String }
        #expect(kinds.first == "trained" && kinds.last == "oracle" && kinds.dropFirst().dropLast().allSatisfy { $0 == "baseline" })
        let best = try #require(obj["best_baseline"] as? [String: Any])
        let baselineUtilities = policies.filter { ($0["kind"] as? String) == "baseline" }.compactMap { $0["utility"] as? Double }
        #expect(best["utility"] as? Double == baselineUtilities.max())
        #expect(policies.contains { $0["name"] as? String == best["name"] as? String && $0["kind"] as? String == "baseline" })
        for p in policies {
            for k in ["utility", "goodput", "slo_attainment", "mean_accuracy", "cost", "switches"] { #expect(p[k] != nil, "\(k) missing") }
            #expect((p["utility"] as! Double) <= bound * (1 + 1e-9))
        }
        let exported = files(dir + "/report")
        for f in ["policies.csv", "intervals.csv", "assignments.csv", "crossover.csv", "dispatch.csv", "report.ipynb",
                  "rate.svg", "utility.svg", "crossover.svg", "variants-ppo_run.svg"] {
            #expect(exported.contains(f), "\(f) not exported")
        }
        // SHA256SUMS lists every other file of the folder, and each matches.
        #expect(Set(try ContentChecksum.verifyManifest(folder: dir + "/report")) == Set(exported).subtracting(["SHA256SUMS"]))
        let csv = try String(contentsOfFile: dir + "/report/policies.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == policies.count + 1)
        #expect(csv[0].hasPrefix("policy,kind,utility") && csv[1].hasPrefix("ppo:run,trained,"))
        // The text table ends with the trained policy's margin over that baseline.
        let text = try run(["eval", dir + "/run", "--env", spec, "--baselines", "static-best,reactive"])
        let margin = try #require(text.stdout.split(separator: "\n").last { $0.hasPrefix("against the best baseline (") })
        let rows = text.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        func utility(_ name: String) -> Double? { rows.first { $0.first.map(String.init) == name }.flatMap { Double($0[1]) } }
        let (ppo, sb, re) = (try #require(utility("ppo:run")), try #require(utility("static-best")), try #require(utility("reactive")))
        let top = max(sb, re)
        #expect(margin.contains(sb >= re ? "(static-best," : "(reactive,"), "\(margin)")
        // The printed margin (2 decimals) against one recomputed from the table's 4-digit utilities.
        let printed = try #require(Double(margin.split(separator: " ").last!.dropLast()))
        #expect(abs(printed - 100 * (ppo - top) / abs(top)) < 0.15, "\(margin)")
        let nb = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/report/report.ipynb"))) as? [String: Any])
        #expect(nb["nbformat"] as? Int == 4)
        #expect(((nb["cells"] as? [Any])?.count ?? 0) >= 4)
        // The trained policy's decisions replayed on both fidelities.
        let fid = try run(["envs", "fidelity", "--env", spec, "--policy", dir + "/run", "--intervals", "30", "--json"])
        #expect(fid.status == 0, "\(fid.stderr)")
        let fidObj = try #require(try JSONSerialization.jsonObject(with: Data(fid.stdout.utf8)) as? [String: Any])
        #expect(fidObj["policy"] as? String == "ppo:run" && fidObj["intervals"] as? Int == 30)
        #expect(fidObj["discrete_event"] is [String: Any] && fidObj["fluid"] is [String: Any])
        let missing = try run(["envs", "fidelity", "--env", spec, "--policy", dir + "/nope.h5"])
        #expect(missing.status != 0 && missing.stderr.contains("nope.h5"), "\(missing.stderr)")
        // A CartPole policy does not fit the scenario: the error names the checkpoint and the shapes.
        let cp = try run(["train", "--env", "CartPole-v1", "--steps", "256", "--out", dir + "/cp", "--quiet"])
        #expect(cp.status == 0)
        let bad = try run(["eval", dir + "/cp", "--env", spec, "--baselines", "none"])
        #expect(bad.status == 65 && bad.stderr.contains("cp") && bad.stderr.contains("observations"), "\(bad.stderr)")
    }

    @Test("fleets of 1 and 8 GPUs: envs simulate, train, eval --baselines all and envs fidelity run, and an 8-GPU policy evaluates on 1")
    func smallFleetsEndToEnd() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in [1, 8] {
            try write("""
                extends = "\(packageRoot)/envs/vision-zoo.toml"
                name = "vision-\(n)"
                [trace]
                dataset = "\(packageRoot)/datasets/default.h5"
                mean_rate = \(1000 * n).0
                [[fleet]]
                name = "a100"
                memory_gb = 80.0
                count = \(n)
                initial = "efficientnet-b0-amp"
                """, dir + "/v\(n).toml")
        }
        guard FileManager.default.fileExists(atPath: packageRoot + "/datasets/default.h5") else {
            print("skipping smallFleetsEndToEnd: datasets/default.h5 is missing (./Scripts/bootstrap.sh makes it)")
            return
        }
        try write("{\"n_steps\": 16, \"n_epochs\": 1, \"n_timesteps\": 256, \"net_arch\": [16]}", dir + "/small.json")
        for n in [1, 8] {
            let spec = dir + "/v\(n).toml"
            let sim = try run(["envs", "simulate", "--env", spec])
            #expect(sim.status == 0 && sim.stdout.contains("static-best"), "\(sim.stderr)")
            let t = try run(["train", "--env", spec, "--config", dir + "/small.json", "--out", dir + "/run\(n)", "--quiet"])
            #expect(t.status == 0, "\(t.stderr)")
            let e = try run(["eval", dir + "/run\(n)", "--env", spec, "--baselines", "all", "--json"])
            #expect(e.status == 0, "\(e.stderr)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
            let policies = try #require(obj["policies"] as? [[String: Any]])
            let bound = try #require(obj["oracle_bound"] as? Double)
            #expect(policies.count == 1 + 4 + ServingBaselinesNames.all.count)
            for p in policies { #expect((p["utility"] as! Double) <= bound * (1 + 1e-9) + 1e-6, "\(p)") }
            let f = try run(["envs", "fidelity", "--env", spec, "--policy", "reactive", "--intervals", "20", "--json"])
            #expect(f.status == 0, "\(f.stderr)")
        }
        // The family policy trained on 8 GPUs acts on the 1-GPU fleet (same class and variants).
        let cross = try run(["eval", dir + "/run8", "--env", dir + "/v1.toml", "--baselines", "none"])
        #expect(cross.status == 0 && cross.stdout.contains("ppo:run8"), "\(cross.stderr)")
    }

    @Test("a scenario spec with an unknown key is refused naming the file and the key path")
    func badSpec() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: packageRoot + "/envs/llm-zoo.toml", encoding: .utf8)
            .replacingOccurrences(of: "count = 4", with: "count = 4\ngpus_per_node = 8")
            .replacingOccurrences(of: "../datasets/default.h5", with: packageRoot + "/datasets/default.h5")
        try write(text, dir + "/spec.toml")
        for args in [["envs", "rollout", "--env", dir + "/spec.toml", "--steps", "3"], ["eval", "--env", dir + "/spec.toml"]] {
            let r = try run(args)
            #expect(r.status == 65, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("spec.toml") && r.stderr.contains("fleet[0].gpus_per_node") && r.stderr.contains("unknown key"), "\(r.stderr)")
        }
    }
}

/// The baselines `eval --baselines all` runs besides static:VARIANT (SwitchGymAgents' list).
enum ServingBaselinesNames {
    static let all = ["static-best", "reactive", "infaas", "forecast-ewma", "forecast-holt-winters", "forecast-rls", "mccall", "oracle"]
}
