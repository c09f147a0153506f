import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

@Suite struct DispatchReportTests {
    @Test func perIntervalBoundsAndPoliciesOnTheLoadedVariants() throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml")
        // Light load on the interactive stream only: 2 x B0 and 1 x B4 held.
        let counts: [Double] = (0..<6).flatMap { t -> [Double] in [Double(200 + 100 * t), 0] }
        let model = try ServingEvaluation.model(scenario: sc, arrivals: ScenarioArrivals(intervals: 6, streams: 2, counts: counts))
        let b0 = sc.variants.firstIndex { $0.name == "efficientnet-b0-amp" }!, b4 = sc.variants.firstIndex { $0.name == "efficientnet-b4-amp" }!
        let action = ([b0, b0, b4])
        let run = ServingEvaluation.replay(name: "mix", model: model, assignments: [action])
        let target = 0.80
        let report = DispatchReport.report(model: model, run: run, accuracyTarget: target, jobsPerInterval: 4000)
        #expect(report.count == 6)
        for r in report {
            #expect(r.status == "ok")
            let bound = try #require(r.lpBoundMs)
            // Every policy that meets a* on average is at least the LP bound (sampling noise aside).
            for (ms, acc) in [(r.rjiqMs, r.rjiqAccuracy), (r.popMs, r.popAccuracy)] {
                let m = try #require(ms), a = try #require(acc)
                #expect(a >= target - 0.02, "accuracy \(a) below the target")
                #expect(m >= 0.97 * bound, "\(m) ms below the LP bound \(bound) ms")
            }
        }
        // An a* above every variant's accuracy is reported as unreachable, not as a number.
        let none = DispatchReport.report(model: model, run: run, accuracyTarget: 0.95, jobsPerInterval: 100)
        #expect(none.allSatisfy { $0.status == "accuracy-unreachable" && $0.lpBoundMs == nil })
    }
}
