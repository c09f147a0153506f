import Foundation
import Testing
import SwitchGymIO

/// `envs simulate --fidelity des --requests-out`: one CSV row per request, through the binary.
@Suite("envs simulate --fidelity des --requests-out: a row per request", .serialized)
struct RequestsOutCLITests {
    /// One LLM variant (b0 5 ms, 20 us per prefill token, 10 us per decode token) on one device.
    static let spec = """
        name = "req-out"
        decision_interval_s = 10.0
        [trace]
        dataset = "t.h5"
        [reward]
        served = 1.0
        accuracy = 0.0
        cost = 0.0
        slo = 1.0
        [[variants]]
        name = "llm"
        accuracy = 0.7
        batch_sizes = [1]
        latency_ms = [100.0]
        memory_gb = 40.0
        load_s_disk = 1.0
        load_s_ram = 0.5
        cost_per_s = 1.0
        [variants.llm]
        step_base_us = 5000.0
        prefill_us_per_token = 20.0
        decode_us_per_token = 10.0
        weights_gb = 16.0
        kv_bytes_per_token = 131072
        [[fleet]]
        name = "gpu"
        memory_gb = 80.0
        count = 1
        host_ram_gb = 100.0
        initial = "llm"
        [[streams]]
        name = "all"
        deadline_ms = 600000.0
        share = 1.0
        drop_after = 10
        """

    /// Requests 2 s apart (each alone on the device): every row has the step model's closed form
    /// for its own lengths, TTFT = b0 + b1 prompt and E2E = TTFT + (output - 1)(b0 + b2).
    @Test func isolatedRequestsHaveTheClosedFormLatencies() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(Self.spec, dir + "/s.toml")
        try write("timestamp,tokens_in,tokens_out\n0,1000,50\n2,300,1\n4,2000,20\n6,64,100\n", dir + "/t.csv")
        #expect(try run(["traces", "import", "t.csv", "--out", "t.h5"], cwd: dir).status == 0)
        let r = try run(["envs", "simulate", "--env", "s.toml", "--policy", "hold", "--fidelity", "des",
                         "--requests-out", "r.csv"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("r.csv: 4 requests (0 dropped)") && r.stderr.contains("0 still in flight"), "\(r.stderr)")
        // The CSV's sha256sum sidecar matches it.
        #expect(try ContentChecksum.verifySidecar(for: dir + "/r.csv"))
        let lines = try String(contentsOfFile: dir + "/r.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "arrival_s,stream,device,prompt_tokens,output_tokens,ttft_s,tpot_s,e2e_s,preemptions,dropped")
        try #require(lines.count == 5)
        for (k, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            try #require(f.count == 10)
            let prompt = Double(f[3])!, output = Double(f[4])!
            let ttft = (5000 + 20 * prompt) * 1e-6, e2e = ttft + (output - 1) * 5010e-6
            #expect(Double(f[0]) == Double(2 * k) && f[1] == "all" && f[2] == "0" && f[9] == "0")
            #expect(abs(Double(f[5])! - ttft) < 1e-9 && abs(Double(f[7])! - e2e) < 1e-9, "\(line)")
            #expect(output > 1 ? abs(Double(f[6])! - 5010e-6) < 1e-9 : f[6].isEmpty, "\(line)")
        }
    }

    @Test("bad combinations are usage errors", arguments: [
        (["--requests-out", "r.csv"], "need --fidelity des"),
        (["--drain-intervals", "2"], "need --fidelity des"),
        (["--fidelity", "des", "--requests-out", "r.csv"], "needs one --policy"),
        (["--fidelity", "des", "--drain-intervals=-1"], "--drain-intervals must be >= 0"),
    ])
    func badOptions(_ extra: [String], _ message: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(Self.spec, dir + "/s.toml")
        let r = try run(["envs", "simulate", "--env", "s.toml"] + extra, cwd: dir)
        #expect(r.status == 64 && r.stderr.contains(message), "\(r.status): \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.csv"))
    }
}
