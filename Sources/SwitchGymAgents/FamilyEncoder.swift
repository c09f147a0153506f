import SwitchGymCore

/// The inputs of a **family policy**: one actor network shared by every worker (device) of a
/// family, and one critic, whose sizes do not depend on the number of workers, so one network
/// serves a fleet of 4 or 256 devices (of the same classes and variants).
///
/// **How devices coordinate within one decision.** The workers choose one after another, in
/// device order (an autoregressive factorisation of the joint choice, exact by the chain
/// rule): worker `w` sees its own state, its class, the family's shared block, and the
/// **plan**: per class and job, the fraction of the class that holds that job once the
/// choices already made this step are applied (the other workers count with the job they
/// hold), and per class the fraction of workers that have chosen already. A worker that sees
/// that its class already moved enough devices to a job stays; the chosen assignment can never
/// ask for more devices than a class has, because every choice is one worker's own.
///
/// Actor input for worker `w` of class `k` (``actorInputSize`` floats):
/// `[one-hot job held (J) | pending hire (1) | one-hot class (K) | plan (K × J) | chosen fraction (K) | shared block]`.
/// Critic input (``criticInputSize``): `[holdings (K × J) | mean pending per class (K) | shared block]`,
/// fractions of each class. The shared block is ``FamilyObservationLayout``'s: per stream the
/// recent and queued bills (over the mean bills per step) and the elapsed fraction.
///
/// Training evaluates the same rows with the plan rebuilt from the stored choices (teacher
/// forcing), so a minibatch of `m` decisions is one forward pass over `m × workers` rows.
public struct FamilyEncoder: Sendable, Equatable {
    /// The env's observation layout.
    public let layout: FamilyObservationLayout
    /// Per class, `1 / devices of the class`.
    let inverseClassSize: [Float]

    public init(layout: FamilyObservationLayout) {
        self.layout = layout
        var sizes = [Int](repeating: 0, count: layout.classCount)
        for k in layout.workerClass { sizes[k] += 1 }
        inverseClassSize = sizes.map { $0 > 0 ? 1 / Float($0) : 0 }
    }

    /// What a trained family policy needs from an env to run on it: the same classes, jobs,
    /// streams and observation features, in the same order (any number of workers per class).
    public struct Signature: Codable, Sendable, Equatable {
        public var classes: [String]
        public var jobs: [String]
        public var streams: Int
        public var historyWindows: Int
        public var forecast: Bool
    }

    /// This family's signature.
    public var signature: Signature {
        Signature(classes: layout.classNames, jobs: layout.jobNames, streams: layout.streams,
                  historyWindows: layout.historyWindows, forecast: layout.forecast)
    }

    var J: Int { layout.jobs }
    var K: Int { layout.classCount }
    var G: Int { layout.sharedCount }

    /// Floats per actor row.
    public var actorInputSize: Int { J + 1 + K + K * J + K + G }
    /// Floats per critic row.
    public var criticInputSize: Int { K * J + K + G }
    /// Floats of plan state per decision (plan, then chosen fractions).
    var planSize: Int { K * J + K }

    /// Writes the critic row of observation `obs`.
    @inline(__always)
    func writeCritic(_ obs: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let kj = K * J
        out.update(repeating: 0, count: kj + K)
        for w in 0..<layout.workers {
            let k = layout.workerClass[w]
            let j = layout.job(ofWorker: w, in: obs)
            out[k * J + j] += inverseClassSize[k]
            out[kj + k] += obs[layout.workerOffset(w) + J] * inverseClassSize[k]
        }
        (out + kj + K).update(from: obs + layout.sharedOffset, count: G)
    }

    /// Starts the plan of one decision: the holdings, nobody chosen yet.
    @inline(__always)
    func startPlan(_ obs: UnsafePointer<Float>, plan: UnsafeMutablePointer<Float>) {
        plan.update(repeating: 0, count: planSize)
        for w in 0..<layout.workers {
            let k = layout.workerClass[w]
            plan[k * J + layout.job(ofWorker: w, in: obs)] += inverseClassSize[k]
        }
    }

    /// Writes worker `w`'s actor row under `plan`.
    @inline(__always)
    func writeActorRow(_ obs: UnsafePointer<Float>, worker w: Int, plan: UnsafePointer<Float>,
                       into out: UnsafeMutablePointer<Float>) {
        let k = layout.workerClass[w]
        out.update(from: obs + layout.workerOffset(w), count: J + 1)
        let classPart = out + J + 1
        classPart.update(repeating: 0, count: K)
        classPart[k] = 1
        (classPart + K).update(from: plan, count: planSize)
        (classPart + K + planSize).update(from: obs + layout.sharedOffset, count: G)
    }

    /// Applies worker `w`'s choice `job` to `plan`.
    @inline(__always)
    func advancePlan(_ obs: UnsafePointer<Float>, worker w: Int, job: Int, plan: UnsafeMutablePointer<Float>) {
        let k = layout.workerClass[w]
        let held = layout.job(ofWorker: w, in: obs)
        let x = inverseClassSize[k]
        plan[k * J + held] -= x
        plan[k * J + job] += x
        plan[K * J + k] += x
    }

    /// Writes every worker's actor row of one decision whose choices are known (teacher
    /// forcing): `out` gets `workers × actorInputSize` floats.
    func writeActorRows(_ obs: UnsafePointer<Float>, choices: UnsafePointer<Int32>, plan: UnsafeMutablePointer<Float>,
                        into out: UnsafeMutablePointer<Float>) {
        startPlan(obs, plan: plan)
        let a = actorInputSize
        for w in 0..<layout.workers {
            writeActorRow(obs, worker: w, plan: plan, into: out + w * a)
            advancePlan(obs, worker: w, job: Int(choices[w]), plan: plan)
        }
    }
}
