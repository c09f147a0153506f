/// The observation of a family of workers, in one place: ``EmploymentSearch`` and the serving
/// envs reduced to it (``FluidServingEnv``, ``DiscreteEventServingEnv``) write it, and a
/// policy whose parameters are shared by the workers of a class reads it through this layout.
///
/// Layout (all `Float`):
/// 1. per worker `w`, at ``workerOffset(_:)``: a one-hot of the job held or applied to
///    (``jobs`` entries), then the pending hire time in steps (1 entry);
/// 2. per stream `s`, at ``streamOffset(_:)``: the mean bills over each history window, the
///    backlog by lateness (not yet late, 1, 2–3, 4+ steps late), and optionally the next
///    step's bills (forecast); all divided by the mean bills per step and stream;
/// 3. last, at ``elapsedOffset``, the episode's elapsed fraction.
///
/// Parts 2 and 3 are the **shared block**: what every worker of the family sees. Its size does
/// not depend on the number of workers, so a per-worker policy that reads a worker's own block,
/// its class and the shared block serves a family of any size.
public struct FamilyObservationLayout: Sendable, Equatable, Codable {
    /// Workers (devices).
    public let workers: Int
    /// Jobs (variants).
    public let jobs: Int
    /// Bill streams (SLO streams).
    public let streams: Int
    /// Number of history windows per stream.
    public let historyWindows: Int
    /// Whether each stream carries a forecast entry.
    public let forecast: Bool
    /// The class of each worker (devices of one kind and memory; see `FleetClasses`).
    public let workerClass: [Int]
    /// One name per class.
    public let classNames: [String]
    /// One name per job.
    public let jobNames: [String]

    public init(workers: Int, jobs: Int, streams: Int, historyWindows: Int, forecast: Bool,
                workerClass: [Int]? = nil, classNames: [String]? = nil, jobNames: [String]? = nil) {
        self.workers = workers
        self.jobs = jobs
        self.streams = streams
        self.historyWindows = historyWindows
        self.forecast = forecast
        self.workerClass = workerClass ?? [Int](repeating: 0, count: workers)
        self.classNames = classNames ?? ["workers"]
        self.jobNames = jobNames ?? (0..<jobs).map { "job\($0)" }
    }

    /// Entries per worker: the one-hot job and the pending hire time.
    @inline(__always) public var perWorker: Int { jobs + 1 }
    /// Entries per stream.
    @inline(__always) public var perStream: Int { historyWindows + 4 + (forecast ? 1 : 0) }
    /// Where worker `w`'s block starts.
    @inline(__always) public func workerOffset(_ w: Int) -> Int { w * perWorker }
    /// Where the shared block starts (after every worker's block).
    @inline(__always) public var sharedOffset: Int { workers * perWorker }
    /// Entries in the shared block (streams and the elapsed fraction).
    @inline(__always) public var sharedCount: Int { streams * perStream + 1 }
    /// Where stream `s`'s block starts.
    @inline(__always) public func streamOffset(_ s: Int) -> Int { sharedOffset + s * perStream }
    /// Where the elapsed fraction is.
    @inline(__always) public var elapsedOffset: Int { sharedOffset + streams * perStream }
    /// Entries in an observation.
    @inline(__always) public var dimension: Int { sharedOffset + sharedCount }
    /// Number of worker classes.
    public var classCount: Int { classNames.count }

    /// The observation space: one-hots in [0, 1], pending times and bills in [0, ∞), the
    /// elapsed fraction in [0, 1].
    public var space: Box {
        var low = [Float](), high = [Float]()
        low.reserveCapacity(dimension); high.reserveCapacity(dimension)
        for _ in 0..<workers {
            low += [Float](repeating: 0, count: jobs); high += [Float](repeating: 1, count: jobs)
            low.append(0); high.append(.infinity)
        }
        low += [Float](repeating: 0, count: perStream * streams)
        high += [Float](repeating: .infinity, count: perStream * streams)
        low.append(0); high.append(1)
        return Box(low: low, high: high)
    }

    /// The job worker `w` holds in observation `obs` (the index of its one-hot).
    @inline(__always)
    public func job(ofWorker w: Int, in obs: UnsafePointer<Float>) -> Int {
        let o = workerOffset(w)
        for j in 0..<jobs where obs[o + j] > 0.5 { return j }
        return 0
    }

    // MARK: Writing (the one writer of this layout; every env that emits it calls these)

    /// The backlog bucket of a batch that will be `late` steps late at the end of the next
    /// step: 0 not yet late, 1 one step, 2 two or three steps, 3 four or more.
    @inline(__always)
    public static func backlogBucket(lateness late: Int) -> Int { late <= 0 ? 0 : late == 1 ? 1 : late <= 3 ? 2 : 3 }

    /// Writes every worker's block: the one-hot of `job(w)` and the pending hire time
    /// `pending(w)` in steps. The workers' part is cleared in one pass first, so a worker costs
    /// two stores (clearing each block on its own was a call to memset per worker, a tenth of a
    /// 256-device fluid step; a select per entry, a mispredicted branch per worker, was slower).
    @inlinable @inline(__always)
    public func writeWorkers(into out: UnsafeMutablePointer<Float>, job: (Int) -> Int, pending: (Int) -> Double) {
        out.update(repeating: 0, count: sharedOffset)
        for w in 0..<workers {
            let row = out + workerOffset(w)
            row[job(w)] = 1
            row[jobs] = Float(pending(w))
        }
    }

    /// Writes stream `s`'s block, everything divided by `scale` (the mean bills per step):
    /// `windowMean(i)`, the mean bills per step over history window `i`; the four backlog
    /// buckets (``backlogBucket(lateness:)``); and, when the layout has it, `forecast`.
    @inline(__always)
    public func writeStream(_ s: Int, scale: Double, windowMean: (Int) -> Double,
                            backlog: (Double, Double, Double, Double), forecast: Double,
                            into out: UnsafeMutablePointer<Float>) {
        let row = out + streamOffset(s), inverse = 1 / scale
        for i in 0..<historyWindows { row[i] = Float(windowMean(i) * inverse) }
        let b = row + historyWindows
        b[0] = Float(backlog.0 * inverse); b[1] = Float(backlog.1 * inverse)
        b[2] = Float(backlog.2 * inverse); b[3] = Float(backlog.3 * inverse)
        if self.forecast { b[4] = Float(forecast * inverse) }
    }

    /// Writes the elapsed fraction `step / episodeLength`, clipped to [0, 1].
    @inline(__always)
    public func writeElapsed(step: Int, episodeLength: Int, into out: UnsafeMutablePointer<Float>) {
        out[elapsedOffset] = Float(min(Double(step) / Double(episodeLength), 1))
    }
}
