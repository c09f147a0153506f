import Foundation
import Testing
@testable import SwitchGymEnvs

/// `envs fidelity` reports where each fidelity's utility comes from (``FidelityGapStudy/Metrics``):
/// the queries answered, dropped and still queued, and the reward's parts. The parts must add
/// up to the utility on both fidelities.
@Suite("Fidelity gap study: the utility's parts")
struct FidelityGapBreakdownTests {
    @Test(arguments: ["vision-zoo", "llm-zoo"])
    func thePartsAddUpToTheUtilityOnBothFidelities(name: String) throws {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/\(name).toml")
        sc.episodeIntervals = nil
        // Each device holds the variant its index picks, changing every 10 intervals, so both
        // fidelities see switches, queueing and (at 1.5x capacity) drops.
        let rotate: FidelityGapStudy.Policy = ("rotate", { model in
            let V = model.scenario.variants.count, D = model.scenario.fleet.count
            return (0..<model.intervalCount).map { t in (0..<D).map { d in (d + t / 10) % V } }
        })
        let study = try FidelityGapStudy.run(scenario: sc, loads: [1.5], policies: [rotate], intervals: 40)
        let p = try #require(study.points.first)
        let w = sc.weights
        for (label, m) in [("fluid", p.fluid), ("discrete-event", p.discreteEvent)] {
            let parts = w.served * m.served + w.accuracy * m.accuracyServed - w.cost * m.cost - w.slo * (m.latenessPenalty + m.dropPenalty)
            #expect(abs(parts - m.utility) <= 1e-9 * max(1, abs(m.utility)), "\(name) \(label): parts \(parts), utility \(m.utility)")
            #expect(m.served > 0 && m.dropped > 0 && m.latenessPenalty > 0 && m.cost > 0, "\(name) \(label): \(m)")
            // Accuracies are at most 1.
            #expect(m.accuracyServed > 0 && m.accuracyServed <= m.served * (1 + 1e-12), "\(name) \(label): \(m)")
        }
    }
}
