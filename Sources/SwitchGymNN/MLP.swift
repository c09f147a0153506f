#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBLAS
import SwitchGymCore

/// An elementwise nonlinearity applied after a ``Dense`` layer.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// `y = x` (policy logits, values).
    case identity
    /// `y = tanh(x)` (computed by ``fastTanh(_:)``, relative error < 2e-6); derivative `1 - y²`.
    case tanh
    /// `y = max(0, x)`; derivative `y > 0 ? 1 : 0`.
    case relu
}

/// One fully connected layer of an ``MLP``: `y = activation(W x + b)`.
///
/// The parameters live in the owning ``MLP``'s flat ``MLP/parameters`` buffer:
/// the weights, `outputSize × inputSize` row-major, start at ``weightOffset`` and the
/// `outputSize` biases follow them at ``biasOffset``. Gradients use the same layout in
/// ``MLP/gradients``.
public struct Dense: Sendable, Equatable {
    /// Inputs per sample.
    public let inputSize: Int
    /// Outputs per sample.
    public let outputSize: Int
    /// The nonlinearity after the affine map.
    public let activation: Activation
    /// Where the weights start in the flat parameter buffer.
    public let weightOffset: Int

    /// Where the biases start in the flat parameter buffer.
    public var biasOffset: Int { weightOffset + inputSize * outputSize }
    /// Weights plus biases.
    public var parameterCount: Int { outputSize * (inputSize + 1) }
}

/// Caller-owned scratch for batched ``MLP/forward(_:batch:workspace:)`` and
/// ``MLP/backward(outputGradient:batch:workspace:inputGradient:)`` of up to ``maxBatch`` rows.
///
/// Allocated once; forward and backward only overwrite it. Holds the input and every layer's
/// output of the last forward pass (backward needs them) and two gradient buffers.
public final class MLPWorkspace {
    /// The largest batch this workspace accepts.
    public let maxBatch: Int
    let activations: [UnsafeMutablePointer<Float>]
    let deltaA: UnsafeMutablePointer<Float>
    let deltaB: UnsafeMutablePointer<Float>

    init(sizes: [Int], maxBatch: Int) {
        precondition(maxBatch > 0, "MLPWorkspace: maxBatch must be positive")
        self.maxBatch = maxBatch
        activations = sizes.map { n in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n * maxBatch)
            p.initialize(repeating: 0, count: n * maxBatch)
            return p
        }
        let widest = sizes.max()! * maxBatch
        deltaA = .allocate(capacity: widest)
        deltaA.initialize(repeating: 0, count: widest)
        deltaB = .allocate(capacity: widest)
        deltaB.initialize(repeating: 0, count: widest)
    }

    deinit {
        for p in activations { p.deallocate() }
        deltaA.deallocate()
        deltaB.deallocate()
    }

    /// The output of layer `l - 1` of the last forward pass (`l = 0`: the input), `batch × size` row-major.
    public func activation(_ l: Int) -> UnsafeMutablePointer<Float> { activations[l] }
}

/// A multilayer perceptron with flat `Float` parameter and gradient buffers.
///
/// - Batched passes (``forward(_:batch:workspace:)``, ``backward(outputGradient:batch:workspace:inputGradient:)``)
///   run through `cblas_sgemm` and write only into an ``MLPWorkspace``: no allocation per call.
/// - ``forwardSingle(_:into:)`` is a hand-written batch-1 forward pass (SIMD dot products,
///   no BLAS call overhead) for acting one observation at a time.
///
/// Not thread-safe: ``forwardSingle(_:into:)`` uses scratch owned by the network.
public final class MLP {
    /// Layer widths, input first: `[4, 64, 64, 2]` is 4 inputs, two hidden layers of 64, 2 outputs.
    public let sizes: [Int]
    /// The layers, input side first.
    public let layers: [Dense]
    /// Total number of parameters.
    public let parameterCount: Int
    /// All parameters, layer after layer (weights then biases).
    public let parameters: UnsafeMutableBufferPointer<Float>
    /// Gradients, same layout as ``parameters``; ``backward(outputGradient:batch:workspace:inputGradient:)`` adds to them.
    public let gradients: UnsafeMutableBufferPointer<Float>
    private let singleA: UnsafeMutablePointer<Float>
    private let singleB: UnsafeMutablePointer<Float>

