import Foundation
import SwitchGymCore

extension FluidServingEnv: StateCheckpointable {
    /// Everything that changes while the env runs, each under its own name: `generator`,
    /// `time`, `start`, `load_scale`, `variants` and `pending` (per device), the queues (``CohortRing``:
    /// `ring_head`, `ring_count`, `ring_due` (intervals), `ring_amount` with interval queueing;
    /// `sub_head`, `sub_count`, `sub_due` (seconds), `sub_amount`, `sub_last_due`, `sub_span`,
    /// `sub_total` (``CohortRing/lastDue``), `sub_pinned` (``CohortRing/pinned``) with sub-interval queueing, and
    /// then also the switch state ``SwitchCarry``: `cache_stamp`, `cache_gb`, `cache_clock`, `busy_end`, `in_flight`, `tenured`), `ready`, and the last interval and the totals
    /// (`last`, `totals`: their Codable fields as JSON, which round-trips every double exactly).
    /// The model (scenario and arrivals) is construction-time and not saved.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.setGenerator(generator, at: "generator")
        s.setInt(time, at: "time")
        s.setInt(start, at: "start")
        s.doubles["load_scale"] = [loadScale]
        s.setInts(variants, at: "variants")
        s.doubles["pending"] = pending
        if model.queueing == .subinterval {
            s.setInts(queues.head, at: "sub_head")
            s.setInts(queues.count, at: "sub_count")
            s.doubles["sub_due"] = queues.due
            s.doubles["sub_amount"] = queues.amount
            s.doubles["sub_last_due"] = queues.lastDue
            s.doubles["sub_span"] = queues.span
            s.doubles["sub_total"] = queues.total
            s.setInts(queues.pinned, at: "sub_pinned")
            s.integers["cache_stamp"] = carry.cacheStamp
            s.doubles["cache_gb"] = carry.cacheGB
            s.integers["cache_clock"] = [carry.clock]
            s.doubles["busy_end"] = carry.busyEnd
            s.doubles["in_flight"] = carry.inFlight
            s.doubles["tenured"] = carry.tenured
        } else {
            s.setInts(queues.head, at: "ring_head")
            s.setInts(queues.count, at: "ring_count")
            s.setInts(queues.due.map { Int($0) }, at: "ring_due")
            s.doubles["ring_amount"] = queues.amount
        }
        s.setFlag(isReady, at: "ready")
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        s.strings["last"] = String(decoding: (try? e.encode(last)) ?? Data(), as: UTF8.self)
        s.strings["totals"] = String(decoding: (try? e.encode(totals)) ?? Data(), as: UTF8.self)
        return s
    }

    /// Restores a state saved by an env over the same model; every entry is read and checked
    /// (name and size) before anything changes.
    public mutating func loadState(_ s: StateDict) throws {
        let D = model.deviceCount, S = model.streamCount
        let g = try s.generator("generator")
        let t = try s.int("time"), st = try s.int("start")
        // A state saved before load augmentation existed has no entry: its episodes were unscaled.
        let scale = s.doubles["load_scale"] == nil ? 1 : try s.doubles("load_scale", count: 1)[0]
        let held = try s.ints("variants", count: D)
        let p = try s.doubles("pending", count: D)
        let sub = model.queueing == .subinterval, prefix = sub ? "sub" : "ring"
        // A state saved before pinned pieces (sub-interval queueing, a pinning router) has the
        // smaller rings of ``ServingModel/baseQueueCapacity``; it is laid out again below.
        let legacy = sub && queues.slotCount != model.baseQueueCapacity.reduce(0, +)
            && s.doubles["sub_due"]?.count == model.baseQueueCapacity.reduce(0, +) && s.integers["sub_pinned"] == nil
        let rings = legacy ? CohortRing(capacities: model.baseQueueCapacity) : queues
        let n = rings.slotCount
        let head = try s.ints(prefix + "_head", count: S), count = try s.ints(prefix + "_count", count: S)
        let due = sub ? try s.doubles("sub_due", count: n) : try s.ints("ring_due", count: n).map(Double.init)
        let amounts = try s.doubles(prefix + "_amount", count: n)
        // Each cohort's last deadline, arrival spread and arrivals (sub-interval queueing); a
        // state saved before they existed has none: its cohorts count as arrived at once, all
        // due at their mean deadline.
        // (Copies, not the same buffers: the step would pay a copy-on-write.)
        let spread = sub && s.doubles["sub_last_due"] != nil
        let lastDue = spread ? try s.doubles("sub_last_due", count: n) : due.map { $0 }
        let spans = spread ? try s.doubles("sub_span", count: n) : [Double](repeating: 0, count: n)
        let arrivedWith = spread ? try s.doubles("sub_total", count: n) : amounts.map { $0 }
        guard lastDue.allSatisfy({ !$0.isNaN }), spans.allSatisfy({ $0 >= 0 && $0.isFinite }),
              zip(arrivedWith, amounts).allSatisfy({ $0.isFinite && $0 >= $1 }) else {
            throw EnvError(.invalidArgument, "FluidServingEnv.loadState: sub_last_due, sub_span or sub_total out of range (expected deadlines in seconds, spans >= 0, each cohort's arrivals at least what it has left).")
        }
        // Each slot's pin: a variant or -1 (pooled); none saved: all pooled.
        let pins = sub && s.integers["sub_pinned"] != nil ? try s.ints("sub_pinned", count: n) : [Int](repeating: -1, count: n)
        guard pins.allSatisfy({ (-1..<model.variantCount).contains($0) }) else {
            throw EnvError(.invalidArgument, "FluidServingEnv.loadState: sub_pinned has entries out of range (expected -1 or a variant index below \(model.variantCount)).")
        }
        guard rings.isValid(head: head, count: count) else {
            throw EnvError(.invalidArgument, "FluidServingEnv.loadState: \(prefix)_head or \(prefix)_count out of range for this scenario's queues.")
        }
        // The switch state of sub-interval queueing; a state saved before it existed has none:
        // its caches held the initial variants and nothing was in flight.
        var switches = SwitchCarry(model: model)
        switches.reset(model: model)
        if sub && s.integers["cache_stamp"] != nil {
            let V = model.variantCount
            let stamps = try s.integers("cache_stamp", count: D * V), gb = try s.doubles("cache_gb", count: D)
            let clock = try s.integers("cache_clock", count: 1)[0]
            let busy = try s.doubles("busy_end", count: V), flight = try s.doubles("in_flight", count: V * S * 4)
            guard stamps.allSatisfy({ $0 <= clock }), clock >= 1 else {
                throw EnvError(.invalidArgument, "FluidServingEnv.loadState: cache_stamp has stamps past cache_clock \(clock) (expected a host-RAM cache's stamps, 0 to the clock).")
            }
            switches.cacheStamp = stamps
            switches.cacheGB = gb
            switches.clock = clock
            switches.busyEnd = busy
            switches.inFlight = flight
        }
        // The devices the pinned backlog waits on, per variant (``SwitchCarry/tenured``); a state
        // saved before they existed: every device holding a variant.
        if sub {
            var holding = [Double](repeating: 0, count: model.variantCount)
            for v in held where (0..<model.variantCount).contains(v) { holding[v] += 1 }
            if s.doubles["tenured"] != nil {
                let ten = try s.doubles("tenured", count: model.variantCount)
                guard zip(ten, holding).allSatisfy({ $0 >= 0 && $0 <= $1 && $0 == $0.rounded() }) else {
                    throw EnvError(.invalidArgument, "FluidServingEnv.loadState: tenured out of range (expected per variant a whole number of devices, 0 to the devices holding it in variants).")
                }
                switches.tenured = ten
            } else {
                switches.tenured = holding
            }
        }
        let ready = try s.flag("ready")
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let l = try? d.decode(ServingStepInfo.self, from: Data(try s.string("last").utf8)),
              let tot = try? d.decode(ServingMetrics.self, from: Data(try s.string("totals").utf8)) else {
            throw EnvError(.invalidArgument, "FluidServingEnv.loadState: the last/totals entries are not the env's step info and metrics.")
        }
        guard held.allSatisfy({ (0..<model.variantCount).contains($0) }), (0...model.episodeLength).contains(t),
              (0..<max(model.intervalCount, 1)).contains(st), scale.isFinite, scale > 0 else {
            throw EnvError(.invalidArgument, "FluidServingEnv.loadState: variants, time or start out of range for this scenario.")
        }
        generator = g
        time = t; start = st
        loadScale = scale
        variants = held
        pending = p
        if legacy {
            // Each stream's cohorts, oldest first, from the start of its ring.
            var r = CohortRing(capacities: model.queueCapacity)
            for q in 0..<S {
                for i in 0..<count[q] {
                    let from = rings.offset[q] + (head[q] + i) % rings.capacity[q], to = r.offset[q] + i
                    r.due[to] = due[from]; r.amount[to] = amounts[from]; r.lastDue[to] = lastDue[from]
                    r.span[to] = spans[from]; r.total[to] = arrivedWith[from]; r.pinned[to] = pins[from]
                }
                r.count[q] = count[q]
            }
            queues = r
        } else {
            queues.head = head; queues.count = count; queues.due = due; queues.amount = amounts
            queues.lastDue = lastDue; queues.span = spans; queues.total = arrivedWith; queues.pinned = pins
        }
        carry = switches
        isReady = ready
        last = l
        totals = tot
    }
}
