/// The action codec: how a factored discrete action is laid out in buffers.
///
/// An action is `components` choices, choice `c` in `0 ..< sizes[c]` (Gymnasium's
/// `MultiDiscrete(nvec)`; a ``Discrete`` space is one component). Everything that stores or
/// moves actions uses this one layout:
/// - a **choice row** holds `components` `Int`s (0-based within each component, not offset
///   by a ``Discrete`` space's `start`);
/// - a **mask row** (and a policy's **logit row**) holds `maskWidth` entries, component `c`
///   at `offsets[c] ..< offsets[c] + sizes[c]`.
///
/// The serving envs use one component per device (its variant): the action grows linearly
/// with the fleet (``maskWidth`` = devices × variants), never with the number of joint
/// assignments.
public struct ActionLayout: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Values of each component.
    public let sizes: [Int]
    /// Where each component starts in a mask or logit row.
    public let offsets: [Int]
    /// Entries in a mask or logit row: `Σ sizes`.
    public let maskWidth: Int

    /// The layout of choices `x[c] in 0 ..< sizes[c]`.
    /// - Precondition: at least one component, every size positive, and `Σ sizes` fits `Int`
    ///   (spaces are validated before a layout is built from them).
    public init(sizes: [Int]) {
        precondition(!sizes.isEmpty && sizes.allSatisfy { $0 > 0 }, "ActionLayout: needs at least one component of positive size, got \(sizes)")
        var offsets = [Int](), total = 0
        offsets.reserveCapacity(sizes.count)
        for n in sizes {
            offsets.append(total)
            let (sum, overflow) = total.addingReportingOverflow(n)
            precondition(!overflow, "ActionLayout: the mask width overflows Int")
            total = sum
        }
        self.sizes = sizes
        self.offsets = offsets
        self.maskWidth = total
    }

    /// `count` components of `size` values each (one choice per device of a fleet).
    public init(repeating size: Int, count: Int) {
        self.init(sizes: [Int](repeating: size, count: count))
    }

    /// One component: a ``Discrete`` action.
    public static func discrete(_ n: Int) -> ActionLayout { ActionLayout(sizes: [n]) }

    /// Number of choices per action.
    @inline(__always) public var components: Int { sizes.count }

    /// Whether every choice of `row` is in range and allowed by `mask` (when given).
    public func contains(_ row: UnsafeBufferPointer<Int>, mask: UnsafeBufferPointer<Bool>? = nil) -> Bool {
        guard row.count == components else { return false }
        for c in 0..<components {
            let x = row[c]
            guard x >= 0 && x < sizes[c] else { return false }
            if let mask, !mask[offsets[c] + x] { return false }
        }
        return true
    }

    /// Whether every component of `mask` (a full mask row) allows at least one value.
    public func allowsSomething(_ mask: UnsafeBufferPointer<Bool>) -> Bool {
        for c in 0..<components {
            var any = false
            for i in offsets[c]..<(offsets[c] + sizes[c]) where mask[i] { any = true; break }
            if !any { return false }
        }
        return true
    }

    public var description: String {
        if let first = sizes.first, sizes.allSatisfy({ $0 == first }) {
            return components == 1 ? "Discrete(\(first))" : "\(components) x Discrete(\(first))"
        }
        return "MultiDiscrete(\(sizes))"
    }
}

/// A discrete action space that ``VectorEnv`` and the agents can lay out as choice rows
/// (``ActionLayout``): ``Discrete`` (one component) and ``MultiDiscrete``.
public protocol FactoredActionSpace: Space {
    /// The codec of this space's actions (allocates its arrays: cache it).
    var layout: ActionLayout { get }
    /// Entries in a mask row (``ActionLayout/maskWidth``), without building the layout.
    var maskWidth: Int { get }
    /// The member of the space that choice row `choices` (0-based per component) denotes.
    func element(choices: UnsafeBufferPointer<Int>) -> Element
    /// Writes `element`'s choices (0-based per component) to `choices[0 ..< components]`.
    func writeChoices(of element: Element, into choices: UnsafeMutablePointer<Int>)
    /// What a choice adds to become the action's value (a ``Discrete`` space's `start`, else 0).
    var choiceOffset: Int { get }
    /// Whether an action is one integer (``Discrete``) rather than a list.
    var isScalar: Bool { get }
}

extension Discrete: FactoredActionSpace {
    public var layout: ActionLayout { .discrete(n) }
    public var maskWidth: Int { n }
    public func element(choices: UnsafeBufferPointer<Int>) -> Int { start + choices[0] }
    public func writeChoices(of element: Int, into choices: UnsafeMutablePointer<Int>) { choices[0] = element - start }
    public var choiceOffset: Int { start }
    public var isScalar: Bool { true }
}

extension MultiDiscrete: FactoredActionSpace {
    public var layout: ActionLayout { ActionLayout(sizes: nvec) }
    public var maskWidth: Int { nvec.reduce(0, +) }
    public func element(choices: UnsafeBufferPointer<Int>) -> [Int] { Array(choices) }
    public func writeChoices(of element: [Int], into choices: UnsafeMutablePointer<Int>) {
        for (i, x) in element.enumerated() { choices[i] = x }
    }
    public var choiceOffset: Int { 0 }
    public var isScalar: Bool { false }
}
