import Foundation
import Testing
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymServe

/// ``PolicyRegistry``: versions, atomic swaps, rollback, the state file across restarts and
/// crashes, the folder scan, and refusals that leave the active version serving.
@Suite("policy registry: versions, hot swap, restarts, refusals", .serialized)
struct PolicyRegistryTests {
    func open(_ dir: String, _ sc: ServingScenario) throws -> PolicyRegistry {
        try PolicyRegistry(directory: dir, scenario: sc, log: ServeFixtures.silent)
    }

    func refusal(_ body: () throws -> Void) -> ServeError? {
        do { try body(); return nil } catch let e as ServeError { return e } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test("upload, upload, rollback; the active version and the history survive a restart")
    func uploadRollbackRestart() throws {
        let (sc, a, b) = try ServeFixtures.zooPolicies()
        let dir = ServeFixtures.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try open(dir, sc)
        #expect(!r.isReady)
        #expect(refusal { _ = try r.active() }?.reason == .notReady)
        let u1 = try r.upload(name: "zoo", bytes: a, sha256: ServeFixtures.sha(a))
        #expect(u1.version == 1 && u1.previous == nil && !u1.reused)
        let u2 = try r.upload(name: "zoo", bytes: b, sha256: ServeFixtures.sha(b))
        #expect(u2.version == 2 && u2.previous == 1)
        #expect(try r.active("zoo").version == 2 && r.active().sha256 == ServeFixtures.sha(b))
        #expect(FileManager.default.fileExists(atPath: dir + "/zoo.v1.safetensors"))
        #expect(FileManager.default.fileExists(atPath: dir + "/zoo.v2.safetensors"))
        // The same bytes again: v1 active again, no new file.
        let again = try r.upload(name: "zoo", bytes: a, sha256: ServeFixtures.sha(a))
        #expect(again.version == 1 && again.reused && again.previous == 2)
        let back = try r.rollback(name: "zoo")
        #expect(back.version == 2 && back.previous == 1)
        #expect(try r.active().version == 2)
        // Restart: v2 active, and rollback still knows v1.
        let r2 = try open(dir, sc)
        #expect(try r2.active("zoo").version == 2)
        #expect(r2.listing().policies.first?.history == [1])
        #expect(try r2.rollback(name: "zoo").version == 1)
        #expect(refusal { try r2.rollback(name: "zoo") }?.reason == .nothingToRollBack)
        #expect(refusal { try r2.rollback(name: "nope") }?.reason == .unknownPolicy)
        let r3 = try open(dir, sc)
        #expect(try r3.active("zoo").version == 1)
        // The state file is the documented JSON.
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: r3.statePath))) as? [String: Any]
        #expect(state?["format"] as? String == "switchgym.serve.state")
        #expect(((state?["policies"] as? [String: Any])?["zoo"] as? [String: Any])?["active"] as? Int == 1)
        // It carries its checksum: a changed file (one more space: the same JSON) is not trusted,
        // and each policy starts at its highest valid version (v2), as with an unreadable file.
        let text = try String(contentsOfFile: r3.statePath, encoding: .utf8)
        #expect(try ContentChecksum.verifyJSON(Array(text.utf8), path: r3.statePath).signed)
        try text.replacingOccurrences(of: "\"active\" : 1", with: "\"active\" :  1").write(toFile: r3.statePath, atomically: true, encoding: .utf8)
        #expect(try open(dir, sc).active("zoo").version == 2)
    }

    @Test("kill -9 during an upload: a partial temporary file or a partial version file leaves the previous version active after restart")
    func crashDuringUpload() throws {
        let (sc, a, b) = try ServeFixtures.zooPolicies()
        let dir = ServeFixtures.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let r = try open(dir, sc)
            try r.upload(name: "zoo", bytes: a, sha256: ServeFixtures.sha(a))
        }
        // What a kill -9 can leave: AtomicOutput's temporary file, half written ...
        try Data(b.prefix(b.count / 2)).write(to: URL(fileURLWithPath: dir + "/.zoo.v2.safetensors.tmp-4242-17"))
        // ... or, from a writer that does not write atomically, a truncated version file ...
        try Data(b.prefix(b.count - 100)).write(to: URL(fileURLWithPath: dir + "/zoo.v3.safetensors"))
        let r = try open(dir, sc)
        #expect(try r.active("zoo").version == 1)
        #expect(r.listing().policies.first?.versions.map(\.version) == [1])
        // ... or a complete file renamed in before the state file recorded it (the client got no
        // answer): the recorded version stays active, the new one is available.
        let dir2 = ServeFixtures.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        do {
            let r = try open(dir2, sc)
            try r.upload(name: "zoo", bytes: a, sha256: ServeFixtures.sha(a))
            try r.upload(name: "zoo", bytes: b, sha256: ServeFixtures.sha(b))
            try r.rollback(name: "zoo")  // state: v1 active
        }
        let r2 = try open(dir2, sc)
        #expect(try r2.active("zoo").version == 1)
        // Uploads never reuse a version number of a file in the folder, valid or not.
        let next = try r.upload(name: "zoo", bytes: b, sha256: ServeFixtures.sha(b))
        #expect(next.version == 4)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/zoo.v3.safetensors")).count == b.count - 100)
    }

    @Test("the folder scan: a partial file is skipped until it is complete, then activated; a drop-in NAME.safetensors becomes the next version; temp names are ignored")
    func folderScan() throws {
        let (sc, a, b) = try ServeFixtures.zooPolicies()
        let dir = ServeFixtures.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try open(dir, sc)
        try Data(a).write(to: URL(fileURLWithPath: dir + "/zoo.v1.safetensors"))
        r.scan()
        #expect(try r.active("zoo").version == 1)
        // A file being copied in: first half, then the rest.
        let path = dir + "/zoo.v2.safetensors"
        try Data(b.prefix(b.count / 3)).write(to: URL(fileURLWithPath: path))
        r.scan()
        r.scan()
        #expect(try r.active("zoo").version == 1)
        try Data(b).write(to: URL(fileURLWithPath: path))
        r.scan()
        #expect(try r.active("zoo").version == 2)
        // Temporary and hidden names are never read.
        try Data(a).write(to: URL(fileURLWithPath: dir + "/.zoo.v9.safetensors.tmp-1-2"))
        try Data(a).write(to: URL(fileURLWithPath: dir + "/zoo.v9.safetensors.part"))
        r.scan()
        #expect(try r.active("zoo").version == 2)
        // A drop-in: verified, renamed to the next version, active.
        try Data(a).write(to: URL(fileURLWithPath: dir + "/canary.safetensors"))
        r.scan()
        #expect(try r.active("canary").version == 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/canary.v1.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/canary.safetensors"))
        #expect(r.names == ["canary", "zoo"])
        // The default policy is the first name.
        #expect(try r.active().name == "canary")
    }

    @Test("refused uploads (truncated, bit-flipped, wrong sha256, another scenario, bad name) name the reason and keep the active version")
    func refusedUploads() throws {
        let (sc, a, b) = try ServeFixtures.zooPolicies()
        let dir = ServeFixtures.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try open(dir, sc)
        try r.upload(name: "zoo", bytes: a, sha256: ServeFixtures.sha(a))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        func check(_ bytes: [UInt8], sha: String? = nil, name: String = "zoo", _ reason: ServeError.Reason, _ contains: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
            let e = refusal { try r.upload(name: name, bytes: bytes, sha256: sha ?? ServeFixtures.sha(bytes)) }
            #expect(e?.reason == reason, "\(e.map { "\($0)" } ?? "accepted")", sourceLocation: sourceLocation)
            #expect(e?.message.contains(contains) == true, "\(e.map { "\($0)" } ?? "accepted")", sourceLocation: sourceLocation)
            #expect((try? r.active("zoo").version) == 1, sourceLocation: sourceLocation)
        }
        // Truncated in transit (the announced sha256 is the whole file's) and truncated at the source.
        check(Array(b.prefix(b.count / 2)), sha: ServeFixtures.sha(b), .sha256Mismatch, "announced")
        check(Array(b.prefix(b.count / 2)), .corruptPolicy, "truncated")
        // A flipped bit: in transit, and at the source (the file's own checksum).
        var flipped = b
        flipped[b.count - 50] ^= 0x04
        check(flipped, sha: ServeFixtures.sha(b), .sha256Mismatch, "SHA-256")
        check(flipped, .corruptPolicy, "checksum mismatch")
        check(b, sha: "abc", .missingSHA256, "64 hex digits")
        check(b, name: "../etc", .badName, "policy name")
        check(Array("not a policy".utf8), .corruptPolicy, "not a valid safetensors file")
        // A policy for another scenario: the same network exported for vision-zoo's 3 devices.
        let zoo3 = try ServeFixtures.spec("vision-zoo.toml")
        let (frozen, ckpt, norm) = try ServeFixtures.trainedPolicy(zoo3, seed: 3)
        defer { try? FileManager.default.removeItem(at: ckpt) }
        check(try ServeFixtures.policyFile(frozen, zoo3, normalization: norm), .otherScenario, "this daemon serves 'vision-zoo'")
        // Nothing of the refused uploads reached the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == files)
    }
}
