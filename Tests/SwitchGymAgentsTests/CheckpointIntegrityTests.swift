import Foundation
import Testing
import SwitchGymCore
import SwitchGymNN
@testable import SwitchGymIO
@testable import SwitchGymAgents

/// Flips the first byte of the only occurrence of `pattern` in the file.
private func flipByte(in path: String, at pattern: [UInt8]) throws {
    var bytes = try FileSystem.readAll(path)
    let hits = (0...(bytes.count - pattern.count)).filter { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
    try #require(hits.count == 1, "the pattern occurs \(hits.count) times")
    bytes[hits[0]] ^= 0x01
    try AtomicOutput.write(bytes: bytes, to: path)
}

/// Damages one parameter of a checkpoint: a byte inside its largest float32 dataset.
/// - Returns: that dataset's path.
func corruptParameter(of path: String) throws -> String {
    let f = try HDF5File.open(path: path)
    var best: (String, [Float]) = ("", [])
    for name in try f.datasetPaths() where try f.elementType(of: name) == .float(bits: 32) {
        let v = try f.read(name, as: Float.self)
        if v.count > best.1.count { best = (name, v) }
    }
    try f.close()
    try #require(best.1.count >= 8)
    try flipByte(in: path, at: best.1[2..<8].withUnsafeBytes { Array($0) })
    return best.0
}

private func state() -> StateDict {
    var s = StateDict()
    s.floats["policy/layer0/weight"] = (0..<64).map { Float($0) * 0.37 - 3 }
    s.doubles["obs_rms/mean"] = [1.5, -2.25]
    s.integers["rng"] = [0xDEAD_BEEF, 7]
    s.strings["config"] = "{\"lr\": 0.0003}"
    return s
}

@Suite("Checkpoint integrity: checksums, fallback on resume, reuse and locking of run folders")
struct CheckpointIntegrityTests {
    @Test("a checkpoint with one flipped byte in a parameter is refused naming the file and the dataset")
    func flippedParameter() throws {
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let path = dir.appendingPathComponent("c.h5").path
        try CheckpointFile.write(state(), step: 7, to: path)
        let entry = try corruptParameter(of: path)
        #expect(entry == "/policy/layer0/weight")
        let e = #expect(throws: CheckpointError.self) { try CheckpointFile.read(path) }
        #expect(e?.description.hasPrefix(path + ": cannot read the checkpoint: dataset /policy/layer0/weight: content does not match its SHA-256") == true,
                "\(String(describing: e))")
        #expect(e?.kind == .invalid)
    }

    @Test("case 3: 40 seeded random 16-byte overwrites inside the parameters are each refused (none changes what is read)")
    func randomOverwrites() throws {
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let path = dir.appendingPathComponent("c.h5").path
        let original = state()
        try CheckpointFile.write(original, step: 7, to: path)
        let clean = try FileSystem.readAll(path)
        let pattern = original.floats["policy/layer0/weight"]!.withUnsafeBytes { Array($0) }
        let hits = (0...(clean.count - pattern.count)).filter { clean[$0..<($0 + pattern.count)].elementsEqual(pattern) }
        try #require(hits.count == 1)
        var g = SeededGenerator(seed: 13)
        var refused = 0
        for _ in 0..<40 {
            var bytes = clean
            let at = hits[0] + Int(g.next() % UInt64(pattern.count - 16))
            for i in 0..<16 { bytes[at + i] = UInt8(truncatingIfNeeded: g.next()) }
            if bytes == clean { continue }
            try AtomicOutput.write(bytes: bytes, to: path)
            do {
                let back = try CheckpointFile.read(path)
                Issue.record("an overwrite at byte \(at) was read back (state unchanged: \(back.state == original))")
            } catch let e as CheckpointError {
                #expect(e.description.contains("dataset /policy/layer0/weight") && e.description.contains("SHA-256"), "\(e)")
                refused += 1
            }
        }
        #expect(refused >= 39)
    }

    @Test("a damaged attribute (the step) is refused too")
    func flippedStep() throws {
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let path = dir.appendingPathComponent("c.h5").path
        try CheckpointFile.write(state(), step: 0x0102_0304_0506, to: path)
        try flipByte(in: path, at: withUnsafeBytes(of: Int64(0x0102_0304_0506)) { Array($0) })
        let e = #expect(throws: CheckpointError.self) { try CheckpointFile.read(path) }
        #expect(e?.description.contains("attribute step") == true, "\(String(describing: e))")
    }

    @Test("a version 1 checkpoint (before checksums) is read with a warning; a version 2 one without checksums is refused")
    func legacy() throws {
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        func writeUnchecked(_ name: String, version: Int64) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let f = try HDF5File.create(path: path)
            f.pendingChecksums = nil  // as version 1 writers did
            try f.createGroup("/policy")
            try f.write("/policy/w", [Float(1), 2], compression: .none)
            try f.setAttribute("format", CheckpointFile.format)
            try f.setAttribute("format_version", version)
            try f.setAttribute("step", Int64(9))
            try f.close()
            return path
        }
        let old = try writeUnchecked("old.h5", version: 1)
        var warnings: [String] = []
        let c = try CheckpointFile.read(old) { warnings.append($0) }
        #expect(c.step == 9 && c.state.floats["policy/w"] == [1, 2])
        #expect(warnings.count == 1 && warnings[0].contains(old) && warnings[0].contains("predates content checksums"))
        let stripped = try writeUnchecked("stripped.h5", version: 2)
        let e = #expect(throws: CheckpointError.self) { try CheckpointFile.read(stripped) { _ in } }
        #expect(e?.description.contains(stripped) == true && e?.description.contains("content_sha256") == true)
    }

    private func cartPole(steps: Int) throws -> TrainingRunConfig {
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let config = dir.appendingPathComponent("c.json").path
        try "{\"n_envs\": 2, \"n_steps\": 64, \"batch_size\": 64, \"n_epochs\": 1, \"net_arch\": [8]}"
            .write(toFile: config, atomically: true, encoding: .utf8)
        return try Training.resolve(env: "CartPole-v1", trace: nil, algorithm: .ppo, file: config, seed: 1, steps: steps)
    }

    /// Collects notices (the closure must be Sendable).
    final class Notices: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    @Test("resume skips a corrupt newest checkpoint, says so, and continues from the previous one")
    func resumeFallsBack() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let run = try cartPole(steps: 1024)
        let out = dir.appendingPathComponent("run")
        try Training.run(run, in: out, options: TrainingOptions(checkpointEvery: 256, stopAt: 768, progress: false))
        let store = try CheckpointStore(directory: out)
        let ckpts = store.checkpoints()
        #expect(ckpts.map { CheckpointStore.step(of: $0) } == [256, 512, 768])
        _ = try corruptParameter(of: ckpts[2].path)
        let notices = Notices()
        let s = try Training.run(run, in: out, options: TrainingOptions(resume: true, checkpointEvery: 256, progress: false,
                                                                          notice: { notices.add($0) }))
        #expect(s.steps == 1024)
        let text = notices.all.joined(separator: "\n")
        #expect(text.contains("skipped the corrupt checkpoint \(ckpts[2].path)"), "\(text)")
        #expect(text.contains("resuming from \(ckpts[1].path) (step 512)"), "\(text)")
        // The resumed run rewrote step 768 intact.
        #expect(try CheckpointFile.read(ckpts[2].path).step == 768)
    }

    @Test("resume with every checkpoint damaged is refused, listing each")
    func resumeNothingIntact() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let run = try cartPole(steps: 512)
        let out = dir.appendingPathComponent("run")
        try Training.run(run, in: out, options: TrainingOptions(checkpointEvery: 256, progress: false))
        let ckpts = try CheckpointStore(directory: out).checkpoints()
        for c in ckpts { _ = try corruptParameter(of: c.path) }
        let e = #expect(throws: TrainingError.self) {
            try Training.run(run, in: out, options: TrainingOptions(resume: true, progress: false, notice: { _ in }))
        }
        #expect(e?.kind == .nothingToResume)
        #expect(ckpts.allSatisfy { e?.message.contains($0.path) == true }, "\(String(describing: e))")
    }

    @Test("a folder with a config but no checkpoint is reused by a fresh run, with a note; --resume explains")
    func reuseFolderWithoutCheckpoint() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let run = try cartPole(steps: 256)
        let out = dir.appendingPathComponent("run")
        try Training.run(run, in: out, options: TrainingOptions(progress: false))
        // As if killed before its first checkpoint.
        for c in try CheckpointStore(directory: out).checkpoints() { try FileManager.default.removeItem(at: c) }
        let notices = Notices()
        let e = #expect(throws: TrainingError.self) {
            try Training.run(run, in: out, options: TrainingOptions(resume: true, progress: false, notice: { notices.add($0) }))
        }
        #expect(e?.kind == .nothingToResume && e?.message.contains("without --resume") == true)
        let s = try Training.run(run, in: out, options: TrainingOptions(progress: false, notice: { notices.add($0) }))
        #expect(s.steps == 256)
        #expect(notices.all.contains { $0.contains(out.path) && $0.contains("stopped before its first checkpoint") })
        #expect(listNames(out).filter { $0.hasPrefix("events.out.tfevents.") }.count == 1)
        // With a checkpoint, the folder is a run again: a fresh run is refused.
        let again = #expect(throws: TrainingError.self) { try Training.run(run, in: out, options: TrainingOptions(progress: false)) }
        #expect(again?.kind == .folderInUse)
    }

    @Test("a run into a folder another run holds locked is refused naming the folder; the lock is released after")
    func lockedFolder() throws {
        BLAS.setThreadCount(1)
        let dir = try makeRunDirectory(); defer { removeRunDirectory(dir) }
        let run = try cartPole(steps: 128)
        let out = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        do {
            let held = try #require(try FileLock.tryLock(out.appendingPathComponent(TrainingVisitor.lockFileName).path))
            let e = #expect(throws: TrainingError.self) { try Training.run(run, in: out, options: TrainingOptions(progress: false)) }
            #expect(e?.kind == .folderInUse)
            #expect(e?.message.contains(out.path) == true && e?.message.contains("another switchgym train") == true)
            #expect(!listNames(out).contains("config.json"))
            withExtendedLifetime(held) {}
        }
        try Training.run(run, in: out, options: TrainingOptions(progress: false))
        // Released when the run returned.
        #expect(try FileLock.tryLock(out.appendingPathComponent(TrainingVisitor.lockFileName).path) != nil)
    }
}
