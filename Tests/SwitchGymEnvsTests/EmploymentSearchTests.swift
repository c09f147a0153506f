import Testing
import SwitchGymCore

/// EmploymentSearch on hand-worked examples.
@Suite struct EmploymentSearchTests {
    func env(penalty: LatenessPenalty, hire: HireTime = .dirac(0.5), bills: [[Double]], writeOff: Int = 3) throws -> EmploymentSearch {
        let jobs = [Job(name: "slow", salary: 10, happiness: 0.5, hours: 1, hireTime: .dirac(0)),
                    Job(name: "fast", salary: 20, happiness: 0.8, hours: 2, hireTime: hire, requirement: 5)]
        return try EmploymentSearch(configuration: .init(
            jobs: jobs, workers: [Worker(name: "w", capacity: 8, initialJob: 0)],
            streams: [BillStream(name: "b", deadlineSteps: 0, penalty: penalty, weight: 2, writeOffAfter: writeOff, writeOffPenalty: 3)],
            series: BillSeries(amounts: bills), weights: UtilityWeights(salary: 1, happiness: 1, hours: 0.5, lateness: 1)))
    }

    @Test func billsCarryOverAccrueLatenessAndAreWrittenOff() throws {
        var e = try env(penalty: .linear(rate: 1), bills: [[15], [0], [0], [0]], writeOff: 2)
        _ = try e.reset(seed: 0)
        // Step 0: 15 arrive, 10 paid on time, 5 late by 1: penalty 5 x 2 x 1 = 10.
        var r = try e.step([0])
        #expect(r.info.paid == 10 && r.info.paidOnTime == 10 && r.info.outstanding == 5)
        #expect(r.info.latenessPenalty == 10)
        #expect(r.reward == 10 + 0.5 * 10 - 0.5 * 1 - 10)
        // Step 1: the 5 late units are paid (late): no new penalty.
        r = try e.step([0])
        #expect(r.info.paid == 5 && r.info.paidOnTime == 0 && r.info.latenessPenalty == 0 && r.info.outstanding == 0)
        // Too many bills: 25 at once with salary 10 -> 15 late, then 5 at x = 2 written off.
        var w = try env(penalty: .stepwise(amount: 1), bills: [[25], [0], [0]], writeOff: 2)
        _ = try w.reset(seed: 0)
        r = try w.step([0])
        #expect(r.info.outstanding == 15 && r.info.latenessPenalty == 30)
        r = try w.step([0])   // pays 10; 5 left at x = 2: stepwise adds nothing, written off at 5 x 2 x 3.
        #expect(r.info.paid == 10 && r.info.writtenOff == 5 && r.info.latenessPenalty == 0 && r.info.writeOffPenalty == 30)
    }

    @Test func aSwitchEarnsNothingWhileTheHireIsPendingAndMasksHold() throws {
        var e = try env(penalty: .stepwise(amount: 1), hire: .dirac(1.5), bills: [[30], [30], [30], [30]])
        _ = try e.reset(seed: 0)
        var r = try e.step([1])      // apply to "fast": pending 1.5 steps, works 0 of this step.
        #expect(r.info.switches == 1 && r.info.paid == 0 && e.pending == [0.5])
        r = try e.step([1])          // works half the step: 10 paid.
        #expect(r.info.switches == 0 && r.info.paid == 10)
        r = try e.step([1])          // hired: 20 per step.
        #expect(r.info.paid == 20)
        // A worker with capacity 4 cannot take "fast" (requirement 5): masked, treated as staying.
        var small = try EmploymentSearch(configuration: .init(
            jobs: e.configuration.jobs, workers: [Worker(name: "w", capacity: 4, initialJob: 0)],
            streams: e.configuration.streams, series: e.configuration.series))
        #expect(small.actionMask == [[true, false]])
        _ = try small.reset(seed: 0)
        r = try small.step([1])
        #expect(r.info.infeasibleChoices == 1 && r.info.switches == 0 && small.jobs == [0])
    }

    @Test func discreteHireTimesAreSeeded() throws {
        let hire = HireTime.discrete(values: [0.25, 2], probabilities: [0.5, 0.5])
        var seen = Set<Double>()
        for seed in 0..<20 as Range<UInt64> {
            var e = try env(penalty: .stepwise(amount: 1), hire: hire, bills: [[1], [1]])
            _ = try e.reset(seed: seed)
            _ = try e.step([1])
            seen.insert(e.pending[0])
            var again = try env(penalty: .stepwise(amount: 1), hire: hire, bills: [[1], [1]])
            _ = try again.reset(seed: seed)
            _ = try again.step([1])
            #expect(again.pending == e.pending)
        }
        #expect(seen == [0, 1])   // 0.25 is done within the step; 2 leaves 1 step pending
    }

    @Test func aSalarySchedulePaysEachStepsPieceRateAndIsValidated() throws {
        let base = try env(penalty: .stepwise(amount: 1), bills: [[30], [30], [30]])
        var c = base.configuration
        // Job "slow" pays 10, 25, 5 bills a step over the series; "fast" is never held.
        c.salarySchedule = [10, 20, 25, 20, 5, 20]
        var e = try EmploymentSearch(configuration: c)
        _ = try e.reset(seed: 0)
        #expect(try e.step([0]).info.paid == 10)
        #expect(try e.step([0]).info.paid == 25)
        #expect(try e.step([0]).info.paid == 5)
        for bad in [[Double](repeating: 1, count: 5), [10, 20, 25, .nan, 5, 20], [10, 20, -1, 20, 5, 20]] {
            c.salarySchedule = bad
            #expect(throws: EnvError.self) { try EmploymentSearch(configuration: c) }
        }
    }
}