    /// Creates a network with zero parameters (call ``initializeOrthogonal(hiddenGain:outputGain:using:)``).
    /// - Parameters:
    ///   - sizes: layer widths, input first; at least two entries, all positive.
    ///   - hiddenActivation: after every layer but the last.
    ///   - outputActivation: after the last layer.
    public init(sizes: [Int], hiddenActivation: Activation = .tanh, outputActivation: Activation = .identity) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "MLP: need at least two positive sizes, got \(sizes)")
        self.sizes = sizes
        var layers: [Dense] = []
        var offset = 0
        for l in 0..<(sizes.count - 1) {
            let d = Dense(inputSize: sizes[l], outputSize: sizes[l + 1],
                          activation: l == sizes.count - 2 ? outputActivation : hiddenActivation, weightOffset: offset)
            layers.append(d)
            offset += d.parameterCount
        }
        self.layers = layers
        parameterCount = offset
        parameters = .allocate(capacity: offset)
        parameters.initialize(repeating: 0)
        gradients = .allocate(capacity: offset)
        gradients.initialize(repeating: 0)
        let widest = sizes.max()!
        singleA = .allocate(capacity: widest)
        singleA.initialize(repeating: 0, count: widest)
        singleB = .allocate(capacity: widest)
        singleB.initialize(repeating: 0, count: widest)
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
        singleA.deallocate()
        singleB.deallocate()
    }

    /// Inputs per sample.
    public var inputSize: Int { sizes[0] }
    /// Outputs per sample.
    public var outputSize: Int { sizes[sizes.count - 1] }

    /// Scratch for batches of up to `maxBatch` rows.
    public func makeWorkspace(maxBatch: Int) -> MLPWorkspace { MLPWorkspace(sizes: sizes, maxBatch: maxBatch) }

    /// Layer `l`'s weights, `outputSize × inputSize` row-major (a view).
    public func weights(_ l: Int) -> UnsafeMutableBufferPointer<Float> {
        let d = layers[l]
        return UnsafeMutableBufferPointer(start: parameters.baseAddress! + d.weightOffset, count: d.inputSize * d.outputSize)
    }

    /// Layer `l`'s biases (a view).
    public func bias(_ l: Int) -> UnsafeMutableBufferPointer<Float> {
        let d = layers[l]
        return UnsafeMutableBufferPointer(start: parameters.baseAddress! + d.biasOffset, count: d.outputSize)
    }

    /// Sets every gradient to zero.
    public func zeroGradients() { gradients.update(repeating: 0) }

    /// Copies the parameters of a network with the same sizes.
    public func copyParameters(from other: MLP) {
        precondition(other.sizes == sizes, "MLP.copyParameters: sizes differ")
        _ = parameters.update(fromContentsOf: other.parameters)
    }

    /// CleanRL's / Stable-Baselines3's initialisation: orthogonal weights
    /// (``Orthogonal/fill(_:rows:columns:gain:using:)``) with `hiddenGain` for every layer but
    /// the last and `outputGain` for the last; zero biases.
    /// Use `hiddenGain: 2.squareRoot()` with `outputGain: 0.01` for a policy, `1` for a value function.
    public func initializeOrthogonal(hiddenGain: Float = Float(2).squareRoot(), outputGain: Float, using generator: inout SeededGenerator) {
        for (l, d) in layers.enumerated() {
            let gain = l == layers.count - 1 ? outputGain : hiddenGain
            Orthogonal.fill(weights(l), rows: d.outputSize, columns: d.inputSize, gain: gain, using: &generator)
            bias(l).update(repeating: 0)
        }
    }

    // MARK: - Batched (BLAS)

    /// Forward pass of `batch` rows of `input` (`batch × inputSize`, row-major).
    /// - Returns: the outputs, `batch × outputSize` row-major, inside `workspace` (valid until its next use).
    /// - Complexity: one `sgemm` per layer; no allocation.
    @discardableResult
    public func forward(_ input: UnsafePointer<Float>, batch: Int, workspace ws: MLPWorkspace) -> UnsafeMutablePointer<Float> {
        precondition(batch > 0 && batch <= ws.maxBatch, "MLP.forward: batch \(batch) exceeds workspace (\(ws.maxBatch))")
        precondition(ws.activations.count == sizes.count, "MLP.forward: workspace is for another network")
        ws.activations[0].update(from: input, count: batch * inputSize)
        let p = UnsafePointer(parameters.baseAddress!)
        for (l, d) in layers.enumerated() {
            let x = ws.activations[l], y = ws.activations[l + 1]
            let b = p + d.biasOffset
            for r in 0..<batch { (y + r * d.outputSize).update(from: b, count: d.outputSize) }
            BLAS.sgemm(m: batch, n: d.outputSize, k: d.inputSize, a: x, b: p + d.weightOffset, transposeB: true,
                       beta: 1, c: y)
            applyActivation(d.activation, y, batch * d.outputSize)
        }
        return ws.activations[layers.count]
    }

    /// Backward pass for the last ``forward(_:batch:workspace:)`` on `workspace`: **adds** the
    /// gradient of the loss to ``gradients`` given `outputGradient` = ∂loss/∂output
    /// (`batch × outputSize`, row-major).
    /// - Parameters:
    ///   - inputGradient: if given, receives ∂loss/∂input (`batch × inputSize`).
    ///   - overwrite: write the gradient into ``gradients`` instead of adding it (the same as
    ///     ``zeroGradients()`` first, without the pass over every parameter).
    /// - Complexity: two or three `sgemm` per layer; no allocation.
    public func backward(outputGradient: UnsafePointer<Float>, batch: Int, workspace ws: MLPWorkspace,
                         inputGradient: UnsafeMutablePointer<Float>? = nil, overwrite: Bool = false) {
        precondition(batch > 0 && batch <= ws.maxBatch, "MLP.backward: batch \(batch) exceeds workspace (\(ws.maxBatch))")
        var dY = ws.deltaA, dX = ws.deltaB
        dY.update(from: outputGradient, count: batch * outputSize)
        let p = UnsafePointer(parameters.baseAddress!)
        let g = gradients.baseAddress!
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let d = layers[l]
            let x = ws.activations[l], y = ws.activations[l + 1]
            let n = batch * d.outputSize
            activationBackward(d.activation, dY, y, n)
            // dW += dZᵀ X
            BLAS.sgemm(m: d.outputSize, n: d.inputSize, k: batch, a: dY, transposeA: true, b: x, beta: overwrite ? 0 : 1,
                       c: g + d.weightOffset)
            if overwrite { (g + d.biasOffset).update(repeating: 0, count: d.outputSize) }
            addColumnSums(g + d.biasOffset, dY, batch: batch, width: d.outputSize)
            if l > 0 || inputGradient != nil {
                let target = l > 0 ? dX : inputGradient!
                // dX = dZ W
                BLAS.sgemm(m: batch, n: d.inputSize, k: d.outputSize, a: dY, b: p + d.weightOffset, beta: 0, c: target)
            }
            swap(&dY, &dX)
        }
    }

    // MARK: - Batch 1 (no BLAS)

    /// Forward pass of one sample without BLAS: `output[0 ..< outputSize]` from `input[0 ..< inputSize]`.
    /// On x86-64 CPUs with AVX2 and FMA the dot products run in a C kernel compiled for them
    /// (the package targets baseline x86-64, where Swift's SIMD code is SSE only); elsewhere
    /// in portable SIMD. The two round differently (fused multiply-add), so outputs agree to
    /// float precision, not bit for bit, across machines; on one machine they are deterministic.
    /// - Complexity: O(parameterCount); no allocation.
    public func forwardSingle(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        forwardSingle(input, into: output, useAVX2: hasAVX2FMA)
    }

    /// ``forwardSingle(_:into:)`` with the kernel chosen by the caller (tests compare both).
    func forwardSingle(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, useAVX2: Bool) {
        let p = UnsafePointer(parameters.baseAddress!)
        var x = input
        var bufs = (singleA, singleB)
        for (l, d) in layers.enumerated() {
            let y = l == layers.count - 1 ? output : bufs.0
            let w = p + d.weightOffset, b = p + d.biasOffset
            let nIn = d.inputSize
            if useAVX2 {
                CBLAS_dense_single_avx2(w, b, x, y, d.outputSize, nIn)
                applyActivation(d.activation, y, d.outputSize)
                x = UnsafePointer(y)
                bufs = (bufs.1, bufs.0)
                continue
            }
            var o = 0
            while o + 4 <= d.outputSize {
                let r = dot4(w + o * nIn, nIn, x)
                y[o] = r.0 + b[o]; y[o + 1] = r.1 + b[o + 1]; y[o + 2] = r.2 + b[o + 2]; y[o + 3] = r.3 + b[o + 3]
                o += 4
            }
            while o < d.outputSize {
                y[o] = dot(w + o * nIn, x, nIn) + b[o]
                o += 1
            }
            applyActivation(d.activation, y, d.outputSize)
            x = UnsafePointer(y)
            bufs = (bufs.1, bufs.0)
        }
    }

    /// ``forwardSingle(_:into:)`` on arrays (allocates the result; for tests and tools).
    public func forwardSingle(_ input: [Float]) -> [Float] {
        precondition(input.count == inputSize, "MLP.forwardSingle: expected \(inputSize) inputs, got \(input.count)")
        var out = [Float](repeating: 0, count: outputSize)
        input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { forwardSingle(i.baseAddress!, into: $0.baseAddress!) } }
        return out
    }
}

