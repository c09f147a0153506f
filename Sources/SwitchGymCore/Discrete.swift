/// The integers `start ..< start + n`: Gymnasium's `Discrete(n, start)`.
public struct Discrete: Space, Hashable, Codable {
    /// Number of members.
    public let n: Int
    /// The smallest member.
    public let start: Int

    /// Creates `{start, ..., start + n - 1}`.
    /// - Precondition: `n > 0` (checked by ``validate()``, which the env checker runs).
    public init(_ n: Int, start: Int = 0) {
        self.n = n
        self.start = start
    }

    public func contains(_ element: Int) -> Bool {
        element >= start && element - start < n
    }

    public func validate() throws {
        if n <= 0 {
            throw EnvError(.invalidSpace, "Discrete(\(n)): n must be positive, got \(n).")
        }
    }

    @inline(__always)
    public func sample(using generator: inout SeededGenerator) -> Int {
        start + Int.random(in: 0..<n, using: &generator)
    }

    /// A uniformly random member among those the mask allows.
    ///
    /// - Parameters:
    ///   - mask: `mask[i]` says whether `start + i` may be chosen; `nil` allows all.
    /// - Throws: ``EnvError/Code/invalidMask`` if the mask has the wrong length or
    ///   allows no action (Gymnasium returns `start` there; we refuse instead).
    /// - Complexity: O(n), no allocation.
    public func sample(mask: [Bool]?, using generator: inout SeededGenerator) throws -> Int {
        guard let mask else { return sample(using: &generator) }
        return try mask.withUnsafeBufferPointer { try sample(mask: $0, using: &generator) }
    }

    /// ``sample(mask:using:)`` over a buffer (the vector env's mask rows).
    public func sample(mask: UnsafeBufferPointer<Bool>, using generator: inout SeededGenerator) throws -> Int {
        guard mask.count == n else {
            throw EnvError(.invalidMask, "Discrete(\(n)) mask: expected \(n) entries, got \(mask.count).")
        }
        var allowed = 0
        for m in mask where m { allowed += 1 }
        guard allowed > 0 else {
            throw EnvError(.invalidMask,
                           "Discrete(\(n)) mask allows no action. - help: a mask must allow at least one action.")
        }
        var k = Int.random(in: 0..<allowed, using: &generator)
        for i in 0..<n where mask[i] {
            if k == 0 { return start + i }
            k -= 1
        }
        preconditionFailure("unreachable: mask count changed while sampling")
    }

    public var description: String { start == 0 ? "Discrete(\(n))" : "Discrete(\(n), start: \(start))" }
}
