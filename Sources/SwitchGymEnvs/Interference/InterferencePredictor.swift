import SwitchGymCore

/// Online co-location interference predictor: EWMA-smoothed co-location signals as features and
/// recursive least squares on the inflation, after Zhao and Georgantas, "ML Inference Scheduling
/// with Predictable Latency" (MAIoT 2025, arXiv:2512.18725).
///
/// Model: `latency ≈ base × (1 + θ̂ · f̃)`, where `f̃` is the ``EWMA`` of the raw signals passed
/// to ``observe(signals:)`` and `θ̂` is fitted by ``RecursiveLeastSquares`` on the target
/// `observed / base − 1` each time ``learn(base:observedLatency:)`` reports a measured batch
/// latency. `base` is the isolated latency of the variant at its batch size (any time unit; the
/// prediction has the same unit). Observe, predict and learn do not allocate.
public struct InterferencePredictor: Sendable {
    /// The feature smoother.
    public private(set) var smoother: EWMA
    /// The online regression of inflation on smoothed features.
    public private(set) var regression: RecursiveLeastSquares
    /// Floor on the predicted inflation factor.
    public var minimumFactor: Double

    /// - Parameters:
    ///   - featureCount: number of co-location signals `d`.
    ///   - smoothing: EWMA weight `α` of the newest signal.
    ///   - forgetting: RLS forgetting factor `λ_f` (0.98: memory of about 50 batches).
    ///   - delta: RLS initial covariance scale.
    ///   - minimumFactor: floor on `1 + θ̂·f̃`.
    public init(featureCount: Int, smoothing: Double = 0.3, forgetting: Double = 0.98, delta: Double = 100, minimumFactor: Double = 0.05) {
        smoother = EWMA(dimension: featureCount, alpha: smoothing)
        regression = RecursiveLeastSquares(dimension: featureCount, forgetting: forgetting, delta: delta)
        self.minimumFactor = minimumFactor
    }

    /// The current smoothed features `f̃`.
    public var features: [Double] { smoother.values }
    /// The current sensitivities `θ̂`.
    public var coefficients: [Double] { regression.coefficients }

    /// Folds a new raw co-location measurement into the smoothed features.
    public mutating func observe(signals: UnsafeBufferPointer<Double>) { smoother.update(signals) }
    /// Folds a new raw co-location measurement into the smoothed features (array convenience).
    public mutating func observe(signals: [Double]) { smoother.update(signals) }

    /// Predicted latency of a batch with isolated latency `base` under the current features.
    public func predictLatency(base: Double) -> Double {
        let factor = smoother.values.withUnsafeBufferPointer { 1 + regression.predict($0) }
        return base * max(minimumFactor, factor)
    }

    /// Updates the regression with a measured latency of a batch of isolated latency `base`,
    /// using the current smoothed features.
    /// - Precondition: `base > 0`, `observedLatency` finite.
    public mutating func learn(base: Double, observedLatency: Double) {
        precondition(base > 0, "base latency must be positive")
        let target = observedLatency / base - 1
        // `smoother` and `regression` are disjoint stored properties: no copy, no allocation.
        _ = smoother.values.withUnsafeBufferPointer { regression.update(features: $0, target: target) }
    }
}

/// A static (offline) interference predictor: ordinary least squares of the inflation
/// `latency / base − 1` on features over a calibration window, solved once through the normal
/// equations `(XᵀX + r I) θ = Xᵀ y` with a small ridge `r = ridge × trace(XᵀX)/d` (plus 1e-12)
/// for numerical safety, by Cholesky factorisation. The static baseline (GPUlet-style) the
/// online predictor is compared against.
public struct StaticInterferenceFit: Sendable, Equatable {
    /// Fitted sensitivities `θ`.
    public let coefficients: [Double]
    /// Floor on the predicted inflation factor.
    public var minimumFactor: Double

    /// Fits `θ` to row-major features (`targets.count` rows of `featureCount`) and inflation
    /// targets `y = latency / base − 1`.
    /// - Precondition: `features.count == targets.count × featureCount`, at least one row,
    ///   `ridge >= 0`.
    public init(features: [Double], featureCount d: Int, targets: [Double], ridge: Double = 1e-6, minimumFactor: Double = 0.05) {
        precondition(d >= 1 && !targets.isEmpty, "need at least one feature and one observation")
        precondition(features.count == targets.count * d, "features must be targets.count × featureCount")
        precondition(ridge >= 0, "ridge must be non-negative")
        var a = [Double](repeating: 0, count: d * d)
        var b = [Double](repeating: 0, count: d)
        for (r, y) in targets.enumerated() {
            let row = r * d
            for i in 0..<d {
                let xi = features[row + i]
                b[i] += xi * y
                for j in 0...i { a[i * d + j] += xi * features[row + j] }
            }
        }
        var trace = 0.0
        for i in 0..<d {
            trace += a[i * d + i]
            for j in 0..<i { a[j * d + i] = a[i * d + j] }
        }
        let r = ridge * trace / Double(d) + 1e-12
        for i in 0..<d { a[i * d + i] += r }
        coefficients = StaticInterferenceFit.choleskySolve(a, b, d)
        self.minimumFactor = minimumFactor
    }

