import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

@Suite struct InterferenceStudyTests {
    @Test func onlineRLSTracksDriftingInterferenceBetterThanAStaticFit() throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml")
        // 400 intervals at 1,500 q/s of constant-ish load: plenty of co-located batches.
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 400, streams: 2, mean: 1500, seed: 4)
        let model = try ServingEvaluation.model(scenario: sc, arrivals: arrivals)
        let s = try InterferenceStudy.run(serving: model, concurrency: 2, theta: 0.3, thetaDriftPerHour: 6, noise: 0.01)
        #expect(s.batches > 1000)
        #expect(s.thetaEnd > s.thetaStart + 1, "θ should drift: \(s.thetaStart) -> \(s.thetaEnd)")
        // Before the drift matters both fit; after it the static fit falls behind.
        #expect(s.onlineCalibrationMAPE < 10 && s.staticCalibrationMAPE < 10, "\(s)")
        #expect(s.onlineAfterMAPE < 0.8 * s.staticAfterMAPE, "online \(s.onlineAfterMAPE)% vs static \(s.staticAfterMAPE)%")
        // The online load coefficient moves up with θ; the static one stays at its calibration value.
        #expect(s.onlineCoefficients[0] > s.staticCoefficients[0], "\(s)")
    }
}
