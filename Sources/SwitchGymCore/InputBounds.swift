/// The accepted values of one number a user gives: a spec key, a train config key, a CLI
/// option or a dataset attribute.
///
/// Every such number is checked where it is parsed, against its bounds, and a value outside
/// them is an error that names the file, the key and the range (``violation(_:)`` gives the
/// message; each reader wraps it in its own error type with the file and the key). The
/// bounds are wide: they exist so that no accepted value can overflow an integer, turn
/// into `nan` or ask for terabytes, not to second-guess a scenario. Together with
/// ``ResourceEstimate`` (sizes that come from several values at once) and ``Checked``
/// (arithmetic and conversions that cannot trap), they make every accepted input safe to run.
public struct InputBounds: Sendable, Equatable, CustomStringConvertible {
    /// The smallest accepted value (excluded when ``lowerOpen``).
    public let lower: Double
    /// The largest accepted value (always included).
    public let upper: Double
    /// Whether ``lower`` itself is refused (`(0, 86400]`).
    public let lowerOpen: Bool
    /// The unit shown after the range (`s`, `ms`, `GB`), or "".
    public let unit: String

    /// Values in `[lower, upper]`.
    public static func closed(_ lower: Double, _ upper: Double, unit: String = "") -> InputBounds {
        InputBounds(lower: lower, upper: upper, lowerOpen: false, unit: unit)
    }

    /// Values in `(lower, upper]`.
    public static func above(_ lower: Double, upTo upper: Double, unit: String = "") -> InputBounds {
        InputBounds(lower: lower, upper: upper, lowerOpen: true, unit: unit)
    }

    /// Whether `x` is finite and within the bounds.
    public func contains(_ x: Double) -> Bool {
        x.isFinite && (lowerOpen ? x > lower : x >= lower) && x <= upper
    }

    /// Whether `x` is within the bounds.
    public func contains(_ x: Int) -> Bool { contains(Double(x)) }

    /// `nil` when `x` is accepted, else what was expected and what was found
    /// (`expected a finite number in (0, 86400] s, got 1e-09`).
    public func violation(_ x: Double) -> String? {
        contains(x) ? nil : "expected a finite number in \(self), got \(x)"
    }

    /// `nil` when `x` is accepted, else what was expected and what was found.
    public func violation(_ x: Int) -> String? {
        contains(x) ? nil : "expected an integer in \(self), got \(x)"
    }

    /// The range as written in messages: `[1, 100000]`, `(0, 86400] s`.
    public var description: String {
        let r = "\(lowerOpen ? "(" : "[")\(Self.show(lower)), \(Self.show(upper))]"
        return unit.isEmpty ? r : "\(r) \(unit)"
    }

    static func show(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}

/// A size computed from several inputs (intervals × streams, a network's parameters), checked
/// against a limit before anything of that size is allocated.
public struct ResourceEstimate: Sendable, Equatable {
    /// What is counted, in the plural (`decision intervals x streams`).
    public var what: String
    /// The count; `nil` when computing it overflowed (it is then over any limit).
    public var count: Int?
    /// The largest accepted count.
    public var limit: Int
    /// How to bring it down (`raise decision_interval_s or use a shorter trace`).
    public var knob: String

    public init(_ what: String, count: Int?, limit: Int, knob: String) {
        self.what = what
        self.count = count
        self.limit = limit
        self.knob = knob
    }

    /// `nil` when the count is within the limit, else a message naming the count, the limit
    /// and the knob.
    public var violation: String? {
        if let count, count <= limit { return nil }
        let n = count.map { "\($0)" } ?? "more than \(Int.max)"
        return "needs \(n) \(what), more than the limit of \(limit); \(knob)"
    }
}

/// Arithmetic on sizes and conversions of user-given numbers that cannot trap.
public enum Checked {
    /// The product of `factors`, or `nil` if one is negative or the product overflows `Int`.
    public static func product(_ factors: Int...) -> Int? { product(factors) }

    /// The product of `factors`, or `nil` if one is negative or the product overflows `Int`.
    public static func product<S: Sequence<Int>>(_ factors: S) -> Int? {
        var p = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: f)
            if o { return nil }
            p = r
        }
        return p
    }

    /// The sum of `terms`, or `nil` if it overflows `Int`.
    public static func sum<S: Sequence<Int>>(_ terms: S) -> Int? {
        var s = 0
        for t in terms {
            let (r, o) = s.addingReportingOverflow(t)
            if o { return nil }
            s = r
        }
        return s
    }

    /// `x` rounded by `rule` as an `Int`, or `nil` when `x` is not finite or out of `Int`'s
    /// range (where `Int(x)` would trap).
    public static func int(_ x: Double, rounding rule: FloatingPointRoundingRule = .towardZero) -> Int? {
        Int(exactly: x.rounded(rule))
    }
}
