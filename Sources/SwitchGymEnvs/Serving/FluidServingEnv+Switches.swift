import SwitchGymCore

// What a switch costs with sub-interval queueing, beyond the load itself, as the discrete-event
// fidelity charges it: loads through the device's host-RAM cache, the drain of a fixed-cost
// variant's running batches before its load, and the work in flight an LLM variant loses.

/// The state sub-interval queueing carries across intervals for switches:
/// - per device its host-RAM cache (``HostRAMCache``: `cacheStamp[d * V + v]`, `cacheGB[d]`,
///   one `clock`);
/// - per variant `busyEnd[v]`: when the service its devices started in the last interval ends
///   (seconds since the episode start; a fixed-cost variant's device that switches loads from
///   then on, its running batches drained);
/// - per variant and stream the service started in the last interval and still running at its
///   end (`inFlight[(v * S + s) * 4 + j]`: `j = 0` the queries, `1` their summed deadlines,
///   `2` those counted on time, `3` the lateness charged for finishing after the interval's end);
///   a switch of an LLM variant's device sends its share back to the queue;
/// - per variant `tenured[v]` (``QueuedDispatch/pinned``): of its devices, those the backlog
///   pinned to it waits on: the devices that kept it at the last decision that switched
///   devices. A device that switched to it since serves the queries that arrive after it
///   (pooled cohorts), not that backlog, as the router leaves each query on the device it was
///   sent to (``FluidServingEnv/stepSubintervals(choices:)``);
/// - scratch of the decisions: per variant the devices that served at the last interval's end
///   (`serving[v]`) and, of them, those that switch away (`leaving[v]`).
struct SwitchCarry: Sendable, Equatable {
    var cacheStamp: [UInt64], cacheGB: [Double], clock: UInt64 = 1
    var busyEnd: [Double], inFlight: [Double]
    var tenured: [Double]
    var serving: [Double], leaving: [Double]
    /// Whether the last decisions had a serving device leave an LLM variant.
    var anyLeaving = false

    init(model m: ServingModel) {
        let V = m.variantCount, S = m.streamCount, D = m.deviceCount
        cacheStamp = [UInt64](repeating: 0, count: D * V)
        cacheGB = [Double](repeating: 0, count: D)
        busyEnd = [Double](repeating: 0, count: V)
        inFlight = [Double](repeating: 0, count: V * S * 4)
        tenured = [Double](repeating: 0, count: V)
        serving = [Double](repeating: 0, count: V)
        leaving = [Double](repeating: 0, count: V)
    }

    /// Episode start: every device's cache holds its initial variant only (loaded from disk
    /// once, as the discrete-event fidelity starts), nothing runs.
    mutating func reset(model m: ServingModel) {
        let V = m.variantCount
        clock = 1
        for i in cacheStamp.indices { cacheStamp[i] = 0 }
        for i in busyEnd.indices { busyEnd[i] = 0; serving[i] = 0; leaving[i] = 0 }
        for i in inFlight.indices { inFlight[i] = 0 }
        for i in tenured.indices { tenured[i] = 0 }
        for d in 0..<m.deviceCount { tenured[m.initialVariants[d]] += 1 }
        m.memoryGB.withUnsafeBufferPointer { memory in
            cacheStamp.withUnsafeMutableBufferPointer { stamps in
                for d in 0..<m.deviceCount {
                    cacheGB[d] = 0
                    HostRAMCache.insert(m.initialVariants[d], variants: V, memory: memory.baseAddress!, capacityGB: m.hostRAMGB[d],
                                        stamps: stamps.baseAddress! + d * V, cachedGB: &cacheGB[d], clock: &clock)
                }
            }
        }
    }
}

