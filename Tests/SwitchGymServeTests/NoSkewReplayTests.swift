import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymServe

/// The key proof: what `eval` decides offline is what the daemon decides online. `eval`'s
/// decisions (``ServingEvaluation/run(name:model:seed:policy:)`` with the policy bound from its
/// checkpoint, the model scaled with the policy's frozen normalisation, as PolicyLoader does)
/// are compared with a replay of the same series through `POST /v1/decide` over loopback HTTP:
/// a FluidServingEnv stepped with the daemon's answers, its `telemetry()` sent as JSON every
/// interval. Every interval's assignment must be equal.
@Suite("no training/serving skew: eval's decisions = the daemon's", .serialized)
struct NoSkewReplayTests {
    @Test("4 devices (vision-zoo's A100s) and 32 devices (vision-cluster, 16 A100 + 16 V100), family and moves policies",
          arguments: [("zoo4", 150), ("cluster32", 60), ("cluster32-moves", 60)])
    func evalAndDaemonAgreeEveryInterval(_ which: String, _ intervals: Int) async throws {
        let sc = which == "zoo4" ? try ServeFixtures.zoo4() : try ServeFixtures.cluster32()
        let (frozen, ckpt, trainNorm) = try ServeFixtures.trainedPolicy(sc, seed: 5,
                                                                        architecture: which.hasSuffix("moves") ? .moves : .family)
        defer { try? FileManager.default.removeItem(at: ckpt) }
        let bytes = try ServeFixtures.policyFile(frozen, sc, normalization: trainNorm)

        // eval: another series than training's, scaled with the policy's normalisation.
        let arrivals = ServeFixtures.randomArrivals(intervals: intervals, streams: sc.streams.count,
                                                    mean: 500 * Double(sc.fleet.count), seed: 77)
        let evaluated = try ServingEvaluation.model(scenario: sc, arrivals: arrivals)
        let policyNorm = try #require(frozen.normalization)
        #expect(policyNorm != evaluated.normalization, "the test should exercise the frozen normalisation")
        let model = try evaluated.normalized(policyNorm)
        let bound = try frozen.bind(observationDimension: model.observationDimension, actionLayout: model.actionLayout,
                                    familyLayout: model.observationLayout)
        let offline = ServingEvaluation.run(name: "eval", model: model) { _, obs, mask, out in
            bound.act(observation: obs.baseAddress!, mask: mask.baseAddress!, into: out.baseAddress!)
        }

        // serve: the exported file in a policy directory, decisions over HTTP.
        let dir = ServeFixtures.tempDir("noskew")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/\(which).v1.safetensors"))
        let daemon = try ServeDaemon(directory: dir, scenario: sc, log: ServeFixtures.silent)
        let app = Application(router: daemon.router())
        let online: [[Int]] = try await app.test(.live) { client in
            try await Self.replay(client, model: model, policy: which)
        }
        #expect(online.count == offline.assignments.count)
        let firstDiff = zip(online, offline.assignments).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDiff == nil, "first differing interval: \(firstDiff ?? -1)")
        // The decisions are not trivial: the policy switches variants along the way.
        let switches = zip(offline.assignments.dropFirst(), offline.assignments).filter { $0 != $1 }.count
        let initial = sc.initialVariants
        let movedOff = offline.assignments.contains { $0 != initial }
        print("no-skew \(which): \(online.count) intervals, \(sc.fleet.count) devices, \(switches) intervals with a new assignment")
        #expect(switches > 0 || movedOff)
    }

    /// Steps a FluidServingEnv of `model` with the daemon's answers, sending its telemetry as
    /// JSON every interval; returns the actions of every interval.
    static func replay(_ client: some TestClientProtocol, model: ServingModel, policy: String) async throws -> [[Int]] {
        var env = FluidServingEnv(model: model, seed: 0)
        env.resetState(seed: 0)
        var out: [[Int]] = []
        while true {
            let body = try JSONEncoder().encode(env.telemetry())
            let r = try await client.execute(uri: "/v1/decide", method: .post, headers: [.contentType: "application/json"],
                                             body: ByteBuffer(bytes: body))
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            guard r.status == .ok else { break }
            let d = try JSONDecoder().decode(Decision.self, from: Data(r.body.readableBytesView))
            #expect(!d.restarted)
            #expect(d.interval == out.count && d.version == 1 && d.policy == policy)
            #expect(d.assignment == d.actions.map { model.scenario.variants[$0].name })
            let t = d.actions.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            out.append(d.actions)
            if t.truncated || t.terminated { break }
        }
        return out
    }
}
