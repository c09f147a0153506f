import Foundation
import Testing
import SwitchGymIO

/// A run folder's metadata carries checksums that `train --resume` and `export` verify:
/// `config.json` its first key `sha256`, `metrics.csv` the sidecar `metrics.csv.sha256`.
@Suite("Run folders: config.json and metrics.csv are checked on resume and export", .serialized)
struct RunChecksumCLITests {
    @Test("a changed config.json or metrics.csv row stops --resume and export with a message naming the file; restored, the run resumes")
    func tamperedRunFolder() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/r"
        let t = try run(["train", "--env", "CartPole-v1", "--seed", "2", "--steps", "2048", "--checkpoint-every", "1024",
                         "--out", out, "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let configPath = out + "/config.json"
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        #expect(config.hasPrefix("{\n  \"sha256\" : \""))
        // The metrics sidecar is the sha256sum line of the whole file after a clean stop.
        let metrics = try FileSystem.readAll(out + "/metrics.csv")
        #expect(try String(contentsOfFile: out + "/metrics.csv.sha256", encoding: .utf8)
                == "\(SHA256.hex(of: metrics))  metrics.csv\n")

        // A changed hyperparameter in config.json.
        try config.replacingOccurrences(of: "\"gamma\" : 0.98", with: "\"gamma\" : 0.5").write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(try String(contentsOfFile: configPath, encoding: .utf8) != config)
        let resumed = try run(["train", "--env", "CartPole-v1", "--out", out, "--resume", "--steps", "3072", "--quiet"])
        #expect(resumed.status != 0)
        #expect(resumed.stderr.contains(configPath) && resumed.stderr.contains("SHA-256"), "\(resumed.stderr)")
        let ckpt = try #require(files(out).filter { $0.hasPrefix("ckpt-") }.last)
        let exported = try run(["export", out + "/" + ckpt, "--format", "safetensors", "-o", dir + "/p.safetensors"])
        #expect(exported.status != 0)
        #expect(exported.stderr.contains(configPath) && exported.stderr.contains("SHA-256"), "\(exported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/p.safetensors"))

        // Restored config, but a changed value in an early metrics row.
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var text = String(decoding: metrics, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        text[1] = text[1].replacingOccurrences(of: ",", with: ",9", options: [], range: text[1].range(of: ",", options: .backwards))
        try text.joined(separator: "\n").write(toFile: out + "/metrics.csv", atomically: true, encoding: .utf8)
        let again = try run(["train", "--env", "CartPole-v1", "--out", out, "--resume", "--steps", "3072", "--quiet"])
        #expect(again.status != 0)
        #expect(again.stderr.contains(out + "/metrics.csv") && again.stderr.contains("SHA-256"), "\(again.stderr)")

        // Both restored: the run resumes, and the sidecar again matches.
        try AtomicOutput.write(bytes: metrics, to: out + "/metrics.csv")
        let ok = try run(["train", "--env", "CartPole-v1", "--out", out, "--resume", "--steps", "3072", "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ContentChecksum.verifySidecar(for: out + "/metrics.csv"))
    }
}
