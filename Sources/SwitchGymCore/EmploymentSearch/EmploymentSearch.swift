/// The typed info of ``EmploymentSearch``: what happened in one step and the reward's parts.
public struct EmploymentInfo: Sendable, Equatable, Codable {
    /// The step just taken (0-based within the episode); -1 after reset.
    public var step = -1
    /// Bill units that arrived this step.
    public var arrived = 0.0
    /// Bill units paid this step (on time and late).
    public var paid = 0.0
    /// Of ``paid``, the units paid by their deadline.
    public var paidOnTime = 0.0
    /// Bill units written off this step.
    public var writtenOff = 0.0
    /// Bill units still outstanding after the step.
    public var outstanding = 0.0
    /// `Σ_w happiness(job_w) · paid_w`.
    public var happinessPaid = 0.0
    /// `Σ_w hours(job_w)` (pending workers count the job they applied to).
    public var hours = 0.0
    /// Lateness penalty charged this step (weighted by stream, before the utility weight).
    public var latenessPenalty = 0.0
    /// Write-off penalty charged this step (weighted by stream, before the utility weight).
    public var writeOffPenalty = 0.0
    /// Workers whose chosen job differs from the one they held or applied to.
    public var switches = 0
    /// Chosen jobs that were masked (treated as staying).
    public var infeasibleChoices = 0
    /// The reward's parts: `+salary·paid`, `+happiness·happinessPaid`, `−hours·hours`,
    /// `−lateness·(latenessPenalty + writeOffPenalty)`; they sum to the reward.
    public var salaryTerm = 0.0, happinessTerm = 0.0, hoursTerm = 0.0, latenessTerm = 0.0

    public init() {}

    /// The sum of the reward's parts.
    public var reward: Double { salaryTerm + happinessTerm + hoursTerm + latenessTerm }
}

/// **EmploymentSearch(J, j, B, f)**: a family of workers, each holding a job, choose every step
/// which job each applies to (its current job means stay); together they pay a time series of
/// bills with deadlines, late bills accrue a penalty and are eventually written off; the
/// reward is the utility `f(s, h, t)` minus the penalties (see DESIGN.md, "The reduction that
/// frames the gym").
///
/// Dynamics of step `t`:
/// 1. Each worker `w` takes its choice `a_w`. A masked choice (requirement above the worker's
///    capacity) counts as staying. `a_w != job_w` is a switch: the worker applies to `a_w` and
///    its hire time is drawn; it earns nothing while the hire is pending.
/// 2. Worker `w` works the fraction `1 − min(pending_w, 1)` of the step; its pending time
///    drops by one step.
/// 3. The bills of step `t` arrive, due `deadlineSteps` later.
/// 4. Outstanding bills are paid earliest due first (ties: stream order), each from the
///    workers pooled by job, in job order (then worker order): a unit of stream `s` takes
///    `1 / salary(job_w, s)` of worker `w`'s step (see ``Job/streamSalaries``); a worker whose
///    job pays nothing for `s` skips it. Workers of one job earn at the same rate, so what a
///    step pays depends only on how much time each job's pool has, not on which worker holds
///    which job: the family is described by how many workers hold each job.
/// 5. A bill unpaid at the end of its due step `d` is `x = t − d + 1` steps late and is charged
///    `weight · (p(x) − p(x − 1))` per remaining unit; at `x >= writeOffAfter` it is written off
///    at `weight · writeOffPenalty` per unit.
///
/// Episodes run over ``Configuration/episodeLength`` steps of the bill series (from a random
/// start when ``Configuration/randomStart``) and end truncated. Everything is deterministic
/// given the seed.
public struct EmploymentSearch: Env, Sendable {
    /// Everything that defines an instance.
    public struct Configuration: Sendable, Equatable, Codable {
        /// The jobs J.
        public var jobs: [Job]
        /// The family.
        public var workers: [Worker]
        /// The kinds of bills.
        public var streams: [BillStream]
        /// The bills B: `series.amounts[t].count == streams.count`.
        public var series: BillSeries
        /// The utility weights.
        public var weights: UtilityWeights
        /// Steps per episode; `nil` runs the whole series.
        public var episodeLength: Int?
        /// Start each episode at a random step of the series (drawn from the env's generator).
        public var randomStart: Bool
        /// The windows (in steps) of the recent-bill means in the observation.
        public var historyWindows: [Int]
        /// Include the next step's bills per stream in the observation (a perfect forecast).
        public var forecast: Bool
        /// Piece rates that change with the series step, when the work in a bill does (serving:
        /// LLM requests whose token lengths change from interval to interval):
        /// `salarySchedule[(t * jobs.count + j) * streams.count + s]` is what a full step of job
        /// `j` pays for bills of stream `s` at series step `t`, in place of
        /// ``Job/salary(stream:)``. `nil`: every step pays the jobs' own salaries.
        public var salarySchedule: [Double]?

