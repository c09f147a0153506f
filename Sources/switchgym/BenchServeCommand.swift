import ArgumentParser
import Foundation
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymServe

/// `switchgym bench serve`: the daemon's throughput and latency on loopback, with hot swaps.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Measure the serving daemon: decides per second and latency over loopback HTTP while versions are swapped.",
        discussion: """
            Starts the daemon in this process on a free loopback port with a temporary policy directory, uploads \
            the policy files, then runs concurrent clients calling POST /v1/decide (the scenario's initial \
            telemetry) while another client swaps versions by upload. Reports requests/s and round-trip p50/p99, \
            the in-process decide latency (no HTTP) and checks that every answer came from a version active at \
            the time. Build with -c release for meaningful figures.
            """)

    @Option(help: ScenarioOptions.envHelp)
    var env: String

    @Option(name: .customLong("policy"), help: ArgumentHelp("A policy file for the scenario; repeat to swap between several.", valueName: "policy.safetensors"))
    var policies: [String] = []

    @Option(help: "Concurrent decide clients.")
    var clients: Int = 8

    @Option(help: "Decides per client (at least; clients go on until the swaps are done).")
    var requests: Int = 500

    @Option(help: "Uploads that swap the active version during the run.")
    var swaps: Int = 100

    func run() async throws {
        let (scenario, files) = try reportingErrors(inputs: [env] + policies) {
            guard !policies.isEmpty else { throw CLIError.usage("--policy: give at least one policy file") }
            guard clients >= 1, requests >= 1, swaps >= 0 else { throw CLIError.usage("--clients, --requests >= 1 and --swaps >= 0") }
            return (try ScenarioOptions.loadSpec(env), try policies.map { try FileSystem.readAll($0) })
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-bench-serve-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try ServeDaemon(directory: dir, scenario: scenario, log: { _ in })
        do {
            for f in files { try daemon.registry.upload(name: "bench", bytes: f, sha256: SHA256.hex(of: f)) }
        } catch let e as ServeError {
            throw CLIError(message: "a --policy file is refused: \(e.message)", status: ExitStatus.dataError)
        }
        // Telemetry: the scenario's initial state under a steady load.
        let arrivals = ScenarioArrivals(intervals: 4, streams: scenario.streams.count,
                                        counts: [Double](repeating: 200 * Double(scenario.fleet.count), count: 4 * scenario.streams.count))
        var sim = FluidServingEnv(model: try ServingEvaluation.model(scenario: scenario, arrivals: arrivals))
        sim.resetState(seed: 0)
        let telemetry = sim.telemetry()
        let initial = try daemon.registry.active("bench")

        // In-process decide latency (no HTTP).
        var inProcess: [Double] = []
        for _ in 0..<2000 {
            let s = monotonicSeconds()
            _ = try daemon.decider.decide(telemetry)
            inProcess.append(monotonicSeconds() - s)
        }
        inProcess.sort()

        let portBox = PortBox()
        let server = Task { try await daemon.run(host: "127.0.0.1", port: 0) { portBox.set($0) } }
        var port = 0
        for _ in 0..<400 where port == 0 { try await Task.sleep(for: .milliseconds(25)); port = portBox.value }
        guard port != 0 else { server.cancel(); throw CLIError(message: "the daemon did not start", status: ExitStatus.software) }
        let report = await ServeLoad.run(base: URL(string: "http://127.0.0.1:\(port)")!, name: "bench", telemetry: telemetry,
                                         clients: clients, requestsPerClient: requests, swaps: swaps, uploads: files)
        _ = server  // the process exits with the command; the daemon needs no shutdown here
        let problems = ServeLoad.problems(report, initial: (initial.version, initial.sha256))
        func ms(_ s: Double) -> String { String(format: "%.3f ms", s * 1000) }
        say("scenario \(scenario.name): \(scenario.fleet.count) devices, \(scenario.variants.count) variants, policy kind \(initial.document.policy.kind.rawValue)")
        say("in-process decide (no HTTP, 2000 calls): p50 \(ms(inProcess[1000])), p99 \(ms(inProcess[1980]))")
        say("loopback HTTP, \(clients) clients, \(report.swaps.count) swaps: \(report.calls.count) decides in \(String(format: "%.2f", report.seconds)) s = \(String(format: "%.0f", report.throughput)) requests/s, round trip p50 \(ms(report.latency(0.5))), p99 \(ms(report.latency(0.99)))")
        say(problems.isEmpty ? "every answer came from one complete version active during its call; 0 failed requests"
                             : "PROBLEMS: \(problems.count), e.g. \(problems.prefix(3))")
        if !problems.isEmpty { throw ExitCode(ExitStatus.software) }
    }
}

/// The bound port, set once the server runs.
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port = 0
    func set(_ p: Int) { lock.lock(); port = p; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return port }
}
