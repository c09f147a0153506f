import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The fluid env's router (``ServingModel/dispatch``): with ``QueuedDispatch/pinned`` (the
/// default, as the discrete-event fidelity's) a decision that switches devices leaves the backlog
/// on the devices that keep their variant (``FluidServingEnv/pinBacklog()``); with
/// ``QueuedDispatch/rebalanced`` the queue stays pooled.
@Suite struct FluidPinnedRouterTests {
    /// Two GPUs (or `devices`) of the vision zoo on its quality stream (EfficientNet-B4 TF32 and
    /// AMP serve it), all holding TF32; a deadline and drop window long enough that nothing is
    /// late or dropped; a burst in interval 0 of `burst` times the fleet's capacity, nothing
    /// after. AMP (and with `fastTF32` TF32 too) loads in a microsecond, so a switching device
    /// serves the whole next interval.
    func twoDevices(_ dispatch: QueuedDispatch, burst: Double = 3, devices: Int = 2,
                    fastTF32: Bool = false, steady: Double = 0) throws -> (model: ServingModel, tf32: Int, amp: Int) {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml")
        sc.fleet = (0..<devices).map { i in
            var d = sc.fleet[0]
            if i > 0 { d.name += "-twin\(i)" }
            return d
        }
        sc.streams = [sc.streams[1]]
        sc.streams[0].share = 1
        if steady == 0 {
            sc.streams[0].deadlineMs = 600_000
            sc.streams[0].dropAfterIntervals = 30
        }
        let tf32 = sc.variants.firstIndex { $0.name == "efficientnet-b4-tf32" }!
        let amp = sc.variants.firstIndex { $0.name == "efficientnet-b4-amp" }!
        sc.variants[amp].loadSecondsDisk = 1e-6
        sc.variants[amp].loadSecondsRAM = 1e-6
        if fastTF32 {
            sc.variants[tf32].loadSecondsDisk = 1e-6
            sc.variants[tf32].loadSecondsRAM = 1e-6
        }
        sc.initialVariants = [Int](repeating: tf32, count: devices)
        sc.episodeIntervals = nil
        sc.targetMeanRate = nil
        let capacity = sc.capacityPerInterval(variant: tf32, stream: 0)
        let arrivals = ScenarioArrivals(intervals: 6, streams: 1, counts: [burst * Double(devices) * capacity]
                                            + [Double](repeating: steady * Double(devices) * capacity, count: 5))
        return (try ServingModel(scenario: sc, arrivals: arrivals, dispatch: dispatch), tf32, amp)
    }

    /// Queries left in the queue pinned to `variant` (-1: pooled).
    func queued(_ env: FluidServingEnv, pinned variant: Int) -> Double {
        var sum = 0.0
        for s in 0..<env.model.streamCount {
            for i in 0..<env.queues.count[s] {
                let slot = env.queues.offset[s] + (env.queues.head[s] + i) % env.queues.capacity[s]
                if env.queues.pinned[slot] == variant { sum += env.queues.amount[slot] }
            }
        }
        return sum
    }