extension SwitchCarry {
    /// Unchecked access to the state and the model tables the decisions read.
    struct DecisionPointers {
        let stamps: UnsafeMutablePointer<UInt64>, cachedGB: UnsafeMutablePointer<Double>
        let busyEnd: UnsafePointer<Double>, serving: UnsafeMutablePointer<Double>, leaving: UnsafeMutablePointer<Double>
        let memory: UnsafePointer<Double>, hostRAM: UnsafePointer<Double>
        let ramSeconds: UnsafePointer<Double>, diskSeconds: UnsafePointer<Double>, restarts: UnsafePointer<Bool>
    }

    /// Runs `body` with ``DecisionPointers`` over this state and `m`'s tables.
    @inline(__always)
    mutating func withDecisionPointers<R>(model m: ServingModel, _ body: (DecisionPointers) -> R) -> R {
        cacheStamp.withUnsafeMutableBufferPointer { stamps in
            cacheGB.withUnsafeMutableBufferPointer { gb in
                busyEnd.withUnsafeBufferPointer { busy in
                    serving.withUnsafeMutableBufferPointer { serving in
                        leaving.withUnsafeMutableBufferPointer { leaving in
                            m.memoryGB.withUnsafeBufferPointer { memory in
                                m.hostRAMGB.withUnsafeBufferPointer { ram in
                                    m.loadSecondsRAM.withUnsafeBufferPointer { fromRAM in
                                        m.loadSecondsDisk.withUnsafeBufferPointer { fromDisk in
                                            m.restartsOnSwitch.withUnsafeBufferPointer { restarts in
                                                body(DecisionPointers(
                                                    stamps: stamps.baseAddress!, cachedGB: gb.baseAddress!, busyEnd: busy.baseAddress!,
                                                    serving: serving.baseAddress!, leaving: leaving.baseAddress!, memory: memory.baseAddress!,
                                                    hostRAM: ram.baseAddress!, ramSeconds: fromRAM.baseAddress!,
                                                    diskSeconds: fromDisk.baseAddress!, restarts: restarts.baseAddress!))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension FluidServingEnv {
    /// Sends the work in flight on the devices that switched away from an LLM variant back to
    /// the queues, as the discrete-event fidelity restarts their requests: per variant the
    /// switching share of its serving devices (`leaving / serving`) of what was still running
    /// at the last interval's end leaves the served, accurate and on-time counts (the service
    /// it had is wasted), the lateness charged for finishing after that end is taken back, and
    /// it rejoins its stream's queue at the front, due at its mean deadline (no later than the
    /// cohorts still queued). The step then clears the record for the new interval.
    /// - Returns: the queries sent back, the accuracy-weighted ones, the on-time ones and the
    ///   lateness taken back.
    /// - Complexity: O(variants × streams); no allocation.
    @inline(__always)
    mutating func requeueLostWork() -> (served: Double, accuracy: Double, onTime: Double, lateness: Double) {
        let m = model
        let V = m.variantCount, S = m.streamCount
        var lost = (served: 0.0, accuracy: 0.0, onTime: 0.0, lateness: 0.0)
        carry.inFlight.withUnsafeMutableBufferPointer { f in
        carry.leaving.withUnsafeMutableBufferPointer { leaving in
        carry.serving.withUnsafeMutableBufferPointer { serving in
        m.restartsOnSwitch.withUnsafeBufferPointer { restarts in
        queues.withSlots { q in
            for s in 0..<S {
                var amount = 0.0, dueSum = 0.0
                for v in 0..<V where restarts[v] && leaving[v] > 0 && serving[v] > 0 {
                    let share = leaving[v] / serving[v], i = (v &* S &+ s) &* 4
                    guard f[i] > 0 else { continue }
                    let a = share * f[i]
                    amount += a
                    dueSum += share * f[i &+ 1]
                    lost.accuracy += m.accuracy[v] * a
                    lost.onTime += share * f[i &+ 2]
                    lost.lateness += share * f[i &+ 3]
                }
                guard amount > 0 else { continue }
                lost.served += amount
                var due = dueSum / amount
                if q.count[s] > 0 { due = min(due, q.due[q.slot(s, 0)]) }
                q.prepend(s, due: due, amount: amount)
            }
        }
        }
        }
        }
        }
        return lost
    }
}
