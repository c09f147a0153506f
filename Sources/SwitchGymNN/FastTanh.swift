import CBLAS

/// A fast single-precision `tanh`: a [13/6] odd/even rational minimax approximation on
/// `[-7.90531, 7.90531]` (the approximation Eigen uses for `ptanh_float`), clamped outside,
/// and `x` itself for `|x| < 0.0004`.
///
/// Maximum relative error against `tanh` in `Double` is below 2e-6 over the whole float line
/// (`FastTanhTests` checks a dense grid); `fastTanh(±∞) = ±1`, `fastTanh(NaN)` is NaN. It is
/// branch-free (selects only), so loops over it vectorise: ``MLP`` uses it for every
/// `.tanh` activation, in the batched and the batch-1 paths alike, so both compute the same
/// function. `tanhf` from libm costs about 10–20 ns a call, which dominated a batch-1 forward
/// pass of a 64-wide network.
@inline(__always)
public func fastTanh(_ a: Float) -> Float {
    typealias K = FastTanhCoefficients
    let clamp = K.clamp
    // NaN passes through both selects unchanged (comparisons with NaN are false).
    var x = a > clamp ? clamp : a
    x = x < -clamp ? -clamp : x
    let x2 = x * x
    var p = K.p0
    p = p * x2 + K.p1
    p = p * x2 + K.p2
    p = p * x2 + K.p3
    p = p * x2 + K.p4
    p = p * x2 + K.p5
    p = p * x2 + K.p6
    p = p * x
    var q = K.q0
    q = q * x2 + K.q1
    q = q * x2 + K.q2
    q = q * x2 + K.q3
    let r = p / q
    let small = a.magnitude < 0.0004
    return small ? a : r
}

/// The constants of ``fastTanh(_:)`` (Eigen's `ptanh_float`), in one place for the Swift and
/// the AVX2 kernels.
enum FastTanhCoefficients {
    static let clamp: Float = 7.90531110763549805
    static let p0: Float = -2.76076847742355e-16, p1: Float = 2.00018790482477e-13, p2: Float = -8.60467152213735e-11
    static let p3: Float = 5.12229709037114e-08, p4: Float = 1.48572235717979e-05, p5: Float = 6.37261928875436e-04
    static let p6: Float = 4.89352455891786e-03
    static let q0: Float = 1.19825839466702e-06, q1: Float = 1.18534705686654e-04, q2: Float = 2.26843463243900e-03
    static let q3: Float = 4.89352518554385e-03
    /// clamp, p0...p6, q0...q3: the table `CBLAS_fast_tanh_avx2` reads.
    /// (Written once, then only read.)
    nonisolated(unsafe) static let table: UnsafePointer<Float> = {
        let values = [clamp, p0, p1, p2, p3, p4, p5, p6, q0, q1, q2, q3]
        let t = UnsafeMutablePointer<Float>.allocate(capacity: values.count)
        t.initialize(from: values, count: values.count)
        return UnsafePointer(t)
    }()
}

/// Applies ``fastTanh(_:)`` to `n` floats in place: eight at a time in an AVX2 kernel where the
/// CPU has it (the same operations, so the same results bit for bit), else vectorised by the compiler.
@inline(__always)
public func fastTanh(inPlace y: UnsafeMutablePointer<Float>, count n: Int) {
    var i = hasAVX2FMA && n >= 8 ? CBLAS_fast_tanh_avx2(y, n, FastTanhCoefficients.table) : 0
    while i < n {
        y[i] = fastTanh(y[i])
        i += 1
    }
}