    /// One device of two leaves TF32 for the faster AMP with a backlog of three intervals of one
    /// TF32 device's work. Pinned, half the backlog stays on the TF32 device (one device of two,
    /// the same rate) and AMP takes only the other half; pooled, AMP serves whatever it can. The
    /// pinned run serves at most TF32's capacity plus the pooled half, less than the pooled
    /// run, and at least half the backlog less TF32's capacity stays pinned to TF32.
    @Test func aSwitchLeavesTheBacklogOnTheDevicesThatStay() throws {
        let (pinnedModel, tf32, amp) = try twoDevices(.pinned, burst: 2.5)
        let (pooledModel, _, _) = try twoDevices(.rebalanced, burst: 2.5)
        let slow = pinnedModel.serviceRate(interval: 1, variant: tf32, stream: 0)
        let fast = pinnedModel.serviceRate(interval: 1, variant: amp, stream: 0)
        #expect(fast > 1.6 * slow, "AMP answers \(fast), TF32 \(slow) per interval")
        var pinned = FluidServingEnv(model: pinnedModel), pooled = FluidServingEnv(model: pooledModel)
        _ = try pinned.reset(seed: 0)
        _ = try pooled.reset(seed: 0)
        let first = try pinned.step([tf32, tf32]).info
        #expect(first == (try pooled.step([tf32, tf32]).info))
        let backlog = first.queued
        #expect(abs(backlog - 3 * slow) <= 1e-6 * backlog, "backlog \(backlog), expected \(3 * slow)")
        #expect(queued(pinned, pinned: -1) == backlog, "no switch yet: all pooled")

        let a = try pinned.step([tf32, amp]).info, b = try pooled.step([tf32, amp]).info
        #expect(a.switches == 1 && b.switches == 1)
        #expect(a.served <= slow + backlog / 2 + 1e-6 * backlog, "pinned served \(a.served)")
        #expect(b.served > a.served + 0.2 * slow, "pooled \(b.served), pinned \(a.served)")
        #expect(queued(pinned, pinned: tf32) >= backlog / 2 - slow - 1e-6 * backlog)
        #expect(queued(pinned, pinned: amp) == 0)
        #expect(queued(pooled, pinned: tf32) == 0 && queued(pooled, pinned: -1) == b.queued)
        try pinned.checkInvariants()
        try pooled.checkInvariants()
    }

    /// A device that switches to a variant serves the queries that arrive after (pooled), not
    /// the backlog pinned to the devices that kept the variant: the router left that backlog in
    /// their queues (``SwitchCarry/tenured``). Three TF32 devices with four intervals of the
    /// fleet's work; the third goes to AMP (the backlog's share of its two staying devices is
    /// pinned to TF32, theirs alone to serve), then back to TF32. In that interval the two
    /// tenured devices take exactly their capacity from the pinned backlog and the returning
    /// device nearly its own from the pooled rest; with every TF32 device serving the pinned
    /// backlog it would shrink by three devices' capacity.
    @Test func aDeviceSwitchingInServesTheNewQueriesNotThePinnedBacklog() throws {
        let (model, tf32, amp) = try twoDevices(.pinned, burst: 4, devices: 3, fastTF32: true)
        let slow = model.serviceRate(interval: 2, variant: tf32, stream: 0)
        var env = FluidServingEnv(model: model)
        _ = try env.reset(seed: 0)
        _ = try env.step([tf32, tf32, tf32])
        #expect(env.carry.tenured[tf32] == 3 && env.carry.tenured[amp] == 0)
        _ = try env.step([tf32, tf32, amp])
        #expect(env.carry.tenured[tf32] == 2 && env.carry.tenured[amp] == 0, "\(env.carry.tenured)")
        let pinned = queued(env, pinned: tf32), pooled = queued(env, pinned: -1)
        #expect(pinned > 3 * slow && pooled > slow, "pinned \(pinned), pooled \(pooled), a device's capacity \(slow)")

        let back = try env.step([tf32, tf32, tf32]).info
        #expect(env.carry.tenured[tf32] == 2, "the returning device is not tenured: \(env.carry.tenured)")
        let fromPinned = pinned - queued(env, pinned: tf32)
        #expect(abs(fromPinned - 2 * slow) <= 1e-9 * pinned, "the pinned backlog shrank by \(fromPinned), two devices' capacity is \(2 * slow)")
        // (The returning device first drains the batches it ran on AMP.)
        #expect(back.served > 2.9 * slow && back.served <= 3 * slow + 1e-9 * pinned, "served \(back.served), three devices' capacity \(3 * slow)")
        try env.checkInvariants()

        // Resumed from a state saved before that interval, and from one without `tenured` (every
        // device holding a variant then counts as tenured, as before the key existed).
        var a = FluidServingEnv(model: model), b = FluidServingEnv(model: model)
        _ = try a.reset(seed: 0)
        _ = try a.step([tf32, tf32, tf32])
        _ = try a.step([tf32, tf32, amp])
        try b.loadState(a.saveState())
        #expect(try a.step([tf32, tf32, tf32]).info == (try b.step([tf32, tf32, tf32]).info))
        var legacy = FluidServingEnv(model: model)
        var state = env.saveState()
        state.doubles["tenured"] = nil
        try legacy.loadState(state)
        #expect(legacy.carry.tenured[tf32] == 3)
        var bad = env.saveState()
        bad.doubles["tenured"] = [4, 0, 0, 0, 0, 0, 0, 0].prefix(model.variantCount).map { $0 }
        #expect(throws: EnvError.self) { try legacy.loadState(bad) }
    }

