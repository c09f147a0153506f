import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import SwitchGymServe

/// The real `switchgym serve` and `switchgym ship` binaries, end to end.
@Suite("switchgym serve + ship, the binaries", .serialized)
struct ServeBinaryTests {
    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["SWITCHGYM_BIN"] { return b }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchgym").path
    }

    /// Runs the binary to completion.
    static func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Starts `serve` on a free port; returns the process, its port and its log file.
    static func startServe(_ args: [String], log: String) throws -> (Process, Int) {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["serve", "--port", "0"] + args
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        for _ in 0..<600 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let r = text.range(of: "listening on http://127.0.0.1:") {
                let port = Int(text[r.upperBound...].prefix { $0.isNumber })!
                return (p, port)
            }
            guard p.isRunning else { break }
            usleep(50_000)
        }
        p.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: ["log": (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""])
    }

    static func get(_ url: String) throws -> (Int, String) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = (0, "")
        URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
            result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            done.signal()
        }.resume()
        done.wait()
        return result
    }

    @Test("ship activates a version; a refused ship prints the daemon's reason; SIGTERM stops gracefully; the active version survives a restart")
    func shipServeRestart() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("no switchgym binary at \(Self.binary) (build it, or set SWITCHGYM_BIN)")
            return
        }
        let (_, a, b) = try ServeFixtures.zooPolicies()
        let work = ServeFixtures.tempDir("bin")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let policies = work + "/policies"
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        // The 4-device zoo spec, its dataset path made absolute.
        let spec = try String(contentsOfFile: ServeFixtures.packageRoot + "/envs/vision-zoo.toml", encoding: .utf8)
            .replacingOccurrences(of: "count = 3", with: "count = 4")
            .replacingOccurrences(of: "\"../datasets/default.h5\"", with: "\"\(ServeFixtures.packageRoot)/datasets/default.h5\"")
        try spec.write(toFile: work + "/zoo4.toml", atomically: true, encoding: .utf8)
        try "tok-123\n".write(toFile: work + "/token", atomically: true, encoding: .utf8)
        try Data(a).write(to: URL(fileURLWithPath: work + "/zoo.safetensors"))
        try Data(b).write(to: URL(fileURLWithPath: work + "/zoo.v7.safetensors"))
        try Data(b.prefix(b.count / 2)).write(to: URL(fileURLWithPath: work + "/broken.safetensors"))
        let serveArgs = ["--policy-dir", policies, "--env", work + "/zoo4.toml", "--token-file", work + "/token"]

        let (serve, port) = try Self.startServe(serveArgs, log: work + "/serve1.log")
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let url = "http://127.0.0.1:\(port)"
        #expect(try Self.get(url + "/readyz").0 == 503)
        // ship: no token → the daemon's reason, non-zero.
        let noToken = try Self.run(["ship", work + "/zoo.safetensors", "--to", url])
        #expect(noToken.status != 0 && noToken.stderr.contains("unauthorized"), "\(noToken)")
        let first = try Self.run(["ship", work + "/zoo.safetensors", "--to", url, "--token-file", work + "/token"])
        #expect(first.status == 0 && first.stdout.contains("zoo v1 serving"), "\(first)")
        // The name defaults to the file's without .vN; the daemon numbers versions itself.
        let second = try Self.run(["ship", work + "/zoo.v7.safetensors", "--to", url, "--token-file", work + "/token"])
        #expect(second.status == 0 && second.stdout.contains("zoo v2 serving"), "\(second)")
        let broken = try Self.run(["ship", work + "/broken.safetensors", "--to", url, "--token-file", work + "/token", "--name", "zoo"])
        #expect(broken.status != 0 && broken.stderr.contains("corrupt_policy"), "\(broken)")
        let (status, listing) = try Self.get(url + "/v1/policies/zoo")
        #expect(status == 200 && listing.contains("\"active\":2"), "\(listing)")
        // Graceful stop.
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
        let log1 = try String(contentsOfFile: work + "/serve1.log", encoding: .utf8)
        #expect(log1.contains("switchgym serve: stopped"), "\(log1)")

        // Restart: v2 still active; a kill -9 leaves it so too.
        let (serve2, port2) = try Self.startServe(serveArgs, log: work + "/serve2.log")
        defer { if serve2.isRunning { kill(serve2.processIdentifier, SIGKILL) } }
        let (s2, l2) = try Self.get("http://127.0.0.1:\(port2)/v1/policies/zoo")
        #expect(s2 == 200 && l2.contains("\"active\":2"), "\(l2)")
        #expect(try Self.get("http://127.0.0.1:\(port2)/readyz").0 == 200)
        kill(serve2.processIdentifier, SIGKILL)
        serve2.waitUntilExit()
        let r = try PolicyRegistry(directory: policies, scenario: try ServeFixtures.zoo4(), log: ServeFixtures.silent)
        #expect(try r.active("zoo").version == 2)
        // A missing policy directory is a clear error.
        let missing = try Self.run(["serve", "--policy-dir", work + "/nope", "--env", work + "/zoo4.toml", "--port", "0"])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"), "\(missing)")
    }
}
