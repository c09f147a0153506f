import Testing
import SwitchGymCore
import SwitchGymTestSupport

@Suite("EnvChecker")
struct EnvCheckerTests {
    @Test(arguments: EnvRegistry.ids)
    func registeredEnvPasses(id: String) throws {
        let report = try EnvChecker.check(spec: EnvRegistry.spec(id))
        #expect(report.passed)
        #expect(Set(report.results.map(\.name)) == ["spaces", "step-before-reset", "observations-in-space",
                                                    "seeded-determinism", "close-twice", "vector-matches-scalar"])
    }

    @Test func wrappedEnvsPass() throws {
        // Running statistics carry over resets, so re-seeding the same instance only
        // reproduces the trajectory with frozen statistics.
        _ = try EnvChecker.check {
            var normalized = NormalizeObservation(TimeLimit(CartPole(), maxEpisodeSteps: 50))
            normalized.isUpdating = false
            return RecordEpisodeStatistics(normalized)
        }
        _ = try EnvChecker.check {
            var normalized = NormalizeReward(TimeLimit(SwitchCost(), maxEpisodeSteps: 30))
            normalized.isUpdating = false
            return ScaleReward(normalized, scale: 2)
        }
    }

    func failedChecks<E: Env>(_ make: () -> E) -> [String] where E.Observation: Equatable {
        do {
            _ = try EnvChecker.check(make)
            return []
        } catch let failure as EnvCheckFailure {
            return failure.report.failures.map(\.name)
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test func failsOnObservationOutsideSpace() {
        #expect(failedChecks { OutOfSpaceEnv() } == ["observations-in-space"])
    }

    @Test func failsOnNondeterminism() {
        #expect(failedChecks { UnseededEnv() } == ["seeded-determinism"])
    }

    @Test func failsWhenStepBeforeResetSucceeds() {
        #expect(failedChecks { NoResetCheckEnv() } == ["step-before-reset"])
    }

    @Test func failureMessageNamesTheProblem() throws {
        let failure = #expect(throws: EnvCheckFailure.self) { try EnvChecker.check { OutOfSpaceEnv() } }
        #expect(failure?.description.contains("is not in Box") == true)
    }
}