    /// A pooled query goes where the router sends it, to the devices that come free first: the
    /// returning device and the two tenured ones serve the new queries as one pool once none is
    /// busier, so after a round trip of the third device (TF32, AMP, TF32) with no backlog left,
    /// an interval is served exactly as if it had never left, its tight deadline (the quality
    /// stream's 200 ms) included. (Serving the new queries on the returning device first would
    /// start them later.)
    @Test func newQueriesGoToTheDevicesFreeFirst() throws {
        let (model, tf32, amp) = try twoDevices(.pinned, burst: 0.9, devices: 3, fastTF32: true, steady: 0.9)
        let stay = [tf32, tf32, tf32]
        var a = FluidServingEnv(model: model), b = FluidServingEnv(model: model)
        _ = try a.reset(seed: 0)
        _ = try b.reset(seed: 0)
        var infos: [(ServingStepInfo, ServingStepInfo)] = []
        for x in [stay, [tf32, tf32, amp], stay, stay] {
            infos.append((try a.step(stay).info, try b.step(x).info))
        }
        #expect(b.carry.tenured[tf32] == 2, "the returning device is not tenured: \(b.carry.tenured)")
        let (still, back) = infos[3]
        #expect(still.queued == 0 && back.queued == 0 && still.served > 0)
        #expect(abs(back.servedOnTime - still.servedOnTime) <= 1e-9 * still.served && abs(back.served - still.served) <= 1e-9 * still.served,
                "on time \(back.servedOnTime) against \(still.servedOnTime) without the round trip")
        #expect(still.servedOnTime > 0.5 * still.served)
    }

    /// The same round trip on LLM variants, whose parts are charged after their sub-bin at the
    /// occupancy it gives: llm-zoo's chat stream on three H100s holding Llama-3-8B FP8, the
    /// third goes to INT4 and back (both load in a microsecond; the work it had running goes
    /// back to the queue, drained an interval later); then an interval at 90% of the fleet's
    /// rate is served as if the device had never left.
    @Test func newQueriesGoToTheDevicesFreeFirstOnLLMVariants() throws {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        sc.fleet = Array(sc.fleet.prefix(3))
        sc.streams = [sc.streams[0]]
        sc.streams[0].share = 1
        let fp8 = sc.variants.firstIndex { $0.name == "llama3-8b-fp8" }!
        let int4 = sc.variants.firstIndex { $0.name == "llama3-8b-int4" }!
        for v in [fp8, int4] {
            sc.variants[v].loadSecondsDisk = 1e-6
            sc.variants[v].loadSecondsRAM = 1e-6
        }
        sc.initialVariants = [fp8, fp8, fp8]
        sc.episodeIntervals = nil
        sc.targetMeanRate = nil
        let probe = try ServingModel(scenario: sc, arrivals: ScenarioArrivals(intervals: 6, streams: 1, counts: [Double](repeating: 100, count: 6)))
        let rate = 0.9 * 3 * probe.serviceRate(interval: 0, variant: fp8, stream: 0)
        let model = try ServingModel(scenario: sc, arrivals: ScenarioArrivals(intervals: 6, streams: 1, counts: [Double](repeating: rate, count: 6)))
        #expect(model.isTokenLevel && model.dispatch == .pinned)
        let stay = [fp8, fp8, fp8]
        var a = FluidServingEnv(model: model), b = FluidServingEnv(model: model)
        _ = try a.reset(seed: 0)
        _ = try b.reset(seed: 0)
        var infos: [(ServingStepInfo, ServingStepInfo)] = []
        for x in [stay, [fp8, fp8, int4], stay, stay, stay] {
            infos.append((try a.step(stay).info, try b.step(x).info))
        }
        #expect(b.carry.tenured[fp8] == 2, "the returning device is not tenured: \(b.carry.tenured)")
        let (still, back) = infos[4]
        #expect(still.queued < 0.01 * still.served && abs(back.queued - still.queued) <= 1e-9 * still.served)
        #expect(abs(back.servedOnTime - still.servedOnTime) <= 1e-9 * still.served && abs(back.served - still.served) <= 1e-9 * still.served
                && abs(back.latenessPenalty - still.latenessPenalty) <= 1e-9 * still.served,
                "on time \(back.servedOnTime) against \(still.servedOnTime) without the round trip")
        #expect(still.servedOnTime > 0.5 * still.served)
    }

    /// A pooled cohort goes to every device that serves its stream, whatever its variant, as
    /// the router's shortest wait spreads it (``WaterFillSegment``): two devices holding two
    /// variants that are the same but for their names serve each interval exactly as two
    /// devices holding one. The deadline leaves a tenth of a sub-bin beyond the batch latency,
    /// so that serving each cohort on the first variant's device before the second's (starting
    /// its queries up to half a sub-bin later) leaves 12% of them late.
    @Test func twoVariantsServeAPooledCohortAsOnePool() throws {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml")
        sc.fleet = [sc.fleet[0], sc.fleet[0]]
        sc.fleet[1].name += "-twin"
        sc.streams = [sc.streams[1]]
        sc.streams[0].share = 1
        let tf32 = sc.variants.firstIndex { $0.name == "efficientnet-b4-tf32" }!
        var twin = sc.variants[tf32]
        twin.name += "-twin"
        sc.variants.append(twin)
        let copy = sc.variants.count - 1
        sc.episodeIntervals = nil
        sc.targetMeanRate = nil
        let capacity = sc.capacityPerInterval(variant: tf32, stream: 0)
        let arrivals = ScenarioArrivals(intervals: 6, streams: 1, counts: [Double](repeating: 1.6 * capacity, count: 6))
        sc.initialVariants = [tf32, tf32]
        let probe = try ServingModel(scenario: sc, arrivals: arrivals)
        sc.streams[0].deadlineMs = 1000 * (probe.serviceLatency[tf32] + 0.1 * probe.interval / Double(probe.subBins))
        var one = FluidServingEnv(model: try ServingModel(scenario: sc, arrivals: arrivals))
        sc.initialVariants = [tf32, copy]
        var two = FluidServingEnv(model: try ServingModel(scenario: sc, arrivals: arrivals))
        _ = try one.reset(seed: 0)
        _ = try two.reset(seed: 0)
        for k in 0..<6 {
            let a = try one.step([tf32, tf32]).info, b = try two.step([tf32, copy]).info
            #expect(a.switches == 0 && b.switches == 0)
            #expect(a.queued < 0.01 * a.served && a.servedOnTime > 0.99 * a.served, "interval \(k): \(a.servedOnTime) of \(a.served) on time, \(a.queued) queued, \(a.arrived) arrived")
            for (x, y, what) in [(a.served, b.served, "served"), (a.servedOnTime, b.servedOnTime, "on time"),
                                 (a.latenessPenalty, b.latenessPenalty, "lateness"), (a.queued, b.queued, "queued")] {
                #expect(abs(x - y) <= 1e-9 * a.served, "interval \(k), \(what): \(y) on two variants, \(x) on one")
            }
        }
    }

    /// The segments of a pooled cohort's service across variants on hand-worked cases
    /// (``WaterFillSegment``): one stream, two variants serving it at 10 and 20 queries per
    /// device-sub-bin; a group with `p` of its `n` device-sub-bins left stands at `1 − p/n`.
    @Test func aPooledCohortGoesFirstToTheVariantsFreeFirst() {
        let variants = [0, 1], rates = [10.0, 20.0]
        func next(held: [Double], tenured: [Double], pool: [Double], tenure: [Double]) -> WaterFillSegment {
            WaterFillSegment.next(variants: variants, count: 2, rates: rates, streams: 1, stream: 0,
                                  held: held, tenured: tenured, pool: pool, tenure: tenure)
        }
        // Both free from the start: together to the end, 30 queries per unit of the sub-bin.
        #expect(next(held: [1, 1], tenured: [1, 1], pool: [1, 1], tenure: [1, 1]) == WaterFillSegment(start: 0, end: 1, rate: 30))
        // The second still loading half the sub-bin: the first alone until then.
        #expect(next(held: [1, 1], tenured: [1, 1], pool: [1, 0.5], tenure: [1, 0.5]) == WaterFillSegment(start: 0, end: 0.5, rate: 10))
        // The first's two devices a quarter through the sub-bin (on earlier cohorts), the second
        // loading until half: the first alone from a quarter to half.
        #expect(next(held: [2, 1], tenured: [2, 1], pool: [1.5, 0.5], tenure: [1.5, 0.5]) == WaterFillSegment(start: 0.25, end: 0.5, rate: 20))
        // Groups within a variant too: variant 0's tenured device busy until half, the one new
        // to it free, and variant 1 free: the new device and variant 1 together until half.
        #expect(next(held: [2, 1], tenured: [1, 1], pool: [1.5, 1], tenure: [0.5, 1]) == WaterFillSegment(start: 0, end: 0.5, rate: 30))
        // Rounding does not split groups that served together.
        let nearly = next(held: [1, 1], tenured: [1, 1], pool: [0.5, 0.5 - 1e-13], tenure: [0.5, 0.5 - 1e-13])
        #expect(nearly.rate == 30 && nearly.end == 1 && nearly.start == 0.5)
        // Nothing left.
        #expect(next(held: [1, 1], tenured: [1, 1], pool: [0, 0], tenure: [0, 0]).start == .infinity)
    }

    /// The segments of a cohort's service on one variant whose devices form two groups, on
    /// hand-worked cases (``GroupSegment``): a group with `p` of its `n` device-sub-bins left
    /// stands at `1 − p/n` of the sub-bin; a pooled cohort goes to the group that stands earlier
    /// until the other's point, then to both.
    @Test func aPooledCohortGoesToTheGroupThatComesFreeFirst() {
        func next(_ pooled: Bool, pF: Double, pT: Double, nF: Double, nT: Double, level: Bool = false) -> GroupSegment {
            GroupSegment.next(pooled: pooled, newPool: pF, tenuredPool: pT, newDevices: nF, tenuredDevices: nT, level: level)
        }
        // A pinned piece: the tenured devices alone, whatever the new ones have left.
        #expect(next(false, pF: 1, pT: 2, nF: 1, nT: 2) == GroupSegment(group: 1, devices: 2, before: 2, most: 2, untilLevel: false))
        // No new devices (the re-balancing router, or no switch since): one pool.
        #expect(next(true, pF: 0, pT: 3, nF: 0, nT: 3) == GroupSegment(group: 1, devices: 3, before: 3, most: 3, untilLevel: false))
        // The tenured devices spent (on pinned work): the new ones.
        #expect(next(true, pF: 0.5, pT: 0, nF: 1, nT: 2) == GroupSegment(group: 0, devices: 1, before: 0.5, most: 0.5, untilLevel: false))
        // The new device still loading half the sub-bin (at 0.5), the two tenured free (at 0): they
        // serve alone one device-sub-bin, to 0.5, where the new one comes free.
        let loading = next(true, pF: 0.5, pT: 2, nF: 1, nT: 2)
        #expect(loading == GroupSegment(group: 1, devices: 2, before: 2, most: 1, untilLevel: true))
        #expect(1 - (loading.before - loading.most) / 2.0 == 1 - 0.5 / 1.0)
        // The tenured devices half through the sub-bin on pinned work (at 0.5), the new one free:
        // it serves alone half a device-sub-bin, to 0.5.
        let busy = next(true, pF: 1, pT: 1, nF: 1, nT: 2)
        #expect(busy == GroupSegment(group: 0, devices: 1, before: 1, most: 0.5, untilLevel: true))
        #expect(1 - (busy.before - busy.most) / 1.0 == 1 - 1.0 / 2.0)
        // At the same point (by the numbers, or kept level by the step): both as one pool.
        #expect(next(true, pF: 1, pT: 2, nF: 1, nT: 2) == GroupSegment(group: 2, devices: 3, before: 3, most: 3, untilLevel: false))
        #expect(next(true, pF: 0.4, pT: 0.8, nF: 1, nT: 2, level: true)
                == GroupSegment(group: 2, devices: 3, before: 1.2000000000000002, most: 1.2000000000000002, untilLevel: false))
    }

    /// The backlog is spread as the router spreads it, by water-filling the devices' expected
    /// waits, the stream fewer variants answer first: stream 0 only variant 1 answers, stream 1
    /// both; one device each, 10 queries per interval per device for every pair. Stream 0's 100
    /// queries all go to variant 1 (a wait of 10 intervals); stream 1's 60 then fill variant 0
    /// alone up to a wait of 6; 300 fill both to a wait of 20 (200 on variant 0, 100 on 1).
    @Test(arguments: [(60.0, [1.0, 0.0]), (300.0, [2.0 / 3, 1.0 / 3])])
    func theBacklogIsSpreadAsTheRouterSpreadsIt(second: Double, expected: [Double]) throws {
        var ring = CohortRing(capacities: [4, 4])
        let S = 2, V = 2
        let rates: [Double] = [0, 10, 10, 10]  // rates[u * S + s]
        let devices: [Int] = [1, 1]
        var shares = [Double](repeating: -1, count: S * V), placed = [Double](repeating: 0, count: V)
        var order = [Int](repeating: 0, count: S + V)
        ring.withSlots { q in
            // Stream 1 first in the ring and in index order: the order comes from the servers.
            q.append(1, due: 1, amount: second / 2)
            q.append(1, due: 2, amount: second / 2)
            q.append(0, due: 1, amount: 100)
            rates.withUnsafeBufferPointer { r in
                devices.withUnsafeBufferPointer { n in
                    shares.withUnsafeMutableBufferPointer { sh in
                        placed.withUnsafeMutableBufferPointer { pl in
                            order.withUnsafeMutableBufferPointer { o in
                                FluidServingEnv.spreadBacklog(q, streams: S, variants: V, rates: r.baseAddress!, devices: n.baseAddress!,
                                                              shares: sh.baseAddress!, placed: pl.baseAddress!, order: o.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        #expect(shares[0 * V + 0] == 0 && shares[0 * V + 1] == 1, "stream 0: \(shares[0..<V])")
        #expect(abs(shares[1 * V + 0] - expected[0]) < 1e-12 && abs(shares[1 * V + 1] - expected[1]) < 1e-12,
                "stream 1: \(shares[V..<(2 * V)])")
        #expect(abs(placed[0] + placed[1] - 100 - second) < 1e-9)
    }

    /// Without a switch the router does not matter: a static assignment, and a run whose only
    /// switch comes when the queue is empty, give the same figures either way.
    @Test func withoutASwitchBothRoutersAgree() throws {
        let (pinnedModel, tf32, amp) = try twoDevices(.pinned, burst: 0.5)
        let (pooledModel, _, _) = try twoDevices(.rebalanced, burst: 0.5)
        for actions in [[[tf32, tf32], [tf32, tf32], [tf32, tf32]], [[tf32, tf32], [tf32, tf32], [amp, tf32], [amp, amp]]] {
            var a = FluidServingEnv(model: pinnedModel), b = FluidServingEnv(model: pooledModel)
            _ = try a.reset(seed: 0)
            _ = try b.reset(seed: 0)
            for x in actions { #expect(try a.step(x).info == (try b.step(x).info)) }
        }
        // Both fidelities pin by default.
        #expect(pinnedModel.dispatch == DiscreteEventConfig().queuedDispatch)
        #expect(try ServingModel(scenario: pinnedModel.scenario, arrivals: pinnedModel.arrivals).dispatch == .pinned)
    }

    /// A state with pinned pieces resumes exactly; a state saved before pins existed (pooled
    /// cohorts in the smaller rings of ``ServingModel/baseQueueCapacity``) loads laid out again.
    @Test func pinnedQueuesResumeExactly() throws {
        let (model, tf32, amp) = try twoDevices(.pinned)
        let actions = [[tf32, tf32], [tf32, amp], [amp, tf32], [tf32, tf32], [amp, amp]]
        var a = FluidServingEnv(model: model)
        _ = try a.reset(seed: 0)
        for x in actions.prefix(2) { _ = try a.step(x) }
        #expect(queued(a, pinned: tf32) > 0)
        var b = FluidServingEnv(model: model)
        try b.loadState(a.saveState())
        for x in actions.dropFirst(2) { #expect(try a.step(x).info == (try b.step(x).info)) }

        // Legacy: saved by a pooled model (base capacity), without `sub_pinned`.
        let (pooledModel, _, _) = try twoDevices(.rebalanced)
        #expect(pooledModel.queueCapacity == model.baseQueueCapacity && model.queueCapacity != model.baseQueueCapacity)
        var old = FluidServingEnv(model: pooledModel)
        _ = try old.reset(seed: 0)
        _ = try old.step(actions[0])
        var state = old.saveState()
        state.integers["sub_pinned"] = nil
        var c = FluidServingEnv(model: model), d = FluidServingEnv(model: model)
        try c.loadState(state)
        _ = try d.reset(seed: 0)
        _ = try d.step(actions[0])
        for x in actions.dropFirst() { #expect(try c.step(x).info == (try d.step(x).info)) }

        // A pin that names no variant is refused before anything changes.
        var bad = a.saveState()
        bad.setInts([Int](repeating: model.variantCount, count: model.queueCapacity.reduce(0, +)), at: "sub_pinned")
        #expect(throws: EnvError.self) { try b.loadState(bad) }
    }

    /// Random decisions (a switch in most intervals) on the shipped scenarios at their own load:
    /// the rings never overflow (a trap) and every query is counted once.
    @Test(arguments: ["vision-zoo", "llm-zoo", "llm-tp"])
    func frequentSwitchesKeepTheRingsBounded(name: String) throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/\(name).toml")
        guard let arrivals = try? sc.loadArrivals() else {
            print("skipping \(name): its dataset is not at hand")
            return
        }
        var evaluation = sc
        evaluation.episodeIntervals = 300
        let model = try ServingModel(scenario: evaluation, arrivals: arrivals)
        var env = FluidServingEnv(model: model)
        _ = try env.reset(seed: 1)
        var g = SeededGenerator(seed: 7)
        var pinnedSeen = false
        for _ in 0..<300 {
            let r = try env.step(sc.randomAssignment(using: &g))
            try env.checkInvariants()
            pinnedSeen = pinnedSeen || env.queues.pinned.contains { $0 >= 0 }
            if r.truncated { break }
        }
        #expect(pinnedSeen, "some backlog was pinned")
    }
}