    /// Fits from per-row feature arrays and measured latencies with their base latencies.
    public init(features: [[Double]], bases: [Double], latencies: [Double], ridge: Double = 1e-6) {
        precondition(features.count == bases.count && bases.count == latencies.count, "row counts differ")
        precondition(!features.isEmpty, "need at least one observation")
        let d = features[0].count
        self.init(
            features: features.flatMap { row in
                precondition(row.count == d, "rows differ in length")
                return row
            },
            featureCount: d,
            targets: zip(latencies, bases).map { $0 / $1 - 1 },
            ridge: ridge)
    }

    /// Predicted latency `base × max(minimumFactor, 1 + θ·f)`.
    public func predictLatency(base: Double, features: UnsafeBufferPointer<Double>) -> Double {
        precondition(features.count == coefficients.count, "feature vector has the wrong length")
        var s = 1.0
        for k in 0..<features.count { s += coefficients[k] * features[k] }
        return base * max(minimumFactor, s)
    }

    /// Predicted latency (array convenience).
    public func predictLatency(base: Double, features: [Double]) -> Double {
        features.withUnsafeBufferPointer { predictLatency(base: base, features: $0) }
    }

    /// Solves `A x = b` for symmetric positive-definite `A` (row-major `d × d`).
    static func choleskySolve(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
        var l = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = a[i * d + j]
                for k in 0..<j { s -= l[i * d + k] * l[j * d + k] }
                if i == j {
                    l[i * d + i] = s > 0 ? s.squareRoot() : 1e-12
                } else {
                    l[i * d + j] = s / l[j * d + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: d)
        for i in 0..<d {
            var s = b[i]
            for k in 0..<i { s -= l[i * d + k] * y[k] }
            y[i] = s / l[i * d + i]
        }
        var x = [Double](repeating: 0, count: d)
        for i in stride(from: d - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<d { s -= l[k * d + i] * x[k] }
            x[i] = s / l[i * d + i]
        }
        return x
    }
}

/// A synthetic drifting co-location workload for ``compareInterferencePredictors(_:seed:)``.
///
/// Each step one batch runs: the true co-location loads `u_k ∈ [0, 1]` follow mean-reverting
/// random walks `u ← clamp(u + κ (m_k − u) + v z)`; the predictors see `u + s z'` (a noisy
/// measurement); the batch's isolated latency is drawn uniformly from ``bases``; its latency
/// comes from an ``InterferenceModel`` on the true loads, whose sensitivities switch from
/// ``coefficientsBefore`` to ``coefficientsAfter`` at ``driftStep`` (e.g. a new co-located
/// model mix). The static fit is calibrated on steps `0..<calibrationSteps`.
public struct InterferenceWorkload: Sendable, Equatable {
    /// Sensitivities before the drift.
    public var coefficientsBefore: [Double] = [0.8, 0.4, 0.2]
    /// Sensitivities from ``driftStep`` on.
    public var coefficientsAfter: [Double] = [0.3, 1.0, 0.6]
    /// Total batches.
    public var steps = 4000
    /// Batches in the static calibration window (must be `<= driftStep`).
    public var calibrationSteps = 1000
    /// First batch under the new sensitivities.
    public var driftStep = 2000
    /// Isolated batch latencies to draw from (seconds).
    public var bases: [Double] = [0.005, 0.01, 0.02, 0.04]
    /// Long-run means `m_k` of the co-location loads.
    public var loadMeans: [Double] = [0.5, 0.4, 0.3]
    /// Mean-reversion rate `κ` per step.
    public var loadReversion = 0.05
    /// Per-step volatility `v` of the loads.
    public var loadVolatility = 0.05
    /// Sd `s` of the measurement noise on the co-location signals.
    public var signalNoise = 0.1
    /// Log-sd of the latency noise.
    public var latencyNoise = 0.02
    /// EWMA weight of the smoothed features (both predictors use the same features).
    public var smoothing = 0.3
    /// RLS forgetting factor.
    public var forgetting = 0.98
    /// Ridge of the static fit.
    public var ridge = 1e-6

