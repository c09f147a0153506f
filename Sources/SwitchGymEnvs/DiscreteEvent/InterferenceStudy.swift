import SwitchGymCore

/// The co-location interference predictor on the discrete-event fidelity's own batches:
/// devices run up to `concurrency` batches at once, each batch's latency inflates with the
/// co-located load by a θ that drifts over the trace (``CoLocationInterference``), and two
/// predictors estimate the inflated latency from the batch's base latency and EWMA-smoothed
/// co-location features (co-located load and batches): an online ``InterferencePredictor``
/// (recursive least squares with forgetting, updated after every batch) and a
/// ``StaticInterferenceFit`` fitted once on the first `calibration` share of the batches.
/// Each batch is predicted before the online predictor learns from it.
public struct InterferenceStudy: Sendable, Equatable {
    /// Batches observed (with at least one co-located batch or not).
    public var batches: Int
    /// Mean absolute percentage error (in %) in the calibration part and after it.
    public var onlineCalibrationMAPE: Double, staticCalibrationMAPE: Double
    public var onlineAfterMAPE: Double, staticAfterMAPE: Double
    /// θ at the first and the last batch (ground truth).
    public var thetaStart: Double, thetaEnd: Double
    /// The fitted coefficients (on the features [co-located load, co-located batches]).
    public var onlineCoefficients: [Double], staticCoefficients: [Double]

    /// Runs the discrete-event env of `serving` with every device at `concurrency` and θ
    /// drifting by `thetaDriftPerHour`, holding `action` (default: the initial variants) for
    /// `intervals` intervals.
    public static func run(serving: ServingModel, concurrency: Int = 2, theta: Double = 0.4,
                           thetaDriftPerHour: Double = 0.8, noise: Double = 0.02, assignment: [Int]? = nil,
                           intervals: Int? = nil, calibration: Double = 0.2, seed: UInt64 = 0) throws -> InterferenceStudy {
        var sc = serving.scenario
        for d in sc.fleet.indices { sc.fleet[d].concurrency = concurrency }
        sc.episodeIntervals = nil
        let m = try ServingModel(scenario: sc, arrivals: serving.arrivals)
        var config = DiscreteEventConfig()
        config.interference = CoLocationInterference(theta: theta, thetaDriftPerHour: thetaDriftPerHour, noise: noise)
        config.recordBatches = true
        let model = try DiscreteEventModel(serving: m, config: config)
        var env = DiscreteEventServingEnv(model: model, seed: seed)
        env.resetState(seed: seed)
        let a = assignment ?? sc.initialVariants
        var log: [BatchObservation] = []
        for _ in 0..<min(intervals ?? m.intervalCount, m.intervalCount) {
            let t = a.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            log += env.batchLog
            if t.truncated { break }
        }
        guard log.count >= 20 else {
            throw EnvError(.invalidArgument, "InterferenceStudy: only \(log.count) batches were observed; use a busier trace or more intervals")
        }
        let split = max(10, Int(Double(log.count) * calibration))
        let features = log.map { [$0.ewmaColocatedLoad, Double($0.ewmaColocatedBatches)] }
        let fit = StaticInterferenceFit(features: Array(features[..<split]), bases: log[..<split].map(\.baseLatencyMs),
                                        latencies: log[..<split].map(\.observedLatencyMs))
        var online = InterferencePredictor(featureCount: 2, smoothing: 1, forgetting: 0.995)
        var errOnline = (0.0, 0.0), errStatic = (0.0, 0.0)
        for (i, b) in log.enumerated() {
            online.observe(signals: features[i])
            let po = online.predictLatency(base: b.baseLatencyMs)
            let ps = fit.predictLatency(base: b.baseLatencyMs, features: features[i])
            let eo = abs(po - b.observedLatencyMs) / b.observedLatencyMs, es = abs(ps - b.observedLatencyMs) / b.observedLatencyMs
            if i < split { errOnline.0 += eo; errStatic.0 += es } else { errOnline.1 += eo; errStatic.1 += es }
            online.learn(base: b.baseLatencyMs, observedLatency: b.observedLatencyMs)
        }
        let n0 = Double(split), n1 = Double(max(1, log.count - split))
        return InterferenceStudy(batches: log.count, onlineCalibrationMAPE: 100 * errOnline.0 / n0,
                                 staticCalibrationMAPE: 100 * errStatic.0 / n0, onlineAfterMAPE: 100 * errOnline.1 / n1,
                                 staticAfterMAPE: 100 * errStatic.1 / n1, thetaStart: log.first!.theta, thetaEnd: log.last!.theta,
                                 onlineCoefficients: online.coefficients, staticCoefficients: fit.coefficients)
    }
}