/// Whether the CPU (and OS) support AVX2 and FMA; read once.
let hasAVX2FMA: Bool = CBLAS_has_avx2_fma() != 0

/// `dY` through the activation whose outputs are `y` (`n` floats): tanh `dY *= 1 - y²`, relu
/// `dY = 0` where `y <= 0`; eight at a time in AVX2 where the CPU has it (bit for bit the same).
@inline(__always)
func activationBackward(_ a: Activation, _ dY: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
    let kind: Int32
    switch a {
    case .identity: return
    case .tanh: kind = 1
    case .relu: kind = 2
    }
    var i = hasAVX2FMA ? CBLAS_activation_backward_avx2(dY, y, n, kind) : 0
    if kind == 1 {
        while i < n { dY[i] *= 1 - y[i] * y[i]; i += 1 }
    } else {
        while i < n { if y[i] <= 0 { dY[i] = 0 }; i += 1 }
    }
}

/// `sums[o] += Σ_r rows[r × width + o]` over `batch` rows in order (a bias's gradient); eight
/// columns at a time in AVX2 where the CPU has it (the same sums in the same order).
@inline(__always)
func addColumnSums(_ sums: UnsafeMutablePointer<Float>, _ rows: UnsafePointer<Float>, batch: Int, width: Int) {
    let done = hasAVX2FMA ? CBLAS_add_column_sums_avx2(sums, rows, batch, width) : 0
    guard done < width else { return }
    for r in 0..<batch {
        let row = rows + r * width
        for o in done..<width { sums[o] += row[o] }
    }
}