    /// The defaults: three features, θ from (0.8, 0.4, 0.2) to (0.3, 1.0, 0.6) at step 2000 of
    /// 4000, calibration on the first 1000 batches.
    public init() {}
}

/// Mean absolute percentage errors (in percent) of the online (EWMA + RLS) and static (OLS)
/// predictors on an ``InterferenceWorkload``, before the drift (steps `calibrationSteps..<
/// driftStep`, out of sample for the static fit) and after it (`driftStep..<steps`).
public struct InterferenceComparison: Sendable, Equatable {
    /// MAPE (%) of the online predictor between calibration and drift.
    public var onlineBefore: Double
    /// MAPE (%) of the static fit between calibration and drift (out of sample).
    public var staticBefore: Double
    /// MAPE (%) of the online predictor from the drift on (including its re-convergence).
    public var onlineAfter: Double
    /// MAPE (%) of the static fit from the drift on.
    public var staticAfter: Double
    /// Final online sensitivities `θ̂` (compare with the workload's `coefficientsAfter`).
    public var onlineCoefficients: [Double]
    /// Static sensitivities.
    public var staticCoefficients: [Double]
}

/// Runs both predictors on `workload` (see ``InterferenceWorkload``): each step both predict
/// the batch's latency before it is measured, then the online predictor learns from it.
/// Deterministic given `seed`.
public func compareInterferencePredictors(_ workload: InterferenceWorkload = InterferenceWorkload(), seed: UInt64) -> InterferenceComparison {
    let w = workload
    let d = w.coefficientsBefore.count
    precondition(w.coefficientsAfter.count == d && w.loadMeans.count == d, "workload vectors differ in length")
    precondition(w.calibrationSteps >= 1 && w.calibrationSteps <= w.driftStep && w.driftStep < w.steps,
                 "need 1 <= calibrationSteps <= driftStep < steps")
    precondition(!w.bases.isEmpty && w.bases.allSatisfy { $0 > 0 }, "bases must be positive")

    var truth = InterferenceModel(coefficients: w.coefficientsBefore, noise: w.latencyNoise, seed: seed)
    var g = SeededGenerator.substream(seed: seed, index: 1)
    var online = InterferencePredictor(featureCount: d, smoothing: w.smoothing, forgetting: w.forgetting)
    var load = w.loadMeans
    var signal = [Double](repeating: 0, count: d)
    var calibrationFeatures = [Double](repeating: 0, count: w.calibrationSteps * d)
    var calibrationTargets = [Double](repeating: 0, count: w.calibrationSteps)
    var fit: StaticInterferenceFit?
    var sums = (onlineBefore: 0.0, staticBefore: 0.0, onlineAfter: 0.0, staticAfter: 0.0)

    for t in 0..<w.steps {
        if t == w.driftStep { truth.coefficients = w.coefficientsAfter }
        for k in 0..<d {
            let next = load[k] + w.loadReversion * (w.loadMeans[k] - load[k]) + w.loadVolatility * Sample.normal(using: &g)
            load[k] = min(1, max(0, next))
            signal[k] = load[k] + w.signalNoise * Sample.normal(using: &g)
        }
        online.observe(signals: signal)
        let base = w.bases[Int.random(in: 0..<w.bases.count, using: &g)]
        let latency = truth.latency(base: base, features: load)
        let onlinePrediction = online.predictLatency(base: base)
        if let fit {
            let staticPrediction = fit.predictLatency(base: base, features: online.features)
            let eOnline = abs(onlinePrediction - latency) / latency
            let eStatic = abs(staticPrediction - latency) / latency
            if t < w.driftStep {
                sums.onlineBefore += eOnline
                sums.staticBefore += eStatic
            } else {
                sums.onlineAfter += eOnline
                sums.staticAfter += eStatic
            }
        }
        if t < w.calibrationSteps {
            let f = online.features
            for k in 0..<d { calibrationFeatures[t * d + k] = f[k] }
            calibrationTargets[t] = latency / base - 1
            if t == w.calibrationSteps - 1 {
                fit = StaticInterferenceFit(features: calibrationFeatures, featureCount: d, targets: calibrationTargets, ridge: w.ridge)
            }
        }
        online.learn(base: base, observedLatency: latency)
    }
    let before = Double(w.driftStep - w.calibrationSteps), after = Double(w.steps - w.driftStep)
    return InterferenceComparison(
        onlineBefore: before > 0 ? 100 * sums.onlineBefore / before : .nan,
        staticBefore: before > 0 ? 100 * sums.staticBefore / before : .nan,
        onlineAfter: 100 * sums.onlineAfter / after,
        staticAfter: 100 * sums.staticAfter / after,
        onlineCoefficients: online.coefficients,
        staticCoefficients: fit?.coefficients ?? [])
}
