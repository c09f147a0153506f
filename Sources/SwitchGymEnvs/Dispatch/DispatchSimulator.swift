import SwitchGymCore

/// Service-time distribution of the ``DispatchSimulator``: either way the mean on a server of
/// rate μ is `1 / μ` seconds.
public enum ServiceDistribution: Sendable, Equatable {
    /// Exponential with rate μ (M/M/· servers).
    case exponential
    /// Always exactly `1 / μ` (M/D/· servers).
    case deterministic
}

/// Arrival process of a ``DispatchSimulator`` run.
public enum DispatchArrivals: Sendable, Equatable {
    /// `count` arrivals of a Poisson process with `rate` queries/s, starting at time 0.
    case poisson(rate: Double, count: Int)
    /// Given arrival times in seconds (non-decreasing).
    case times([Double])

    var count: Int {
        switch self {
        case .poisson(_, let n): n
        case .times(let t): t.count
        }
    }
}

/// Summary of one ``DispatchSimulator`` run. Latency and accuracy statistics cover the jobs
/// after the warm-up; utilisation covers the whole run.
public struct DispatchRunResult: Sendable, Equatable {
    /// Jobs counted in the statistics (arrivals after the warm-up).
    public var jobs: Int
    /// Mean response time (waiting + service), seconds.
    public var meanLatency: Double
    /// Mean waiting time before service starts, seconds.
    public var meanWaiting: Double
    /// Fraction of counted jobs that had to wait (found their server busy).
    public var waitingProbability: Double
    /// Achieved mean accuracy: the mean over counted jobs of the accuracy of the class that
    /// served them (expected accuracy; no per-query correctness is sampled).
    public var meanAccuracy: Double
    /// Fraction of counted jobs served by each class.
    public var classFractions: [Double]
    /// Per-server utilisation: busy time divided by the run's length (time 0 to the last
    /// completion).
    public var utilization: [Double]
    /// Largest number of jobs ever at one server (queued + in service).
    public var maxQueueLength: Int
}

/// A query dispatcher: picks the server for each arrival from the current state.
///
/// Implementations must not allocate in ``choose(queueLengths:system:generator:)`` (it runs once
/// per query) and must draw randomness only from `generator`, so runs are reproducible.
public protocol DispatchPolicy {
    /// Called once at the start of each run (clear any per-run state).
    mutating func reset(system: DispatchSystem)
    /// The server (index into `0..<system.serverCount`) for the arriving query.
    /// - Parameter queueLengths: jobs at each server (waiting + in service) at the arrival
    ///   instant, after all earlier completions; 0 means idle.
    mutating func choose(
        queueLengths: UnsafeBufferPointer<Int>, system: DispatchSystem, generator: inout SeededGenerator
    ) -> Int
}

extension DispatchPolicy {
    public mutating func reset(system: DispatchSystem) {}
}

/// An event-driven simulator of heterogeneous single-server FCFS queues behind one dispatcher:
/// queries arrive (Poisson or given times), the policy assigns each to a server on arrival, and
/// each server serves its queue first-come-first-served with exponential or deterministic
/// service at its class's rate.
///
/// Completions are processed lazily: before each arrival every server's finished jobs are
/// retired from its ring of completion times (FCFS completions are in order), which is exactly
/// the state an event-list simulation would show at that instant. A job's service time is drawn
/// when it is assigned; policies see only queue lengths (not the drawn service times), so this
/// equals drawing at service start.
///
/// Deterministic: the run is a function of the policy, the arrivals and `seed`. Arrival gaps,
/// service times and the policy's randomness come from separate sub-streams of `seed`. After
/// the per-server rings have grown to the run's largest queue (e.g. after one run of the same
/// size), ``simulate(policy:arrivals:seed:warmupJobs:)`` does not allocate.
public struct DispatchSimulator: Sendable {
    /// The servers.
    public let system: DispatchSystem
    /// The service-time distribution.
    public var service: ServiceDistribution

    private var ringCapacity: Int
    private var ring: [Double]       // serverCount × ringCapacity completion times
    private var head: [Int]
    private var queue: [Int]         // jobs at each server
    private var busy: [Double]       // total service time per server
    private var classServed: [Int]
    private var stats = Stats()

    private struct Stats: Sendable {
        var jobs = 0
        var latency = 0.0
        var waiting = 0.0
        var waited = 0
        var accuracy = 0.0
        var makespan = 0.0
        var maxQueue = 0
    }

    /// - Parameters:
    ///   - classes: server classes (see ``DispatchSystem``).
    ///   - service: service-time distribution.
    ///   - initialQueueCapacity: preallocated jobs per server; rings double when exceeded.
    public init(classes: [ServerClass], service: ServiceDistribution = .exponential, initialQueueCapacity: Int = 64) {
        system = DispatchSystem(classes: classes)
        self.service = service
        ringCapacity = max(4, initialQueueCapacity)
        let m = system.serverCount
        ring = [Double](repeating: 0, count: m * ringCapacity)
        head = [Int](repeating: 0, count: m)
        queue = [Int](repeating: 0, count: m)
        busy = [Double](repeating: 0, count: m)
        classServed = [Int](repeating: 0, count: system.classCount)
    }

