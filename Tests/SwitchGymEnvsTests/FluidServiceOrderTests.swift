import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The order a saturated LLM engine serves two streams in: first come first served, as vLLM's
/// scheduler admits waiting requests and as the discrete-event fidelity does
/// (``DiscreteEventEngine/nextWaiting(_:v:at:)``), not earliest deadline first. The fluid step
/// serves its cohorts in the same order where only LLM variants serve
/// (``CohortRing/Slots/earliest(streams:cursor:lead:)``).
///
/// One sequence at a time (max_running 1) and constant lengths make the engine a deterministic
/// FCFS server: 0.1 s per request, 10 per second. In a 10 s interval, 60 "patient" requests
/// (deadline 100 s) and 30 "urgent" ones (deadline 3 s) arrive, one stream in the first second
/// and the other in the second: 9 s of work. When the patient ones come first, the urgent ones
/// wait behind 6 s of them and all miss their deadline; when the urgent ones come first, they
/// are all on time. Earliest deadline first would put the urgent ones first in both cases.
@Suite struct FluidServiceOrderTests {
    static let urgent = 0, patient = 1

    func scenario() -> ServingScenario {
        let m = TokenFixtures.model(b0: 1000, b1: 10, b2: 0, maxRunning: 1)
        var sc = TokenFixtures.scenario(m, interval: 10, lengths: TokenFixtures.constant(prompt: 100, output: 99))
        let st = sc.streams[0]
        var urgent = st, patient = st
        urgent.name = "urgent"; urgent.deadlineMs = 3000; urgent.share = 1.0 / 3
        patient.name = "patient"; patient.deadlineMs = 100_000; patient.share = 2.0 / 3
        sc.streams = [urgent, patient]
        return sc
    }

    /// 30 urgent and 60 patient requests in interval 0 (then two empty intervals): the stream
    /// `first` arrives in [0, 0.9] s, the other in [1, 1.9] s.
    func arrivals(first: Int) -> ScenarioArrivals {
        var events: [(Int64, UInt8)] = []
        for s in [Self.urgent, Self.patient] {
            let n = s == Self.urgent ? 30 : 60
            let start: Int64 = s == first ? 0 : 1_000_000
            for i in 0..<n { events.append((start + Int64(i) * 900_000 / Int64(n), UInt8(s))) }
        }
        events.sort { $0.0 < $1.0 }
        return ScenarioArrivals(intervals: 3, streams: 2, counts: [30, 60, 0, 0, 0, 0],
                                arrivalTimes: events.map(\.0), arrivalStreams: events.map(\.1))
    }

    @Test(arguments: [Self.urgent, Self.patient])
    func theStreamThatArrivesFirstIsServedFirstInBothFidelities(first: Int) throws {
        let sc = scenario()
        let a = arrivals(first: first)
        let model = try ServingModel(scenario: sc, arrivals: a)
        #expect(model.isTokenLevel && model.queueing == .subinterval)
        var fluid = FluidServingEnv(model: model)
        fluid.resetState(seed: 0)
        let info = try fluid.step([0]).info
        var des = try TokenFixtures.env(sc, a)
        _ = des.step(assignment: [0])
        let log = des.tokenLog
        // The premise: both runs answer (nearly) everything in the interval, so only the order
        // decides who is on time; every patient request is.
        #expect(info.served > 85 && log.count >= 85, "fluid \(info.served), discrete-event \(log.count)")
        // A patient request is never late (100 s), so what the fluid answers late is urgent.
        let urgentLate = info.served - info.servedOnTime
        let desUrgentOnTime = log.filter { $0.stream == Self.urgent && $0.e2e <= 3 }.count
        if first == Self.patient {
            // Behind 6 s of patient work: every urgent request misses its 3 s.
            #expect(urgentLate >= 27, "fluid: \(urgentLate) urgent late of 30")
            #expect(desUrgentOnTime <= 3, "discrete-event: \(desUrgentOnTime) urgent on time of 30")
        } else {
            #expect(urgentLate <= 3, "fluid: \(urgentLate) urgent late of 30")
            #expect(desUrgentOnTime >= 27, "discrete-event: \(desUrgentOnTime) urgent on time of 30")
        }
    }
}
