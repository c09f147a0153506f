import Foundation

/// The distribution of a job's time-to-hire, in steps (fractions allowed: a hire of 0.25
/// steps leaves the worker earning for the last three quarters of the step).
public enum HireTime: Sendable, Equatable, Codable {
    /// Always exactly `steps`.
    case dirac(Double)
    /// `values[i]` with probability `probabilities[i]` (normalised when sampled).
    case discrete(values: [Double], probabilities: [Double])

    /// Draws one hire time. A Dirac consumes no randomness.
    public func sample(using generator: inout SeededGenerator) -> Double {
        switch self {
        case .dirac(let steps):
            return steps
        case .discrete(let values, let probabilities):
            let total = probabilities.reduce(0, +)
            var u = generator.nextUnit() * total
            for (v, p) in zip(values, probabilities) {
                if u < p { return v }
                u -= p
            }
            return values.last ?? 0
        }
    }

    /// The largest value the distribution can take.
    public var maximum: Double {
        switch self {
        case .dirac(let s): return s
        case .discrete(let values, _): return values.max() ?? 0
        }
    }

    /// Checks the values are finite and non-negative and the probabilities form a distribution.
    public func validate(job: String) throws {
        switch self {
        case .dirac(let s):
            guard s.isFinite && s >= 0 else {
                throw EnvError(.invalidArgument, "job \(job): hire time \(s) must be finite and >= 0.")
            }
        case .discrete(let values, let probabilities):
            guard !values.isEmpty, values.count == probabilities.count,
                  values.allSatisfy({ $0.isFinite && $0 >= 0 }),
                  probabilities.allSatisfy({ $0.isFinite && $0 >= 0 }), probabilities.reduce(0, +) > 0
            else {
                throw EnvError(.invalidArgument,
                               "job \(job): a discrete hire time needs as many finite values >= 0 as probabilities >= 0, summing to > 0.")
            }
        }
    }
}

/// The cumulative late-payment penalty `p(x)` per unit of a bill paid `x` steps late
/// (`p(0) = 0`). Each step a bill stays unpaid past its deadline it is charged the increment
/// `p(x) - p(x - 1)` on what remains of it, so a unit paid `x` steps late has paid `p(x)` in all.
public enum LatenessPenalty: Sendable, Equatable, Codable {
    /// `p(x) = amount` for every `x >= 1` (an SLO miss: late is late).
    case stepwise(amount: Double)
    /// `p(x) = rate * x`.
    case linear(rate: Double)
    /// `p(x) = scale * ln(1 + x)`.
    case logarithmic(scale: Double)
    /// `p(x) = table[min(x, table.count) - 1]` (cumulative; the last entry holds afterwards).
    case table([Double])

    /// The cumulative penalty after `x` steps late.
    @inline(__always)
    public func cumulative(_ x: Int) -> Double {
        if x <= 0 { return 0 }
        switch self {
        case .stepwise(let amount): return amount
        case .linear(let rate): return rate * Double(x)
        case .logarithmic(let scale): return scale * Foundation.log(1 + Double(x))
        case .table(let t): return t.isEmpty ? 0 : t[min(x, t.count) - 1]
        }
    }

    /// The penalty charged per remaining unit in the step a bill turns `x` steps late.
    @inline(__always)
    public func increment(_ x: Int) -> Double { cumulative(x) - cumulative(x - 1) }
}

/// One job the workers can hold (in the serving reduction: a model variant).
public struct Job: Sendable, Equatable, Codable {
    /// A name for messages and logs.
    public var name: String
    /// Bill units the job pays per step of work (serving: queries servable per interval).
    public var salary: Double
    /// Per bill stream, the units of that stream one full step of this job pays, overriding
    /// ``salary`` (serving: throughput under each stream's deadline; 0 where the variant is
    /// not accurate enough for the stream). `nil` pays ``salary`` for every stream.
    public var streamSalaries: [Double]?
    /// Happiness per unit paid (serving: accuracy of each answered query).
    public var happiness: Double
    /// Hours worked per step, held or applied to (serving: cost per interval).
    public var hours: Double
    /// Time-to-hire when applying (serving: the load delay).
    public var hireTime: HireTime
    /// What the job demands of a worker (serving: memory in GB); infeasible above the worker's capacity.
    public var requirement: Double

