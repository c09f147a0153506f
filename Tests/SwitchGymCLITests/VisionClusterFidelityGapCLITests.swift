import Foundation
import Testing

/// The fidelity gap on the 64-GPU vision cluster (`envs fidelity`, issue 11): reactive at half
/// capacity holds EfficientNet-B4 on the A100s and EfficientNet-B0 on the V100s, and the
/// interactive stream's queries, which both answer, go where the router's shortest wait sends
/// them, to the idle V100s too (README, "A pooled query goes to the devices that come free
/// first, whatever their variant"). The simulations are deterministic, so the bounds can only
/// be crossed by a change to either fidelity.
@Suite("switchgym envs fidelity on the vision cluster")
struct VisionClusterFidelityGapCLITests {
    struct Study: Decodable {
        struct Point: Decodable { var load: Double; var policy: String; var utilityGap: Double; var goodputGap: Double }
        var points: [Point]
    }

    /// The first 60 intervals at half capacity: utility within 5% and goodput within 8% (measured
    /// +0.9% and −0.9%; −11.1% and −19.8% when the fluid step served a cohort from its stream's
    /// variants in variant order, so the A100s took the interactive queries behind the quality
    /// work while the V100s stood mostly idle).
    @Test func reactiveAtHalfCapacitySpreadsACohortOverBothClasses() throws {
        let r = try run(["envs", "fidelity", "--env", packageRoot + "/envs/vision-cluster.toml", "--loads", "0.5",
                         "--policies", "reactive", "--intervals", "60", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        let p = try #require(try d.decode(Study.self, from: Data(r.stdout.utf8)).points.first)
        print("vision-cluster load \(p.load) \(p.policy): utility gap \(p.utilityGap), goodput gap \(p.goodputGap)")
        #expect(p.policy == "reactive" && p.load == 0.5)
        #expect(abs(p.utilityGap) < 0.05, "utility gap \(p.utilityGap)")
        #expect(abs(p.goodputGap) < 0.08, "goodput gap \(p.goodputGap)")
    }
}
