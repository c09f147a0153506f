import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

@Suite struct ForecastFeatureTests {
    func spec(_ observation: String) throws -> ServingScenario {
        let text = try String(contentsOfFile: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml", encoding: .utf8)
            .replacingOccurrences(of: "forecast = false", with: observation)
        return try ScenarioSpec.parse(text, file: "spec.toml", baseDirectory: ScenarioFixtures.packageRoot + "/envs")
    }

    @Test func noneOracleAndNoisyForecastsAreSelectableInTheSpec() throws {
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 400, streams: 2, mean: 1000, seed: 2)
        let none = try ServingModel(scenario: try spec("forecast = \"none\""), arrivals: arrivals)
        let oracle = try ServingModel(scenario: try spec("forecast = \"oracle\""), arrivals: arrivals)
        let noisy = try ServingModel(scenario: try spec("forecast = \"noisy\"\nforecast_noise = 0.5"), arrivals: arrivals)
        #expect(oracle.observationDimension == none.observationDimension + 2)
        #expect(noisy.observationDimension == oracle.observationDimension)
        #expect(oracle.forecastCounts == arrivals.counts)
        // The noisy forecast: mean-one multiplicative error with CV about 0.5, fixed by the model.
        let ratios = zip(noisy.forecastCounts, arrivals.counts).filter { $0.1 > 0 }.map { $0.0 / $0.1 }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        let cv = (ratios.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(ratios.count)).squareRoot() / mean
        #expect(abs(mean - 1) < 0.1 && abs(cv - 0.5) < 0.1, "mean \(mean), cv \(cv)")
        let again = try ServingModel(scenario: try spec("forecast = \"noisy\"\nforecast_noise = 0.5"), arrivals: arrivals)
        #expect(again.forecastCounts == noisy.forecastCounts)
        // The env's observation carries it: the last per-stream feature before the elapsed fraction.
        var env = FluidServingEnv(model: noisy)
        env.resetState(seed: 0)
        let obs = env.currentObservation()
        let k = obs.count - 2   // stream 1's forecast
        #expect(abs(Double(obs[k]) - noisy.forecastCounts[1] / noisy.billScale) < 1e-3 * max(1, Double(obs[k])))
    }

    @Test func badForecastSettingsAreNamed() throws {
        #expect(throws: ScenarioError(file: "spec.toml", key: "observation.forecast", message: "expected \"none\", \"oracle\" or \"noisy\", got \"perfect\"")) {
            try spec("forecast = \"perfect\"")
        }
        #expect(throws: ScenarioError(file: "spec.toml", key: "observation.forecast_noise", message: "applies to forecast = \"noisy\" only")) {
            try spec("forecast = \"oracle\"\nforecast_noise = 0.2")
        }
        #expect(try spec("forecast = true").forecast)
    }
}
