#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A (possibly unbounded) box of `Float` vectors: Gymnasium's `Box(low, high, shape, float32)`.
///
/// Members are flat `[Float]` arrays in row-major order of ``shape``.
public struct Box: Space, Hashable, Codable {
    /// Lower bounds, one per element (`-.infinity` for unbounded).
    public let low: [Float]
    /// Upper bounds, one per element (`.infinity` for unbounded).
    public let high: [Float]
    /// The shape; its product is the element count.
    public let shape: [Int]

    /// Creates a box with per-element bounds; the shape defaults to `[low.count]`.
    public init(low: [Float], high: [Float], shape: [Int]? = nil) {
        self.low = low
        self.high = high
        self.shape = shape ?? [low.count]
    }

    /// Creates a box with the same bounds for every element.
    public init(low: Float, high: Float, shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(low: Array(repeating: low, count: max(count, 0)),
                  high: Array(repeating: high, count: max(count, 0)), shape: shape)
    }

    /// The number of elements of a member.
    public var count: Int { low.count }

    public func contains(_ element: [Float]) -> Bool {
        guard element.count == low.count else { return false }
        for i in 0..<element.count {
            let x = element[i]
            // NaN fails both comparisons.
            if !(x >= low[i] && x <= high[i]) { return false }
        }
        return true
    }

    public func validate() throws {
        let n = shape.reduce(1, *)
        if shape.contains(where: { $0 < 0 }) || n != low.count || n != high.count {
            throw EnvError(.invalidSpace,
                           "Box: shape \(shape) holds \(n) elements but low has \(low.count) and high \(high.count).")
        }
        for i in 0..<low.count where low[i].isNaN || high[i].isNaN || low[i] > high[i] {
            throw EnvError(.invalidSpace, "Box: element \(i) has low \(low[i]) > high \(high[i]) or a NaN bound.")
        }
    }

    /// A random member, as Gymnasium samples boxes: uniform on bounded elements,
    /// standard normal on unbounded ones, `low + Exp(1)` / `high - Exp(1)` on half-bounded ones.
    public func sample(using generator: inout SeededGenerator) -> [Float] {
        var out = [Float](repeating: 0, count: low.count)
        for i in 0..<low.count {
            let l = Double(low[i]), h = Double(high[i])
            let v: Double
            switch (l.isFinite, h.isFinite) {
            case (true, true): v = l + (h - l) * generator.nextUnit()
            case (false, false): v = Sample.normal(using: &generator)
            case (true, false): v = l + Sample.exponential(rate: 1, using: &generator)
            case (false, true): v = h - Sample.exponential(rate: 1, using: &generator)
            }
            out[i] = min(max(Float(v), low[i]), high[i])
        }
        return out
    }

    public var description: String {
        func bound(_ xs: [Float]) -> String {
            if let first = xs.first, xs.allSatisfy({ $0 == first }) { return "\(first)" }
            return "[" + xs.map { "\($0)" }.joined(separator: ", ") + "]"
        }
        return "Box(low: \(bound(low)), high: \(bound(high)), shape: \(shape))"
    }
}