@inline(__always)
func applyActivation(_ a: Activation, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    switch a {
    case .identity: break
    case .tanh: fastTanh(inPlace: y, count: n)
    case .relu: for i in 0..<n { y[i] = max(y[i], 0) }
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Dot product of `n` floats, 8 lanes at a time.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        acc += load8(a + i) * load8(b + i)
        i += 8
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Four dot products of consecutive rows of `w` (row length `n`) with `x`, sharing the loads of `x`.
@inline(__always)
func dot4(_ w: UnsafePointer<Float>, _ n: Int, _ x: UnsafePointer<Float>) -> (Float, Float, Float, Float) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        let xv = load8(x + i)
        // Separate multiply and add: without `-mfma` (the package's baseline x86-64 target),
        // `addingProduct` compiles to one libm `fmaf` call per lane.
        a0 += load8(w + i) * xv
        a1 += load8(w + n + i) * xv
        a2 += load8(w + 2 * n + i) * xv
        a3 += load8(w + 3 * n + i) * xv
        i += 8
    }
    var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
    while i < n {
        let xi = x[i]
        s0 += w[i] * xi; s1 += w[n + i] * xi; s2 += w[2 * n + i] * xi; s3 += w[3 * n + i] * xi
        i += 1
    }
    return (s0, s1, s2, s3)
}

extension MLP: StateCheckpointable {
    /// The parameters (`parameters`) and the layer sizes (`sizes`, checked on load).
    public func saveState() -> StateDict {
        var s = StateDict()
        s.floats["parameters"] = Array(parameters)
        s.setInts(sizes, at: "sizes")
        return s
    }

    /// Restores the parameters of a network with the same sizes; gradients are zeroed.
    public func loadState(_ s: StateDict) throws {
        let sz = try s.ints("sizes")
        guard sz == sizes else {
            throw EnvError(.invalidArgument, "MLP.loadState: the state is for sizes \(sz), this network has \(sizes).")
        }
        let p = try s.floats("parameters", count: parameterCount)
        _ = parameters.update(fromContentsOf: p)
        zeroGradients()
    }
}
