import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// The CPU kernel set OpenBLAS chose at load time (`openblas_get_corename`), such as
    /// `"SkylakeX"` or `"Haswell"`. OpenBLAS 0.3.21 (Debian 12) does not recognise some newer
    /// or virtualised CPUs and falls back to `"Prescott"` (SSE3 kernels, 2–4× slower sgemm);
    /// ``suggestedCoreType()`` names a better one to set as `OPENBLAS_CORETYPE`.
    public static var coreName: String { String(cString: CBLAS_core_name()) }

    /// An `OPENBLAS_CORETYPE` value for this CPU when OpenBLAS fell back to `"Prescott"`
    /// although the CPU has AVX-512 (`"SkylakeX"`) or AVX2 and FMA (`"Haswell"`); `nil` when
    /// the choice looks right or the CPU features cannot be read (`/proc/cpuinfo`, Linux).
    /// The variable only takes effect in a process started with it (OpenBLAS reads it when
    /// it loads).
    public static func suggestedCoreType() -> String? {
        guard coreName.lowercased() == "prescott" else { return nil }
        #if os(Linux)
        guard let f = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, f) > 0 {
            let text = String(cString: line!)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) { return "SkylakeX" }
            if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
            return nil
        }
        #endif
        return nil
    }
}
