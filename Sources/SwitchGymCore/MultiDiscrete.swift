/// Vectors whose `i`-th entry lies in `0 ..< nvec[i]`: Gymnasium's `MultiDiscrete(nvec)`.
public struct MultiDiscrete: Space, Hashable, Codable {
    /// The number of values of each entry.
    public let nvec: [Int]

    /// Creates the space of vectors with `x[i] in 0 ..< nvec[i]`.
    public init(_ nvec: [Int]) { self.nvec = nvec }

    public func contains(_ element: [Int]) -> Bool {
        guard element.count == nvec.count else { return false }
        for (x, n) in zip(element, nvec) where x < 0 || x >= n { return false }
        return true
    }

    public func validate() throws {
        if nvec.isEmpty {
            throw EnvError(.invalidSpace, "MultiDiscrete(\(nvec)): needs at least one entry.")
        }
        if let bad = nvec.firstIndex(where: { $0 <= 0 }) {
            throw EnvError(.invalidSpace, "MultiDiscrete(\(nvec)): nvec[\(bad)] must be positive, got \(nvec[bad]).")
        }
    }

    public func sample(using generator: inout SeededGenerator) -> [Int] {
        nvec.map { Int.random(in: 0..<$0, using: &generator) }
    }

    /// A random member whose `i`-th entry is allowed by `mask[i]` (`nil` allows all values).
    /// - Throws: ``EnvError/Code/invalidMask`` if a mask has the wrong size or allows nothing.
    public func sample(mask: [[Bool]?]?, using generator: inout SeededGenerator) throws -> [Int] {
        guard let mask else { return sample(using: &generator) }
        guard mask.count == nvec.count else {
            throw EnvError(.invalidMask, "MultiDiscrete(\(nvec)) mask: expected \(nvec.count) entries, got \(mask.count).")
        }
        var out = [Int]()
        out.reserveCapacity(nvec.count)
        for (i, n) in nvec.enumerated() {
            do {
                out.append(try Discrete(n).sample(mask: mask[i], using: &generator))
            } catch let e as EnvError {
                throw EnvError(.invalidMask, "MultiDiscrete(\(nvec)) entry \(i): \(e.message)")
            }
        }
        return out
    }

    public var description: String { "MultiDiscrete(\(nvec))" }
}
