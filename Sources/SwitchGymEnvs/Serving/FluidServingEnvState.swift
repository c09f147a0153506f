import Foundation
import SwitchGymCore

extension FluidServingEnv: StateCheckpointable {
    /// Everything that changes while the env runs, each under its own name: `generator`,
    /// `time`, `start`, `load_scale`, `variants` and `pending` (per device), the queues (`ring_head`,
    /// `ring_count`, `ring_due`, `ring_amount`; with sub-interval queueing also `sub_head`,
    /// `sub_count`, `sub_due`, `sub_amount`), `ready`, and the last interval and the totals
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
        s.setInts(ringHead, at: "ring_head")
        s.setInts(ringCount, at: "ring_count")
        s.setInts(ringDue, at: "ring_due")
        s.doubles["ring_amount"] = ringAmount
        if model.queueing == .subinterval {
            s.setInts(subHead, at: "sub_head")
            s.setInts(subCount, at: "sub_count")
            s.doubles["sub_due"] = subDue
            s.doubles["sub_amount"] = subAmount
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
        let head = try s.ints("ring_head", count: S), count = try s.ints("ring_count", count: S)
        let due = try s.ints("ring_due", count: model.ringTotal)
        let amounts = try s.doubles("ring_amount", count: model.ringTotal)
        var sub: (head: [Int], count: [Int], due: [Double], amount: [Double])?
        if model.queueing == .subinterval {
            sub = (try s.ints("sub_head", count: S), try s.ints("sub_count", count: S),
                   try s.doubles("sub_due", count: model.subRingTotal), try s.doubles("sub_amount", count: model.subRingTotal))
        }
        if let sub, !(0..<S).allSatisfy({ (0..<model.subRingCapacity[$0]).contains(sub.head[$0]) && (0...model.subRingCapacity[$0]).contains(sub.count[$0]) }) {
            throw EnvError(.invalidArgument, "FluidServingEnv.loadState: sub_head or sub_count out of range for this scenario's queues.")
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
        ringHead = head; ringCount = count; ringDue = due
        ringAmount = amounts
        if let sub { subHead = sub.head; subCount = sub.count; subDue = sub.due; subAmount = sub.amount }
        isReady = ready
        last = l
        totals = tot
    }
}
