import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymServe

/// `switchgym serve --policy-dir DIR --env SPEC`: the reference serving daemon (docs/serving.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve policy files over HTTP: decisions from telemetry, versioned uploads with atomic hot swap (docs/serving.md).",
        discussion: """
            POST /v1/decide answers a serving core's telemetry with the variant each device should hold. Policies \
            live in --policy-dir as NAME.vN.safetensors; PUT /v1/policies/NAME uploads a new version (verified, \
            warmed up, then swapped in atomically), POST /v1/policies/NAME/rollback returns to the previous one, and \
            files moved into the folder are picked up within a second. The active versions survive a restart. \
            GET /metrics, /healthz, /readyz. SIGTERM or SIGINT stops it gracefully.
            """)

    @Option(help: ArgumentHelp("The policy directory (NAME.vN.safetensors files and the daemon's state file).", valueName: "dir"))
    var policyDir: String

    @Option(help: ScenarioOptions.envHelp)
    var env: String

    @Option(help: "The address to listen on (loopback by default).")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8080

    @Option(help: ArgumentHelp("A file holding a bearer token: uploads and rollbacks then need Authorization: Bearer TOKEN.", valueName: "file"))
    var tokenFile: String?

    @Option(help: "Seconds between scans of the policy directory for new files.")
    var scanInterval: Double = 1

    func run() async throws {
        let daemon: ServeDaemon = try reportingErrors(inputs: [env, policyDir] + (tokenFile.map { [$0] } ?? [])) { () throws -> ServeDaemon in
            guard (0...65535).contains(port) else { throw CLIError.usage("--port \(port): expected 0...65535") }
            guard scanInterval.isFinite, scanInterval >= 0.05 else { throw CLIError.usage("--scan-interval \(scanInterval): expected >= 0.05 seconds") }
            let scenario = try ScenarioOptions.loadSpec(env)
            let token = try tokenFile.map(Self.readToken)
            do {
                return try ServeDaemon(directory: policyDir, scenario: scenario, token: token)
            } catch let e as ServeError {
                throw CLIError(message: e.message, status: ExitStatus.noInput)
            }
        }
        if host != "127.0.0.1", host != "::1", host != "localhost", daemon.token == nil {
            note("warning: listening on \(host) without --token-file: anyone who reaches it can replace the policy")
        }
        if !daemon.registry.isReady {
            note("note: no valid policy in \(policyDir) yet; /readyz answers 503 until one is uploaded or moved in")
        }
        do {
            try await daemon.run(host: host, port: port, scanInterval: Duration.milliseconds(Int(scanInterval * 1000))) { bound in
                note("switchgym serve: \(daemon.registry.scenario.name), policies [\(daemon.registry.names.joined(separator: ", "))], listening on http://\(host):\(bound)")
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.software)
        }
        note("switchgym serve: stopped")
    }

    /// The token in `path` (surrounding whitespace removed; must not be empty).
    static func readToken(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(message: "--token-file \(path): cannot read the file", status: ExitStatus.noInput)
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: { $0.isWhitespace }) else {
            throw CLIError(message: "--token-file \(path): expected one token without spaces", status: ExitStatus.dataError)
        }
        return token
    }
}

