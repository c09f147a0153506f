import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle
import SwitchGymEnvs
import SwitchGymIO

/// The daemon's HTTP layer (docs/serving.md): thin handlers over ``Decider`` and
/// ``PolicyRegistry``; every refusal is a ``ServeError`` answered as a JSON body.
public struct ServeDaemon: Sendable {
    public let registry: PolicyRegistry
    public let decider: Decider
    public let metrics: ServeMetrics
    /// With a token, uploads and rollbacks need `Authorization: Bearer TOKEN`.
    public let token: String?
    /// The largest policy file an upload may carry.
    public let maxUploadBytes: Int

    /// Opens `directory` for `scenario` (``PolicyRegistry/init(directory:scenario:events:log:)``).
    public init(directory: String, scenario: ServingScenario, token: String? = nil, maxUploadBytes: Int = 256 << 20,
                log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws {
        let metrics = ServeMetrics()
        self.metrics = metrics
        registry = try PolicyRegistry(directory: directory, scenario: scenario, events: metrics, log: log)
        decider = Decider(registry: registry)
        self.token = token
        self.maxUploadBytes = maxUploadBytes
    }

    /// The header that carries an upload's sha256 (lowercase hex).
    public static let sha256Header = HTTPField.Name("X-Content-SHA256")!
    public static let contentDigest = HTTPField.Name("Content-Digest")!

    /// The routes.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let d = self
        router.post("/v1/decide") { request, _ in
            await d.answer(decideRefusal: true) {
                let body = try await request.body.collect(upTo: 16 << 20)
                let data = Data(body.readableBytesView)
                let telemetry = try Self.decodeJSON(ServingTelemetry.self, from: data)
                struct Selector: Decodable { var policy: String? }
                let name = (try? JSONDecoder().decode(Selector.self, from: data))?.policy
                    ?? request.uri.queryParameters.get("policy").map { String($0) }
                let start = ContinuousClock.now
                let decision = try d.decider.decide(telemetry, policy: name)
                d.metrics.decided(policy: decision.policy, duration: ContinuousClock.now - start)
                return (200, decision)
            }
        }
        router.put("/v1/policies/:name") { request, context in
            await d.answer {
                try d.authorize(request)
                let name = context.parameters.get("name") ?? ""
                guard PolicyRegistry.isValidName(name) else {
                    throw ServeError(.badName, "policy name '\(name)': expected 1-64 characters [A-Za-z0-9_-], starting with a letter or digit")
                }
                guard let sha = Self.announcedSHA256(request.headers) else {
                    d.metrics.rejected(reason: .missingSHA256)
                    throw ServeError(.missingSHA256, "an upload needs the body's SHA-256: header X-Content-SHA256: <64 hex digits> (or Content-Digest: sha-256=:<base64>:)")
                }
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: d.maxUploadBytes) } catch is NIOTooManyBytesError {
                    d.metrics.rejected(reason: .tooLarge)
                    throw ServeError(.tooLarge, "the policy file is larger than \(d.maxUploadBytes) bytes")
                }
                let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
                let a = try d.registry.upload(name: name, bytes: bytes, sha256: sha)
                return (a.reused ? 200 : 201, a)
            }
        }
        router.get("/v1/policies") { _, _ in
            await d.answer { (200, d.registry.listing()) }
        }
        router.get("/v1/policies/:name") { _, context in
            await d.answer {
                let name = context.parameters.get("name") ?? ""
                guard let p = d.registry.listing().policies.first(where: { $0.name == name }) else {
                    throw ServeError(.unknownPolicy, "no policy named '\(name)'")
                }
                return (200, p)
            }
        }
        router.post("/v1/policies/:name/rollback") { request, context in
            await d.answer {
                try d.authorize(request)
                return (200, try d.registry.rollback(name: context.parameters.get("name") ?? ""))
            }
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: d.metrics.text())))
        }
        router.get("/healthz") { _, _ in
            await d.answer { (200, ["status": "ok"]) }
        }
        router.get("/readyz") { _, _ in
            await d.answer {
                guard d.registry.isReady else { _ = try d.registry.active(); return (503, ["status": "not ready"]) }
                return (200, ["status": "ready", "policies": d.registry.names.joined(separator: ",")])
            }
        }
        return router
    }

    /// The application on `host:port` with the folder scan as a service; `runService()` runs it
    /// until SIGTERM or SIGINT, then shuts down gracefully (requests in flight are answered).
    public func application(host: String = "127.0.0.1", port: Int = 8080, scanInterval: Duration = .seconds(1),
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "switchgym-serve"),
                    services: [PolicyScanService(registry: registry, interval: scanInterval)],
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) })
    }

    /// Runs the daemon until SIGTERM or SIGINT (graceful shutdown: requests in flight are answered).
    public func run(host: String = "127.0.0.1", port: Int = 8080, scanInterval: Duration = .seconds(1),
                    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(host: host, port: port, scanInterval: scanInterval, onServerRunning: onServerRunning).runService()
    }

    // MARK: Helpers

    /// Checks the bearer token, when the daemon has one.
    func authorize(_ request: Request) throws {
        guard let token else { return }
        guard let header = request.headers[.authorization] else {
            throw ServeError(.unauthorized, "this daemon needs Authorization: Bearer <token> to change policies")
        }
        let given = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : ""
        // Compare without an early exit on the first differing byte.
        let a = Array(given.utf8), b = Array(token.utf8)
        var diff = a.count ^ b.count
        for i in 0..<min(a.count, b.count) { diff |= Int(a[i] ^ b[i]) }
        guard diff == 0 else { throw ServeError(.unauthorized, "wrong bearer token") }
    }

    /// The announced sha256: `X-Content-SHA256: <hex>`, or `Content-Digest: sha-256=:<base64>:` (RFC 9530).
    static func announcedSHA256(_ headers: HTTPFields) -> String? {
        if let h = headers[sha256Header] { return h }
        guard let digest = headers[contentDigest] else { return nil }
        for part in digest.split(separator: ",") {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard p.lowercased().hasPrefix("sha-256=:"), p.hasSuffix(":"), p.count > 10 else { continue }
            let b64 = String(p.dropFirst(9).dropLast())
            guard let raw = Data(base64Encoded: b64) else { return "not base64" }
            return raw.map { String(format: "%02x", $0) }.joined()
        }
        return nil
    }

    /// Runs a handler body and answers its value as JSON, or its error as a JSON refusal.
    func answer<T: Encodable>(decideRefusal: Bool = false, _ body: () async throws -> (Int, T)) async -> Response {
        do {
            let (status, value) = try await body()
            return Self.json(status, value)
        } catch {
            let e: ServeError
            switch error {
            case let s as ServeError: e = s
            case is NIOTooManyBytesError: e = ServeError(.tooLarge, "the request body is too large")
            default: e = ServeError(.internalError, "\(error)")
            }
            if decideRefusal { metrics.decideRefused(reason: e.reason) }
            return Self.json(e.status, e.body)
        }
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes a JSON body; a failure is a ``ServeError`` naming the key.
    static func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch let e as DecodingError {
            func path(_ p: [any CodingKey]) -> String {
                var s = ""
                for k in p {
                    if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
                }
                return s.isEmpty ? "(body)" : s
            }
            switch e {
            case .keyNotFound(let k, let c):
                let key = path(c.codingPath + [k])
                throw ServeError(.badTelemetry, "\(key): missing", key: key)
            case .typeMismatch(let t, let c):
                let key = path(c.codingPath)
                throw ServeError(.badTelemetry, "\(key): expected \(t)", key: key)
            case .valueNotFound(let t, let c):
                let key = path(c.codingPath)
                throw ServeError(.badTelemetry, "\(key): expected \(t), found null", key: key)
            case .dataCorrupted(let c):
                if c.codingPath.isEmpty { throw ServeError(.badRequest, "the body is not valid JSON: \(c.debugDescription)") }
                let key = path(c.codingPath)
                throw ServeError(.badTelemetry, "\(key): \(c.debugDescription)", key: key)
            @unknown default:
                throw ServeError(.badRequest, "\(e)")
            }
        }
    }
}

/// Picks up policy files moved into the folder, every `interval`, until graceful shutdown.
struct PolicyScanService: Service {
    let registry: PolicyRegistry
    let interval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                registry.scan()
            }
        }
    }
}
