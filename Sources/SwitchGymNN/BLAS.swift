import CBLAS

/// Thin wrapper over OpenBLAS's single-precision matrix product.
///
/// Row-major throughout. No C type appears in this API.
public enum BLAS {
    /// Computes `C = alpha * op(A) * op(B) + beta * C` in single precision.
    ///
    /// - Parameters:
    ///   - a: an `m x k` matrix (`k x m` when `transposeA`), row-major.
    ///   - b: a `k x n` matrix (`n x k` when `transposeB`), row-major.
    ///   - c: an `m x n` matrix, row-major, updated in place.
    /// - Complexity: O(m n k).
    /// The corresponding C function is `cblas_sgemm`.
    public static func sgemm(
        m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, transposeA: Bool = false,
        b: UnsafePointer<Float>, transposeB: Bool = false, beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension")
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k),
                    b, Int32(transposeB ? k : n), beta, c, Int32(n))
    }

    /// Limits OpenBLAS's worker threads (1 keeps results reproducible run to run).
    public static func setThreadCount(_ n: Int) { CBLAS_set_num_threads(Int32(n)) }
}
