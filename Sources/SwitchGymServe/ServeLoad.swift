import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchGymEnvs
import SwitchGymIO

/// A loopback load generator for the daemon (the load test and `switchgym bench serve`):
/// concurrent clients call `POST /v1/decide` while one more swaps policy versions by upload.
public enum ServeLoad {
    /// One decide call as a client saw it.
    public struct Call: Sendable {
        public var start: Double
        public var end: Double
        public var status: Int
        public var decision: Decision?
    }

    /// One upload as the swapper saw it.
    public struct Swap: Sendable {
        public var start: Double
        public var end: Double
        public var status: Int
        public var activation: PolicyRegistry.Activation?
    }

    public struct Report: Sendable {
        public var calls: [Call]
        public var swaps: [Swap]
        public var seconds: Double
        /// Successful decides per second.
        public var throughput: Double { Double(calls.filter { $0.status == 200 }.count) / max(seconds, 1e-9) }
        /// Round-trip latency quantile (seconds) of the successful calls.
        public func latency(_ q: Double) -> Double {
            let l = calls.filter { $0.status == 200 }.map { $0.end - $0.start }.sorted()
            guard !l.isEmpty else { return .nan }
            return l[min(l.count - 1, Int((Double(l.count) * q).rounded(.down)))]
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func send(_ session: SessionBox, _ request: URLRequest) async -> (Int, Data) {
        await withCheckedContinuation { cont in
            session.session.dataTask(with: request) { data, response, _ in
                cont.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }.resume()
        }
    }

    /// Runs `clients` concurrent clients, each sending `telemetry` (interval as given, so every
    /// call restarts the history and sees the same observation) until it has made
    /// `requestsPerClient` calls and the swapper is done; the swapper uploads `uploads` in turn
    /// as policy `name`, `swaps` times.
    public static func run(base: URL, name: String, telemetry: ServingTelemetry, clients: Int, requestsPerClient: Int,
                           swaps: Int, uploads: [[UInt8]], token: String? = nil) async -> Report {
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = clients + 1
        config.timeoutIntervalForRequest = 30
        let session = SessionBox(URLSession(configuration: config))
        let body = (try? JSONEncoder().encode(telemetry)) ?? Data()
        var decide = URLRequest(url: base.appendingPathComponent("v1/decide"))
        decide.httpMethod = "POST"
        decide.httpBody = body
        decide.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let decideRequest = decide
        let shas = uploads.map { SHA256.hex(of: $0) }
        let swapperDone = Flag()
        let t0 = now()
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        async let swapResults: [Swap] = {
            var out: [Swap] = []
            for i in 0..<swaps {
                var r = URLRequest(url: base.appendingPathComponent("v1/policies/\(name)"))
                r.httpMethod = "PUT"
                r.httpBody = Data(uploads[i % uploads.count])
                r.setValue(shas[i % uploads.count], forHTTPHeaderField: "X-Content-SHA256")
                if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
                let s = now()
                let (status, data) = await send(session, r)
                out.append(Swap(start: s, end: now(), status: status,
                                activation: try? decoder.decode(PolicyRegistry.Activation.self, from: data)))
            }
            swapperDone.set()
            return out
        }()
        let calls = await withTaskGroup(of: [Call].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var out: [Call] = []
                    out.reserveCapacity(requestsPerClient)
                    while out.count < requestsPerClient || !swapperDone.isSet {
                        let s = now()
                        let (status, data) = await send(session, decideRequest)
                        out.append(Call(start: s, end: now(), status: status,
                                        decision: status == 200 ? try? JSONDecoder().decode(Decision.self, from: data) : nil))
                    }
                    return out
                }
            }
            var all: [Call] = []
            for await c in group { all += c }
            return all
        }
        let swapsDone = await swapResults
        let seconds = now() - t0
        session.session.finishTasksAndInvalidate()
        return Report(calls: calls, swaps: swapsDone, seconds: seconds)
    }

    /// Checks a report: every call answered 200 by exactly one complete version, one that was
    /// active at some moment of the call (`initial`: the version active before the first swap).
    /// Returns the problems found (empty: none).
    public static func problems(_ report: Report, initial: (version: Int, sha256: String)) -> [String] {
        var problems: [String] = []
        var shaOf = [initial.version: initial.sha256]
        // Version k is active from its upload's start until the next upload's end.
        var windows: [(version: Int, from: Double, to: Double)] = []
        var current = (initial.version, -Double.infinity)
        for s in report.swaps {
            guard s.status == 200 || s.status == 201, let a = s.activation else {
                problems.append("a swap failed: HTTP \(s.status)")
                continue
            }
            if let known = shaOf[a.version], known != a.sha256 { problems.append("v\(a.version) has two sha256s") }
            shaOf[a.version] = a.sha256
            windows.append((current.0, current.1, s.end))
            current = (a.version, s.start)
        }
        windows.append((current.0, current.1, .infinity))
        for c in report.calls {
            guard c.status == 200, let d = c.decision else {
                problems.append("a decide failed: HTTP \(c.status)")
                continue
            }
            guard shaOf[d.version] == d.sha256 else {
                problems.append("a decision of v\(d.version) with sha256 \(d.sha256), not that version's")
                continue
            }
            guard windows.contains(where: { $0.version == d.version && $0.from <= c.end && c.start <= $0.to }) else {
                problems.append("a decision by v\(d.version) during [\(c.start), \(c.end)], when it was not active")
                continue
            }
        }
        return problems
    }
}

/// URLSession is thread-safe; Linux's Foundation does not mark it Sendable.
final class SessionBox: @unchecked Sendable {
    let session: URLSession
    init(_ s: URLSession) { session = s }
}

/// A flag set once, read from any task.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