    public init(name: String, salary: Double, streamSalaries: [Double]? = nil, happiness: Double, hours: Double,
                hireTime: HireTime, requirement: Double = 0) {
        self.name = name
        self.salary = salary
        self.streamSalaries = streamSalaries
        self.happiness = happiness
        self.hours = hours
        self.hireTime = hireTime
        self.requirement = requirement
    }

    /// The salary of one full step for bills of stream `s`.
    @inline(__always)
    public func salary(stream s: Int) -> Double { streamSalaries?[s] ?? salary }
}

/// One member of the family (in the serving reduction: a GPU).
public struct Worker: Sendable, Equatable, Codable {
    /// A name for messages and logs.
    public var name: String
    /// The largest job requirement the worker can meet (serving: GPU memory in GB).
    public var capacity: Double
    /// The job held at the start of an episode (already hired).
    public var initialJob: Int
    /// Per job, whether the worker may take it at all (serving: the device kind matches the
    /// variant's hardware); `nil` allows every job within ``capacity``.
    public var eligible: [Bool]?

    public init(name: String, capacity: Double, initialJob: Int, eligible: [Bool]? = nil) {
        self.name = name
        self.capacity = capacity
        self.initialJob = initialJob
        self.eligible = eligible
    }
}

/// One kind of bill, paid off independently of the others (serving: an SLO stream).
public struct BillStream: Sendable, Equatable, Codable {
    /// A name for messages and logs.
    public var name: String
    /// Steps after its arrival step a bill is due; 0 means it must be paid in the step it arrives.
    public var deadlineSteps: Int
    /// The late-payment penalty per unit.
    public var penalty: LatenessPenalty
    /// Scales this stream's lateness and write-off penalties.
    public var weight: Double
    /// A bill still unpaid this many steps past its deadline is written off (serving: dropped).
    public var writeOffAfter: Int
    /// Penalty per unit written off (on top of the lateness penalty already charged).
    public var writeOffPenalty: Double

    public init(name: String, deadlineSteps: Int = 0, penalty: LatenessPenalty, weight: Double = 1,
                writeOffAfter: Int = 8, writeOffPenalty: Double = 0) {
        self.name = name
        self.deadlineSteps = deadlineSteps
        self.penalty = penalty
        self.weight = weight
        self.writeOffAfter = writeOffAfter
        self.writeOffPenalty = writeOffPenalty
    }
}

/// The weights of the utility `f(s, h, t)`:
/// `reward = salary·paid + happiness·Σ happiness_w·paid_w − hours·Σ hours_w − lateness·(penalties)`.
public struct UtilityWeights: Sendable, Equatable, Codable {
    /// Per bill unit paid.
    public var salary: Double
    /// Per unit of happiness-weighted payment.
    public var happiness: Double
    /// Per hour worked.
    public var hours: Double
    /// Per unit of lateness and write-off penalty.
    public var lateness: Double

    public init(salary: Double = 1, happiness: Double = 0, hours: Double = 0, lateness: Double = 1) {
        self.salary = salary
        self.happiness = happiness
        self.hours = hours
        self.lateness = lateness
    }
}

/// A time series of bills: `amounts[t][s]` units of stream `s` arrive at step `t`.
public struct BillSeries: Sendable, Equatable, Codable {
    /// Per step, per stream.
    public var amounts: [[Double]]

    public init(amounts: [[Double]]) { self.amounts = amounts }

    /// Number of steps.
    public var count: Int { amounts.count }
}
