import Foundation
import Testing

/// `envs simulate` on the shipped tensor-parallel spec (envs/llm-tp.toml) at both fidelities,
/// over a short synthetic trace (the spec's `[trace.lengths]` size its requests).
@Suite("switchgym envs simulate on envs/llm-tp.toml", .serialized)
struct TensorParallelCLITests {
    struct Report: Decodable {
        struct Policy: Decodable { var name: String; var utility: Double?; var cost: Double?; var arrived: Double?; var goodput: Double? }
        var scenario: String
        var policies: [Policy]
    }

    @Test("hold and static-best run at the fluid and discrete-event fidelities; a held TP-k variant costs k GPUs",
          arguments: ["fluid", "des"])
    func simulateRunsAtBothFidelities(fidelity: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let trace = dir + "/t.h5"
        let synth = try run(["traces", "synth", "--duration", "300", "--rate", "100", "-o", trace])
        #expect(synth.status == 0, "\(synth.stderr)")
        for policy in ["hold", "static-best"] {
            let r = try run(["envs", "simulate", "--env", packageRoot + "/envs/llm-tp.toml", "--trace", trace, "--policy", policy,
                             "--fidelity", fidelity, "--json"])
            #expect(r.status == 0, "\(policy) \(fidelity): \(r.stderr)")
            let report = try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8))
            #expect(report.scenario == "llm-tp")
            let p = try #require(report.policies.first)
            #expect(p.name == policy && (p.utility ?? .nan).isFinite && (p.arrived ?? 0) > 0 && (p.goodput ?? 0) > 0, "\(r.stdout)")
            if policy == "hold" {
                // The initial assignment: three nodes on TP8, two groups on TP4: 32 GPUs x 1 per
                // GPU-second over the trace's 10 intervals of 30 s.
                #expect(abs((p.cost ?? 0) - 32 * 300) < 1e-6, "\(r.stdout)")
            }
        }
    }
}