    /// Runs `policy` on `arrivals` and returns the summary.
    /// - Parameter warmupJobs: leading arrivals excluded from the latency/accuracy statistics.
    public mutating func run<P: DispatchPolicy>(
        policy: inout P, arrivals: DispatchArrivals, seed: UInt64, warmupJobs: Int = 0
    ) -> DispatchRunResult {
        simulate(policy: &policy, arrivals: arrivals, seed: seed, warmupJobs: warmupJobs)
        return lastResult
    }

    /// Runs `policy` without building a result (see ``lastResult``); allocation-free once the
    /// rings are large enough.
    /// - Precondition: `warmupJobs >= 0`; `.poisson` has a positive finite rate and count >= 0;
    ///   `.times` is non-decreasing and non-negative.
    public mutating func simulate<P: DispatchPolicy>(
        policy: inout P, arrivals: DispatchArrivals, seed: UInt64, warmupJobs: Int = 0
    ) {
        precondition(warmupJobs >= 0, "warm-up must be non-negative")
        if case .poisson(let rate, let count) = arrivals {
            precondition(rate > 0 && rate.isFinite && count >= 0, "Poisson arrivals need a positive rate and a count")
        }
        let m = system.serverCount
        for s in 0..<m {
            head[s] = 0
            queue[s] = 0
            busy[s] = 0
        }
        for c in 0..<system.classCount { classServed[c] = 0 }
        stats = Stats()
        policy.reset(system: system)

        var arrivalRNG = SeededGenerator.substream(seed: seed, index: 0)
        var serviceRNG = SeededGenerator.substream(seed: seed, index: 1)
        var policyRNG = SeededGenerator.substream(seed: seed, index: 2)
        let total = arrivals.count
        var now = 0.0
        for job in 0..<total {
            switch arrivals {
            case .poisson(let rate, _):
                now += Sample.exponential(rate: rate, using: &arrivalRNG)
            case .times(let times):
                precondition(times[job] >= now && times[job].isFinite, "arrival times must be finite and non-decreasing")
                now = times[job]
            }
            retireCompleted(upTo: now)
            let server = queue.withUnsafeBufferPointer { q in
                policy.choose(queueLengths: q, system: system, generator: &policyRNG)
            }
            precondition(server >= 0 && server < m, "policy chose an invalid server")
            let rate = system.serverRate[server]
            let serviceTime: Double
            switch service {
            case .exponential: serviceTime = Sample.exponential(rate: rate, using: &serviceRNG)
            case .deterministic: serviceTime = 1 / rate
            }
            let n = queue[server]
            let start = n == 0 ? now : max(now, ring[server * ringCapacity + (head[server] + n - 1) % ringCapacity])
            let finish = start + serviceTime
            if n == ringCapacity { growRings() }
            ring[server * ringCapacity + (head[server] + n) % ringCapacity] = finish
            queue[server] = n + 1
            busy[server] += serviceTime
            if finish > stats.makespan { stats.makespan = finish }
            if n + 1 > stats.maxQueue { stats.maxQueue = n + 1 }
            if job >= warmupJobs {
                let c = system.serverClass[server]
                stats.jobs += 1
                stats.latency += finish - now
                stats.waiting += start - now
                if n > 0 { stats.waited += 1 }
                stats.accuracy += system.classes[c].accuracy
                classServed[c] += 1
            }
        }
    }

    /// The summary of the last ``simulate(policy:arrivals:seed:warmupJobs:)``.
    public var lastResult: DispatchRunResult {
        let n = Double(max(stats.jobs, 1))
        return DispatchRunResult(
            jobs: stats.jobs,
            meanLatency: stats.jobs > 0 ? stats.latency / n : .nan,
            meanWaiting: stats.jobs > 0 ? stats.waiting / n : .nan,
            waitingProbability: stats.jobs > 0 ? Double(stats.waited) / n : .nan,
            meanAccuracy: stats.jobs > 0 ? stats.accuracy / n : .nan,
            classFractions: classServed.map { Double($0) / n },
            utilization: busy.map { stats.makespan > 0 ? $0 / stats.makespan : 0 },
            maxQueueLength: stats.maxQueue)
    }

    @inline(__always)
    private mutating func retireCompleted(upTo now: Double) {
        let cap = ringCapacity
        for s in 0..<queue.count {
            var n = queue[s]
            guard n > 0 else { continue }
            var h = head[s]
            while n > 0 && ring[s * cap + h] <= now {
                h += 1
                if h == cap { h = 0 }
                n -= 1
            }
            head[s] = h
            queue[s] = n
        }
    }

    /// Doubles every ring, unrolling each to start at index 0.
    private mutating func growRings() {
        let old = ringCapacity, cap = old * 2
        var next = [Double](repeating: 0, count: system.serverCount * cap)
        for s in 0..<system.serverCount {
            for k in 0..<queue[s] { next[s * cap + k] = ring[s * old + (head[s] + k) % old] }
            head[s] = 0
        }
        ring = next
        ringCapacity = cap
    }
}
