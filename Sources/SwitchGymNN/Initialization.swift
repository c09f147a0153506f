#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore

/// Orthogonal initialisation as PyTorch's `torch.nn.init.orthogonal_` defines it (used by
/// CleanRL and Stable-Baselines3): the Q factor of the QR decomposition of a standard
/// Gaussian matrix, with column signs fixed by `sign(diag(R))`, times `gain`.
public enum Orthogonal {
    /// Fills `matrix` (`rows × columns`, row-major) with a `gain`-scaled orthogonal matrix:
    /// `WᵀW = gain² I` when `rows ≥ columns`, `WWᵀ = gain² I` otherwise.
    ///
    /// QR by modified Gram–Schmidt in `Double` on the tall orientation of the matrix.
    public static func fill(_ matrix: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, gain: Float,
                            using generator: inout SeededGenerator) {
        precondition(matrix.count == rows * columns && rows > 0 && columns > 0, "Orthogonal.fill: bad shape")
        // Tall orientation: n × m with n >= m; columns of q are orthonormalised.
        let transposed = rows < columns
        let n = transposed ? columns : rows, m = transposed ? rows : columns
        var q = [Double](repeating: 0, count: n * m)  // row-major n × m
        for i in 0..<(n * m) { q[i] = gaussian(&generator) }
        for j in 0..<m {
            // Two passes of modified Gram–Schmidt for numerical orthogonality.
            var rjj = 0.0
            for _ in 0..<2 {
                for k in 0..<j {
                    var r = 0.0
                    for i in 0..<n { r += q[i * m + k] * q[i * m + j] }
                    for i in 0..<n { q[i * m + j] -= r * q[i * m + k] }
                }
            }
            for i in 0..<n { rjj += q[i * m + j] * q[i * m + j] }
            let norm = rjj.squareRoot()
            // Gram–Schmidt's R has a positive diagonal, which is Householder-QR's Q times sign(diag(R)).
            let scale = norm > 0 ? 1 / norm : 0
            for i in 0..<n { q[i * m + j] *= scale }
        }
        let g = Double(gain)
        for r in 0..<rows {
            for c in 0..<columns {
                matrix[r * columns + c] = Float(g * (transposed ? q[c * m + r] : q[r * m + c]))
            }
        }
    }

    /// A standard normal draw (Box–Muller).
    public static func gaussian(_ generator: inout SeededGenerator) -> Double {
        let u1 = 1 - generator.nextUnit()  // (0, 1]
        let u2 = generator.nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