/// `switchgym ship POLICY --to URL`: uploads a policy file to a running daemon.
struct ShipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract: "Upload a policy file to a running `switchgym serve` and wait until it serves.",
        discussion: """
            Sends the file with its SHA-256 (PUT /v1/policies/NAME, X-Content-SHA256); the daemon verifies it, \
            warms it up and swaps it in atomically, or refuses it and keeps the old version. Prints the version \
            now serving; a refusal prints the daemon's reason and exits non-zero.
            """)

    @Argument(help: "An exported policy file (switchgym export).")
    var policy: String

    @Option(help: ArgumentHelp("The daemon's address.", valueName: "http://host:port"))
    var to: String

    @Option(help: ArgumentHelp("A file holding the daemon's bearer token.", valueName: "file"))
    var tokenFile: String?

    @Option(help: "The policy's name on the daemon (default: the file's name without .vN.safetensors).")
    var name: String?

    @Option(help: "Seconds to wait for the daemon.")
    var timeout: Double = 60

    func run() async throws {
        let (bytes, token, base, policyName) = try reportingErrors(inputs: [policy] + (tokenFile.map { [$0] } ?? [])) { () throws -> ([UInt8], String?, URL, String) in
            // At most what the daemon accepts by default (ServeConfig.maxUploadBytes).
            let bytes = try FileSystem.readAll(policy, limit: 256 << 20, what: "a policy file (switchgym export)")
            let token = try tokenFile.map(ServeCommand.readToken)
            guard let base = URL(string: to.hasSuffix("/") ? String(to.dropLast()) : to), base.scheme == "http" || base.scheme == "https",
                  base.host != nil else {
                throw CLIError.usage("--to \(to): expected http://HOST:PORT")
            }
            let chosen = self.name ?? Self.defaultName(policy)
            guard PolicyRegistry.isValidName(chosen) else {
                throw CLIError.usage("policy name '\(chosen)': expected 1-64 characters [A-Za-z0-9_-] starting with a letter or digit; give --name")
            }
            return (bytes, token, base, chosen)
        }
        let sha = SHA256.hex(of: bytes)
        let client = ShipClient(base: base, token: token, timeout: timeout)
        let result: ShipClient.Result
        do { result = try await client.upload(name: policyName, bytes: bytes, sha256: sha) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.software)
        }
        switch result {
        case .refused(let status, let reason, let message):
            FileHandle.standardError.write(Data("error: \(to) refused \(policy) (HTTP \(status), \(reason)): \(message)\n".utf8))
            throw ExitCode(ExitStatus.dataError)
        case .activated(let a):
            // Wait until the daemon lists it as active (it is, once the upload answers; a concurrent
            // upload may have replaced it since, which is said).
            let listing = try? await client.policy(name: policyName)
            if let active = listing?.active, active != a.version {
                say("\(policyName) v\(a.version) (sha256 \(a.sha256)) was activated, but v\(active) serves now (another upload or rollback)")
                throw ExitCode(ExitStatus.software)
            }
            say("\(policyName) v\(a.version) serving at \(to) (sha256 \(a.sha256)\(a.reused ? ", the same bytes as an existing version" : "")\(a.previous.map { "; v\($0) before" } ?? ""))")
        }
    }

    /// `dir/NAME.v3.safetensors` → `NAME`; characters outside [A-Za-z0-9_-] become `-`.
    static func defaultName(_ path: String) -> String {
        var stem = URL(fileURLWithPath: path).lastPathComponent
        if stem.hasSuffix(".safetensors") { stem = String(stem.dropLast(".safetensors".count)) }
        if let dot = stem.lastIndex(of: "."), stem[stem.index(after: dot)...].first == "v",
           stem[stem.index(dot, offsetBy: 2)...].allSatisfy(\.isNumber), stem.index(dot, offsetBy: 2) < stem.endIndex {
            stem = String(stem[..<dot])
        }
        let mapped = String(stem.map { c -> Character in c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") ? c : "-" })
        return String(mapped.prefix(64))
    }
}

/// The HTTP client of `ship` (URLSession).
struct ShipClient {
    var base: URL
    var token: String?
    var timeout: Double

    enum Result {
        case activated(PolicyRegistry.Activation)
        case refused(status: Int, reason: String, message: String)
    }

    struct TransportError: Error, CustomStringConvertible { var description: String }

    func send(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = URLRequest(url: base.appendingPathComponent(path), timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let body {
            request.httpBody = Data(body)
            request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        }
        return try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    cont.resume(throwing: TransportError(description: "\(base.absoluteString): \(error.localizedDescription)"))
                } else {
                    cont.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
                }
            }.resume()
        }
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    func upload(name: String, bytes: [UInt8], sha256: String) async throws -> Result {
        let (status, data) = try await send("PUT", "v1/policies/\(name)", body: bytes, headers: ["X-Content-SHA256": sha256])
        if (200..<300).contains(status), let a = try? Self.decoder.decode(PolicyRegistry.Activation.self, from: data) {
            return .activated(a)
        }
        if let e = try? JSONDecoder().decode(ServeError.Body.self, from: data) {
            return .refused(status: status, reason: e.error.reason, message: e.error.message)
        }
        return .refused(status: status, reason: "unexpected answer", message: String(decoding: data.prefix(500), as: UTF8.self))
    }

    func policy(name: String) async throws -> PolicyRegistry.Listing.Policy? {
        let (status, data) = try await send("GET", "v1/policies/\(name)")
        guard status == 200 else { return nil }
        return try Self.decoder.decode(PolicyRegistry.Listing.Policy.self, from: data)
    }
}
