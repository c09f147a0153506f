import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import SwitchGymAgents
import SwitchGymEnvs
import SwitchGymServe

/// Concurrent decides over loopback while versions are swapped 100 times: no failed request,
/// every answer from exactly one complete version that was active during the call, and its
/// actions those of that version. (Throughput is measured by `switchgym bench serve`.)
@Suite("hot swap under load", .serialized)
struct HotSwapLoadTests {
    @Test("8 clients calling /v1/decide while 100 uploads swap v1 and v2: zero failures, every answer from one active version")
    func swapsUnderLoad() async throws {
        let (sc, a, b) = try ServeFixtures.zooPolicies()
        let dir = ServeFixtures.tempDir("load")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try ServeDaemon(directory: dir, scenario: sc, log: ServeFixtures.silent)
        let telemetry = try ServeHTTPTests.telemetry(sc)
        // What each version decides on this telemetry (every call restarts the history at interval 0).
        try daemon.registry.upload(name: "zoo", bytes: b, sha256: ServeFixtures.sha(b))
        let byB = try daemon.decider.decide(telemetry)
        try daemon.registry.upload(name: "zoo", bytes: a, sha256: ServeFixtures.sha(a))
        let byA = try daemon.decider.decide(telemetry)
        #expect(byA.version == 2 && byB.version == 1)
        let expected = [byA.sha256: byA.actions, byB.sha256: byB.actions]

        let app = Application(router: daemon.router())
        let report = try await app.test(.live) { client in
            let port = try #require(client.port)
            return await ServeLoad.run(base: URL(string: "http://127.0.0.1:\(port)")!, name: "zoo", telemetry: telemetry,
                                       clients: 8, requestsPerClient: 60, swaps: 100, uploads: [b, a])
        }
        let problems = ServeLoad.problems(report, initial: (2, ServeFixtures.sha(a)))
        #expect(problems.isEmpty, "\(problems.prefix(5)) (\(problems.count) in all)")
        #expect(report.swaps.count == 100 && report.calls.count >= 480)
        for c in report.calls { if let d = c.decision { #expect(d.actions == expected[d.sha256], "v\(d.version)") } }
        let versions = Set(report.calls.compactMap { $0.decision?.version })
        #expect(versions == [1, 2], "both versions answered during the swaps: \(versions)")
        let metrics = daemon.metrics.text()
        #expect(metrics.contains(#"switchgym_policy_swaps_total{policy="zoo"} 102"#), "\(metrics)")
        print("hot swap under load (debug build): \(report.calls.count) decides, \(report.swaps.count) swaps in \(String(format: "%.2f", report.seconds)) s")
    }
}
