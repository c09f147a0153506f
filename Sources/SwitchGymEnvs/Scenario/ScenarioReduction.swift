import SwitchGymCore

/// The reduction of a serving scenario to **EmploymentSearch(J, j, B, f)** (DESIGN.md, "The
/// reduction that frames the gym"):
///
/// | serving | labor market |
/// | --- | --- |
/// | variant `v` | job `v` |
/// | queries of stream `s` servable in one interval under its SLO | `streamSalaries[s]` |
/// | accuracy | happiness |
/// | cost per second × interval | hours |
/// | load time / interval (Dirac) | time-to-hire |
/// | memory per GPU; device kind and GPU count | worker capacity; eligible jobs |
/// | queries per interval per stream | bills per step per stream |
/// | deadline in whole intervals, SLO penalty, drop after | deadline, p(x), write-off |
/// | reward weights served/accuracy/cost/slo | utility weights salary/happiness/hours/lateness |
///
/// ``FluidServingEnv`` simulates the same scenario in serving terms; the tests step both with
/// the same actions and check equal rewards, and that a switch happens exactly when the
/// chosen job differs from the held one. An LLM variant's fluid rate follows each interval's
/// token work (``TokenWork``): the configuration then carries the same per-interval rates as
/// piece rates (``EmploymentSearch/Configuration/salarySchedule``), from the one table both
/// read (``ServingScenario/capacityTable(arrivals:)``), so the reduction is exact for every
/// scenario.
public enum ScenarioReduction {
    /// The jobs: one per variant, paying the capacity per interval one device holding it has over
    /// `arrivals` (the series average of ``ServingScenario/capacityTable(arrivals:)``; an LLM
    /// variant's per-interval rates are the configuration's salary schedule).
    public static func jobs(_ sc: ServingScenario, arrivals: ScenarioArrivals) -> [Job] {
        jobs(sc, salaries: sc.capacityTable(arrivals: arrivals).average)
    }

    /// The jobs paying `salaries[v * S + s]` per full step.
    static func jobs(_ sc: ServingScenario, salaries: [Double]) -> [Job] {
        let S = sc.streams.count
        return sc.variants.indices.map { v in
            let variant = sc.variants[v]
            return Job(name: variant.name, salary: 0,
                       streamSalaries: (0..<S).map { salaries[v * S + $0] },
                       happiness: variant.accuracy, hours: variant.heldCostPerSecond * sc.decisionInterval,
                       hireTime: .dirac(sc.loadSeconds(variant: v) / sc.decisionInterval),
                       requirement: variant.memoryGB)
        }
    }

    /// The EmploymentSearch configuration of `scenario` over `arrivals`.
    public static func configuration(_ sc: ServingScenario, arrivals: ScenarioArrivals,
                                     randomStart: Bool = false) -> EmploymentSearch.Configuration {
        let workers = sc.fleet.indices.map { d in
            Worker(name: sc.fleet[d].name, capacity: sc.fleet[d].memoryGB, initialJob: sc.initialVariants[d],
                   eligible: sc.variants.map { $0.hardware == sc.fleet[d].kind && $0.gpus <= sc.fleet[d].gpus })
        }
        let streams = sc.streams.indices.map { s in
            BillStream(name: sc.streams[s].name, deadlineSteps: sc.deadlineIntervals(stream: s),
                       penalty: sc.streams[s].penalty, weight: sc.streams[s].weight,
                       writeOffAfter: sc.streams[s].dropAfterIntervals, writeOffPenalty: sc.streams[s].dropPenalty)
        }
        let w = sc.weights
        let table = sc.capacityTable(arrivals: arrivals)
        return EmploymentSearch.Configuration(
            jobs: jobs(sc, salaries: table.average), workers: workers, streams: streams, series: BillSeries(amounts: arrivals.rows),
            weights: UtilityWeights(salary: w.served, happiness: w.accuracy, hours: w.cost, lateness: w.slo),
            episodeLength: sc.episodeIntervals.map { min($0, arrivals.intervals) }, randomStart: randomStart,
            historyWindows: sc.historyWindows, forecast: sc.forecast, salarySchedule: table.perInterval)
    }

    /// The EmploymentSearch env of `scenario` over `arrivals`.
    public static func employmentSearch(_ sc: ServingScenario, arrivals: ScenarioArrivals,
                                        randomStart: Bool = false, seed: UInt64 = 0) throws -> EmploymentSearch {
        try EmploymentSearch(configuration: configuration(sc, arrivals: arrivals, randomStart: randomStart), seed: seed)
    }
}