        public init(jobs: [Job], workers: [Worker], streams: [BillStream], series: BillSeries,
                    weights: UtilityWeights = UtilityWeights(), episodeLength: Int? = nil,
                    randomStart: Bool = false, historyWindows: [Int] = [1, 4, 16], forecast: Bool = false,
                    salarySchedule: [Double]? = nil) {
            self.jobs = jobs
            self.workers = workers
            self.streams = streams
            self.series = series
            self.weights = weights
            self.episodeLength = episodeLength
            self.randomStart = randomStart
            self.historyWindows = historyWindows
            self.forecast = forecast
            self.salarySchedule = salarySchedule
        }

        /// Checks the configuration is consistent.
        /// - Throws: ``EnvError/Code/invalidArgument`` naming the problem.
        public func validate() throws {
            func fail(_ m: String) -> EnvError { EnvError(.invalidArgument, "EmploymentSearch: \(m)") }
            guard !jobs.isEmpty else { throw fail("needs at least one job.") }
            guard !workers.isEmpty else { throw fail("needs at least one worker.") }
            guard !streams.isEmpty else { throw fail("needs at least one bill stream.") }
            guard series.count > 0 else { throw fail("the bill series is empty.") }
            for j in jobs {
                try j.hireTime.validate(job: j.name)
                guard j.salary.isFinite, j.salary >= 0, j.happiness.isFinite, j.hours.isFinite else {
                    throw fail("job \(j.name): salary must be finite and >= 0, happiness and hours finite.")
                }
                if let ss = j.streamSalaries {
                    guard ss.count == streams.count, ss.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                        throw fail("job \(j.name): streamSalaries needs one finite value >= 0 per stream (\(streams.count)), got \(ss).")
                    }
                }
            }
            if let sched = salarySchedule {
                let (perStep, o1) = jobs.count.multipliedReportingOverflow(by: streams.count)
                let (want, o2) = perStep.multipliedReportingOverflow(by: series.count)
                guard !o1, !o2, sched.count == want else {
                    throw fail("salarySchedule needs steps × jobs × streams = \(series.count) × \(jobs.count) × \(streams.count) values, got \(sched.count).")
                }
                if let i = sched.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
                    throw fail("salarySchedule[\(i)] is \(sched[i]); expected a finite value >= 0.")
                }
            }
            for w in workers {
                guard jobs.indices.contains(w.initialJob) else {
                    throw fail("worker \(w.name): initial job \(w.initialJob) is not one of the \(jobs.count) jobs.")
                }
                if let e = w.eligible, e.count != jobs.count {
                    throw fail("worker \(w.name): eligible needs one flag per job (\(jobs.count)), got \(e.count).")
                }
                guard jobs[w.initialJob].requirement <= w.capacity, w.eligible?[w.initialJob] ?? true else {
                    throw fail("worker \(w.name): initial job \(jobs[w.initialJob].name) needs \(jobs[w.initialJob].requirement) > capacity \(w.capacity).")
                }
            }
            for s in streams where s.deadlineSteps < 0 || s.writeOffAfter < 1 {
                throw fail("stream \(s.name): deadlineSteps must be >= 0 and writeOffAfter >= 1.")
            }
            for (t, row) in series.amounts.enumerated() {
                guard row.count == streams.count else {
                    throw fail("series step \(t) has \(row.count) amounts for \(streams.count) streams.")
                }
                guard row.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw fail("series step \(t) has a negative or non-finite amount.") }
            }
            if let l = episodeLength, l < 1 || l > series.count {
                throw fail("episodeLength \(l) must be in 1...\(series.count).")
            }
            guard historyWindows.allSatisfy({ $0 >= 1 }) else { throw fail("history windows must be >= 1.") }
        }
    }

    /// One outstanding bill.
    struct Bill: Sendable, Equatable {
        var stream: Int
        var due: Int
        var amount: Double
    }

    /// The configuration.
    public let configuration: Configuration
    /// The observation normalisation: the mean bill amount per step and stream over the series.
    public let billScale: Double
    public let observationSpace: Box
    /// One choice per worker: the job it applies to (its current job means stay).
    public let actionSpace: MultiDiscrete
    /// Where everything is in an observation (shared with the serving envs).
    public let observationLayout: FamilyObservationLayout

    private var generator: SeededGenerator
    private var isReady = false
    /// Step index within the episode.
    public private(set) var time = 0
    /// First step of the episode in the series.
    public private(set) var start = 0
    /// The job each worker holds or has applied to.
    public private(set) var jobs: [Int]
    /// Steps until each worker's pending hire completes (0: hired).
    public private(set) var pending: [Double]
    private var bills: [Bill] = []
    /// Per worker, the fraction of the current step not yet spent paying bills.
    private var timeLeft: [Double]
    /// The workers in paying order (by job, then index) and where each job's workers start.
    private var payOrder: [Int]
    private var jobStart: [Int]

    /// Creates the env; `seed` seeds resets without a seed.
    /// - Throws: ``EnvError/Code/invalidArgument`` if the configuration is inconsistent.
    public init(configuration: Configuration, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        let total = c.series.amounts.reduce(0.0) { $0 + $1.reduce(0, +) }
        self.billScale = max(total / Double(c.series.count * c.streams.count), 1e-9)
        self.actionSpace = MultiDiscrete([Int](repeating: c.jobs.count, count: c.workers.count))
        // Classes: workers of equal capacity and eligibility, in order of first appearance.
        var classKeys: [String] = [], workerClass: [Int] = []
        for w in c.workers {
            let key = "\(w.capacity)|\(w.eligible.map { $0.map { $0 ? "1" : "0" }.joined() } ?? "*")"
            if let k = classKeys.firstIndex(of: key) { workerClass.append(k) } else {
                workerClass.append(classKeys.count)
                classKeys.append(key)
            }
        }
        self.observationLayout = FamilyObservationLayout(
            workers: c.workers.count, jobs: c.jobs.count, streams: c.streams.count,
            historyWindows: c.historyWindows.count, forecast: c.forecast, workerClass: workerClass,
            classNames: classKeys.indices.map { "class\($0)" }, jobNames: c.jobs.map(\.name))
        self.observationSpace = observationLayout.space
        self.generator = SeededGenerator(seed: seed)
        self.jobs = c.workers.map(\.initialJob)
        self.pending = [Double](repeating: 0, count: c.workers.count)
        self.timeLeft = [Double](repeating: 0, count: c.workers.count)
        self.payOrder = [Int](repeating: 0, count: c.workers.count)
        self.jobStart = [Int](repeating: 0, count: c.jobs.count + 1)
    }

    /// Steps in an episode.
    public var episodeLength: Int { configuration.episodeLength ?? configuration.series.count }

    /// Which jobs each worker may choose: `mask[w][j]` is false when job `j`'s requirement
    /// exceeds worker `w`'s capacity.
    public var actionMask: [[Bool]] {
        configuration.workers.indices.map { w in configuration.jobs.indices.map { isFeasible(worker: w, job: $0) } }
    }

    /// Whether worker `w` may take job `j`.
    @inline(__always)
    public func isFeasible(worker w: Int, job j: Int) -> Bool {
        let worker = configuration.workers[w]
        return configuration.jobs[j].requirement <= worker.capacity && (worker.eligible?[j] ?? true)
    }

    /// Outstanding bill units per stream.
    public var outstandingByStream: [Double] {
        var out = [Double](repeating: 0, count: configuration.streams.count)
        for b in bills { out[b.stream] += b.amount }
        return out
    }

    public mutating func reset(seed: UInt64?, options: NoResetOptions?) throws -> ResetResult<[Float], EmploymentInfo> {
        resetState(seed: seed)
        isReady = true
        return ResetResult(observation: observation(), info: EmploymentInfo())
    }

    /// Starts an episode (no checks); `seed` as in ``reset(seed:options:)``.
    public mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
        let c = configuration
        time = 0
        start = 0
        if c.randomStart && episodeLength < c.series.count {
            start = Int.random(in: 0...(c.series.count - episodeLength), using: &generator)
        }
        for w in c.workers.indices {
            jobs[w] = c.workers[w].initialJob
            pending[w] = 0
        }
        bills.removeAll(keepingCapacity: true)
    }

    public mutating func step(_ action: [Int]) throws -> StepResult<[Float], EmploymentInfo> {
        guard isReady else { throw EnvError.stepBeforeReset("EmploymentSearch") }
        guard actionSpace.contains(action) else {
            throw EnvError(.invalidAction, "EmploymentSearch: action \(action) is not in \(actionSpace).")
        }
        var info = EmploymentInfo()
        let t = action.withUnsafeBufferPointer { stepState($0, info: &info) }
        return StepResult(observation: observation(), reward: t.reward, terminated: t.terminated,
                          truncated: t.truncated, info: info)
    }

    public mutating func close() { isReady = false }

    /// Advances one step (no checks beyond the mask) and fills `info`.
    /// - Precondition: `resetState` was called and every `action[w]` is a job index.
    public mutating func stepState(_ action: UnsafeBufferPointer<Int>, info: inout EmploymentInfo) -> Transition {
        let c = configuration
        info = EmploymentInfo()
        info.step = time
        // 1-2. choices and the fraction of the step each worker works.
        for w in c.workers.indices {
            var a = action[w]
            if !isFeasible(worker: w, job: a) {
                info.infeasibleChoices += 1
                a = jobs[w]
            }
            if a != jobs[w] {
                info.switches += 1
                jobs[w] = a
                pending[w] = c.jobs[a].hireTime.sample(using: &generator)
            }
            timeLeft[w] = 1 - min(pending[w], 1)
            pending[w] = max(0, pending[w] - 1)
            info.hours += c.jobs[jobs[w]].hours
        }
        // 3. new bills.
        let row = c.series.amounts[start + time]
        for s in c.streams.indices where row[s] > 0 {
            bills.append(Bill(stream: s, due: time + c.streams[s].deadlineSteps, amount: row[s]))
            info.arrived += row[s]
        }
        // 4. pay, earliest due first (ties: stream order); each bill from the workers pooled by
        // job (counting sort: job order, then worker order), a unit of stream s costing worker
        // w 1 / salary(job_w, s) of its step.
        if bills.count > 1 {
            bills.sort { $0.due != $1.due ? $0.due < $1.due : $0.stream < $1.stream }
        }
        for j in jobStart.indices { jobStart[j] = 0 }
        for w in c.workers.indices { jobStart[jobs[w] + 1] += 1 }
        for j in 0..<c.jobs.count { jobStart[j + 1] += jobStart[j] }
        for w in c.workers.indices {
            payOrder[jobStart[jobs[w]]] = w
            jobStart[jobs[w]] += 1
        }
        let schedule = c.salarySchedule, scheduleRow = (start + time) * c.jobs.count
        for i in bills.indices {
            let s = bills[i].stream
            for w in payOrder where timeLeft[w] > 0 && bills[i].amount > 0 {
                let job = c.jobs[jobs[w]]
                let rate = schedule.map { $0[(scheduleRow + jobs[w]) * c.streams.count + s] } ?? job.salary(stream: s)
                guard rate > 0 else { continue }
                let can = timeLeft[w] * rate
                let pay: Double
                if can <= bills[i].amount {
                    pay = can
                    timeLeft[w] = 0
                } else {
                    pay = bills[i].amount
                    timeLeft[w] -= pay / rate
                }
                bills[i].amount -= pay
                info.paid += pay
                info.happinessPaid += job.happiness * pay
                if bills[i].due >= time { info.paidOnTime += pay }
            }
        }
        // 5. lateness and write-offs.
        var kept = 0
        for k in bills.indices {
            let b = bills[k]
            if b.amount <= 0 { continue }
            if b.due <= time {
                let s = c.streams[b.stream]
                let x = time - b.due + 1
                info.latenessPenalty += b.amount * s.weight * s.penalty.increment(x)
                if x >= s.writeOffAfter {
                    info.writtenOff += b.amount
                    info.writeOffPenalty += b.amount * s.weight * s.writeOffPenalty
                    continue
                }
            }
            info.outstanding += b.amount
            bills[kept] = b
            kept += 1
        }
        bills.removeLast(bills.count - kept)
        let wts = c.weights
        info.salaryTerm = wts.salary * info.paid
        info.happinessTerm = wts.happiness * info.happinessPaid
        info.hoursTerm = -wts.hours * info.hours
        info.latenessTerm = -wts.lateness * (info.latenessPenalty + info.writeOffPenalty)
        time += 1
        return Transition(reward: info.reward, terminated: false, truncated: time >= episodeLength)
    }

    /// The number of `Float`s in an observation.
    public var observationDimension: Int { observationSpace.count }

    /// The current observation (allocates).
    public func observation() -> [Float] {
        [Float](unsafeUninitializedCapacity: observationDimension) { buffer, count in
            writeObservation(into: buffer.baseAddress!)
            count = observationDimension
        }
    }

    /// Writes the observation: per worker the one-hot job held or applied to and the pending
    /// hire time (steps); per stream the mean bills over each history window, the backlog in
    /// lateness buckets (not yet late, 1, 2-3, 4+ steps late) and optionally next step's bills,
    /// all divided by ``billScale``; last, the episode's elapsed fraction.
    public func writeObservation(into d: UnsafeMutablePointer<Float>) {
        let c = configuration, layout = observationLayout
        layout.writeWorkers(into: d, job: { jobs[$0] }, pending: { pending[$0] })
        let now = start + time  // the next step's row
        for s in c.streams.indices {
            var buckets = (0.0, 0.0, 0.0, 0.0)
            for b in bills where b.stream == s {
                // Lateness the bill will have if unpaid at the end of the next step.
                switch FamilyObservationLayout.backlogBucket(lateness: time - b.due + 1) {
                case 0: buckets.0 += b.amount
                case 1: buckets.1 += b.amount
                case 2: buckets.2 += b.amount
                default: buckets.3 += b.amount
                }
            }
            layout.writeStream(s, scale: billScale, windowMean: { i in
                let window = c.historyWindows[i]
                let lo = max(start, now - window)
                var sum = 0.0
                if lo < now { for t in lo..<now { sum += c.series.amounts[t][s] } }
                return sum / Double(window)
            }, backlog: buckets, forecast: now < c.series.count ? c.series.amounts[now][s] : 0, into: d)
        }
        layout.writeElapsed(step: time, episodeLength: episodeLength, into: d)
    }
}
