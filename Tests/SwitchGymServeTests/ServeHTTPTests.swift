import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymServe

/// The HTTP contract (docs/serving.md): routes, statuses, JSON refusals, tokens, metrics.
@Suite("serve over HTTP: contract, refusals, token, metrics", .serialized)
struct ServeHTTPTests {
    static func telemetry(_ sc: ServingScenario, interval: Int = 0) throws -> ServingTelemetry {
        let m = try ServingEvaluation.model(scenario: sc, arrivals: ServeFixtures.randomArrivals(
            intervals: 20, streams: sc.streams.count, mean: 2000, seed: 1))
        var env = FluidServingEnv(model: m)
        env.resetState(seed: 0)
        var t = env.telemetry()
        t.interval = interval
        return t
    }

    static func json(_ value: some Encodable) -> ByteBuffer { ByteBuffer(bytes: try! JSONEncoder().encode(value)) }

    static func error(_ r: TestResponse) -> ServeError.Body.Detail? {
        (try? JSONDecoder().decode(ServeError.Body.self, from: Data(r.body.readableBytesView)))?.error
    }

    static func decision(_ r: TestResponse) -> Decision? {
        try? JSONDecoder().decode(Decision.self, from: Data(r.body.readableBytesView))
    }

    func put(_ client: some TestClientProtocol, _ name: String, _ bytes: [UInt8], sha: String? = nil, token: String? = nil) async throws -> TestResponse {
        var h: HTTPFields = [ServeDaemon.sha256Header: sha ?? ServeFixtures.sha(bytes)]
        if let token { h[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/v1/policies/\(name)", method: .put, headers: h, body: ByteBuffer(bytes: bytes))
    }

    @Test("decide, upload, list, rollback, readiness, metrics; every refusal is JSON with a reason and the old version keeps serving")
    func contract() async throws {
        let (sc, a, b) = try ServeFixtures.zooPolicies()
        let dir = ServeFixtures.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenValue = "s3cret-token"
        let daemon = try ServeDaemon(directory: dir, scenario: sc, token: tokenValue, log: ServeFixtures.silent)
        let app = Application(router: daemon.router())
        let t0 = try Self.telemetry(sc)
        try await app.test(.router) { client in
            // Not ready without a policy.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
            let early = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t0))
            #expect(early.status == .serviceUnavailable && Self.error(early)?.reason == "not_ready")

            // Token: missing, wrong, right.
            let noToken = try await put(client, "zoo", a)
            #expect(noToken.status == .unauthorized && Self.error(noToken)?.reason == "unauthorized")
            let wrong = try await put(client, "zoo", a, token: "guess")
            #expect(wrong.status == .unauthorized)
            let ok = try await put(client, "zoo", a, token: tokenValue)
            #expect(ok.status == .created, "\(String(buffer: ok.body))")
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)

            // Decide with v1.
            let d1 = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t0))
            #expect(d1.status == .ok)
            let dec1 = try #require(Self.decision(d1))
            #expect(dec1.policy == "zoo" && dec1.version == 1 && dec1.sha256 == ServeFixtures.sha(a) && dec1.interval == 0)
            #expect(dec1.assignment.count == 4 && dec1.actions.count == 4)
            #expect(dec1.assignment == dec1.actions.map { sc.variants[$0].name })

            // Refused uploads over HTTP, each with its status and reason; v1 keeps serving.
            var flipped = b
            flipped[b.count - 40] ^= 0x01
            let zoo3 = try ServeFixtures.spec("vision-zoo.toml")
            let (frozen3, ckpt3, norm3) = try ServeFixtures.trainedPolicy(zoo3, seed: 3)
            defer { try? FileManager.default.removeItem(at: ckpt3) }
            let other = try ServeFixtures.policyFile(frozen3, zoo3, normalization: norm3)
            let cases: [(String, [UInt8], String?, HTTPResponse.Status, String)] = [
                ("truncated in transit", Array(b.prefix(1000)), ServeFixtures.sha(b), .unprocessableContent, "sha256_mismatch"),
                ("truncated file", Array(b.prefix(1000)), nil, .unprocessableContent, "corrupt_policy"),
                ("bit flip in transit", flipped, ServeFixtures.sha(b), .unprocessableContent, "sha256_mismatch"),
                ("bit-flipped file", flipped, nil, .unprocessableContent, "corrupt_policy"),
                ("wrong sha256", b, String(repeating: "0", count: 64), .unprocessableContent, "sha256_mismatch"),
                ("malformed sha256", b, "xyz", .badRequest, "missing_sha256"),
                ("another scenario", other, nil, .conflict, "other_scenario"),
            ]
            for (what, bytes, sha, status, reason) in cases {
                let r = try await put(client, "zoo", bytes, sha: sha, token: tokenValue)
                #expect(r.status == status, "\(what): \(String(buffer: r.body))")
                #expect(Self.error(r)?.reason == reason, "\(what)")
                let message = Self.error(r)?.message ?? ""
                #expect(!message.isEmpty)
                let d = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t0))
                #expect(Self.decision(d)?.version == 1, "\(what): v1 keeps serving")
            }
            var h: HTTPFields = [.authorization: "Bearer \(tokenValue)"]
            let noSha = try await client.execute(uri: "/v1/policies/zoo", method: .put, headers: h, body: ByteBuffer(bytes: b))
            #expect(noSha.status == .badRequest && Self.error(noSha)?.reason == "missing_sha256")
            // Content-Digest (RFC 9530) is accepted too.
            h[ServeDaemon.contentDigest] = "sha-256=:\(Data(ServeFixtures.sha(b).hexBytes).base64EncodedString()):"
            let v2 = try await client.execute(uri: "/v1/policies/zoo", method: .put, headers: h, body: ByteBuffer(bytes: b))
            #expect(v2.status == .created, "\(String(buffer: v2.body))")
            let d2 = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t0))
            #expect(Self.decision(d2)?.version == 2 && Self.decision(d2)?.sha256 == ServeFixtures.sha(b))

            // Listing.
            let list = try await client.execute(uri: "/v1/policies", method: .get)
            let text = String(buffer: list.body)
            #expect(list.status == .ok && text.contains("\"active\":2") && text.contains(sc.fingerprint) && text.contains("zoo.v2.safetensors"))
            #expect(try await client.execute(uri: "/v1/policies/none", method: .get).status == .notFound)

            // Rollback: token needed; then v1 serves.
            #expect(try await client.execute(uri: "/v1/policies/zoo/rollback", method: .post).status == .unauthorized)
            let rb = try await client.execute(uri: "/v1/policies/zoo/rollback", method: .post, headers: [.authorization: "Bearer \(tokenValue)"])
            #expect(rb.status == .ok, "\(String(buffer: rb.body))")
            let d3 = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t0))
            #expect(Self.decision(d3)?.version == 1)
            let rb2 = try await client.execute(uri: "/v1/policies/zoo/rollback", method: .post, headers: [.authorization: "Bearer \(tokenValue)"])
            #expect(rb2.status == .conflict && Self.error(rb2)?.reason == "nothing_to_roll_back")
            let rb3 = try await client.execute(uri: "/v1/policies/nope/rollback", method: .post, headers: [.authorization: "Bearer \(tokenValue)"])
            #expect(rb3.status == .notFound)

            // Bad telemetry: 400 naming the key; the history is kept (the next interval follows on).
            func bad(_ edit: (inout ServingTelemetry) -> Void) async throws -> ServeError.Body.Detail? {
                var t = t0
                t.interval = 1
                edit(&t)
                let r = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t))
                #expect(r.status == .badRequest, "\(String(buffer: r.body))")
                return Self.error(r)
            }
            #expect(try await bad { $0.devices.removeLast() }?.key == "devices")
            #expect(try await bad { $0.streams.append($0.streams[0]) }?.key == "streams")
            let unknown = try await bad { $0.devices[1].variant = "gpt-9" }
            #expect(unknown?.key == "devices[1].variant" && unknown?.message.contains("'gpt-9' is not a variant") == true)
            #expect(try await bad { $0.streams[0].backlog = [1, 2] }?.key == "streams[0].backlog")
            let missing = try await client.execute(uri: "/v1/decide", method: .post, body: ByteBuffer(string: #"{"interval": 1, "streams": []}"#))
            #expect(missing.status == .badRequest && Self.error(missing)?.key == "devices")
            let typed = try await client.execute(uri: "/v1/decide", method: .post,
                                                 body: ByteBuffer(string: #"{"interval": 1, "streams": [{"arrivals": "many", "backlog": [0,0,0,0]}], "devices": []}"#))
            #expect(typed.status == .badRequest && Self.error(typed)?.key == "streams[0].arrivals")
            let notJSON = try await client.execute(uri: "/v1/decide", method: .post, body: ByteBuffer(string: "{"))
            #expect(notJSON.status == .badRequest && Self.error(notJSON)?.reason == "bad_request")
            var t1 = t0
            t1.interval = 1
            let follow = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t1))
            #expect(Self.decision(follow)?.restarted == false && Self.decision(follow)?.version == 1)
            // A gap restarts the history, and says so.
            t1.interval = 7
            let gap = try await client.execute(uri: "/v1/decide", method: .post, body: Self.json(t1))
            #expect(Self.decision(gap)?.restarted == true)
            // Unknown policy by name (query or body).
            let unknownPolicy = try await client.execute(uri: "/v1/decide?policy=nope", method: .post, body: Self.json(t0))
            #expect(unknownPolicy.status == .notFound && Self.error(unknownPolicy)?.reason == "unknown_policy")

            // Metrics.
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            for name in ["switchgym_decisions_total", "switchgym_decide_duration_seconds_bucket", "switchgym_policy_active_version",
                         "switchgym_policy_swaps_total", "switchgym_uploads_rejected_total", "switchgym_decide_refusals_total"] {
                #expect(metrics.contains(name), "\(name) missing from /metrics")
            }
            #expect(metrics.contains(#"switchgym_policy_active_version{policy="zoo"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"switchgym_uploads_rejected_total{reason="sha256_mismatch"} 3"#), "\(metrics)")
        }
    }
}

extension String {
    /// "0a1b" → [0x0a, 0x1b].
    var hexBytes: [UInt8] {
        var out: [UInt8] = []
        var i = startIndex
        while i < endIndex {
            let j = index(i, offsetBy: 2)
            out.append(UInt8(self[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}
