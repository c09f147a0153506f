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
    let clamp: Float = 7.90531110763549805
    // NaN passes through both selects unchanged (comparisons with NaN are false).
    var x = a > clamp ? clamp : a
    x = x < -clamp ? -clamp : x
    let x2 = x * x
    var p: Float = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 + -8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    p = p * x
    var q: Float = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    let r = p / q
    let small = a.magnitude < 0.0004
    return small ? a : r
}

/// Applies ``fastTanh(_:)`` to `n` floats in place (vectorised by the compiler).
@inline(__always)
public func fastTanh(inPlace y: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { y[i] = fastTanh(y[i]) }
}
