import SwitchGymCore

extension FluidServingEnv: StateCheckpointable {
    /// Everything that changes while the env runs: the generator, the clock and episode start,
    /// the variants and pending loads, the queues, the readiness flag, the last interval and
    /// the totals. The model (scenario and arrivals) is construction-time and not saved.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.setGenerator(generator, at: "generator")
        s.setInts([time, start] + variants + ringHead + ringCount + ringDue, at: "integers")
        s.doubles["pending"] = pending
        s.doubles["ring_amount"] = ringAmount
        s.setFlag(isReady, at: "ready")
        s.doubles["last"] = Self.pack(last)
        s.doubles["totals"] = [Double(totals.intervals), totals.seconds, totals.arrived, totals.served, totals.servedOnTime,
                               totals.dropped, totals.queued, totals.accuracyServed, totals.cost, Double(totals.switches),
                               totals.latenessPenalty, totals.dropPenalty, totals.utility]
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let D = model.deviceCount, S = model.streamCount
        let ints = try s.ints("integers", count: 2 + D + 2 * S + model.ringTotal)
        let g = try s.generator("generator")
        let p = try s.doubles("pending", count: D)
        let amounts = try s.doubles("ring_amount", count: model.ringTotal)
        let ready = try s.flag("ready")
        let l = try s.doubles("last", count: 17)
        let t = try s.doubles("totals", count: 13)
        generator = g
        time = ints[0]; start = ints[1]
        variants = Array(ints[2..<(2 + D)])
        ringHead = Array(ints[(2 + D)..<(2 + D + S)])
        ringCount = Array(ints[(2 + D + S)..<(2 + D + 2 * S)])
        ringDue = Array(ints[(2 + D + 2 * S)...])
        pending = p
        ringAmount = amounts
        isReady = ready
        last = Self.unpack(l)
        totals = ServingMetrics()
        totals.intervals = Int(t[0]); totals.seconds = t[1]; totals.arrived = t[2]; totals.served = t[3]
        totals.servedOnTime = t[4]; totals.dropped = t[5]; totals.queued = t[6]; totals.accuracyServed = t[7]
        totals.cost = t[8]; totals.switches = Int(t[9]); totals.latenessPenalty = t[10]; totals.dropPenalty = t[11]
        totals.utility = t[12]
    }

    static func pack(_ i: ServingStepInfo) -> [Double] {
        [Double(i.interval), i.arrived, i.served, i.servedOnTime, i.dropped, i.queued, i.accuracyServed, i.cost,
         Double(i.switches), Double(i.infeasibleChoices), i.latenessPenalty, i.dropPenalty,
         i.servedTerm, i.accuracyTerm, i.costTerm, i.sloTerm, 0]
    }

    static func unpack(_ d: [Double]) -> ServingStepInfo {
        var i = ServingStepInfo()
        i.interval = Int(d[0]); i.arrived = d[1]; i.served = d[2]; i.servedOnTime = d[3]; i.dropped = d[4]
        i.queued = d[5]; i.accuracyServed = d[6]; i.cost = d[7]; i.switches = Int(d[8]); i.infeasibleChoices = Int(d[9])
        i.latenessPenalty = d[10]; i.dropPenalty = d[11]
        i.servedTerm = d[12]; i.accuracyTerm = d[13]; i.costTerm = d[14]; i.sloTerm = d[15]
        return i
    }
}
