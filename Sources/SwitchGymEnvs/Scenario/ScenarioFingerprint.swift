import Foundation
import SwitchGymIO

extension ServingScenario {
    /// What decides the scenario a policy serves: every resolved setting that shapes its
    /// observation, its action or its reward (variants, fleet, streams, interval, loads,
    /// weights, observation features), but not where the spec file lies, its description or the
    /// trace it replays. Two specs that resolve to the same values (through `extends` or not)
    /// have the same ``fingerprint``.
    struct Resolved: Encodable {
        var name: String
        var variants: [ModelVariant]
        var fleet: [Device]
        var streams: [SLOStream]
        var decisionInterval: Double
        var episodeIntervals: Int?
        var loadFrom: LoadSource
        var weights: ServingRewardWeights
        var initialVariants: [Int]
        var historyWindows: [Int]
        var forecast: Bool
        var forecastNoise: Double
    }

    /// Lowercase hex SHA-256 of the resolved scenario (``Resolved``) as JSON with sorted keys.
    /// An exported policy records it, and a serving daemon refuses a policy of another scenario.
    public var fingerprint: String {
        let resolved = Resolved(name: name, variants: variants, fleet: fleet, streams: streams, decisionInterval: decisionInterval,
                                episodeIntervals: episodeIntervals, loadFrom: loadFrom, weights: weights,
                                initialVariants: initialVariants, historyWindows: historyWindows, forecast: forecast,
                                forecastNoise: forecastNoise)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a plain Codable value with finite numbers (the spec reader refuses others).
        let bytes = (try? encoder.encode(resolved)) ?? Data()
        return SHA256.hex(of: [UInt8](bytes))
    }
}
