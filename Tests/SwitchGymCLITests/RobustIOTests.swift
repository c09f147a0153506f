import Foundation
import Testing
import SwitchGymIO
#if canImport(Glibc)
import Glibc
#endif

private let csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
    + (0..<50).map { "2023-11-16 18:15:\(String(format: "%02d", $0)).0000000,\($0 + 1),2\n" }.joined()

/// Flips one byte inside the largest float32 dataset of a checkpoint; returns its path.
private func corruptParameter(of path: String) throws -> String {
    let f = try HDF5File.open(path: path)
    var best: (String, [Float]) = ("", [])
    for name in try f.datasetPaths() where try f.elementType(of: name) == .float(bits: 32) {
        let v = try f.read(name, as: Float.self)
        if v.count > best.1.count { best = (name, v) }
    }
    try f.close()
    let pattern = best.1[2..<10].withUnsafeBytes { Array($0) }
    var bytes = try FileSystem.readAll(path)
    let hits = (0...(bytes.count - pattern.count)).filter { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
    try #require(hits.count == 1)
    bytes[hits[0]] ^= 0x01
    try AtomicOutput.write(bytes: bytes, to: path)
    return best.0
}

@Suite("switchgym never destroys an input, replaces a special file, or uses a damaged checkpoint", .serialized)
struct RobustIOTests {
    @Test("traces import refuses an output that is the input by any path, and leaves the input as it was",
          arguments: ["./a.csv", "ABS", "link.csv", "hard.csv"])
    func importOutputIsInput(_ spelling: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(csv, dir + "/a.csv")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.csv", withDestinationPath: dir + "/a.csv")
        try FileManager.default.linkItem(atPath: dir + "/a.csv", toPath: dir + "/hard.csv")
        let out = spelling == "ABS" ? dir + "/a.csv" : spelling
        let r = try run(["traces", "import", "a.csv", "-o", out], cwd: dir)
        #expect(r.status == 64, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("the output is the same file as the input a.csv") && r.stderr.contains(out), "\(r.stderr)")
        #expect(try String(contentsOfFile: dir + "/a.csv", encoding: .utf8) == csv)
        #expect(files(dir) == ["a.csv", "hard.csv", "link.csv"])
    }

    @Test("traces split and traces synth --fit refuse to overwrite their source")
    func splitAndSynthOverSource() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try run(["traces", "synth", "--duration", "60", "-o", "d.h5"], cwd: dir).status == 0)
        let before = try FileSystem.readAll(dir + "/d.h5")
        let split = try run(["traces", "split", "d.h5", "--heldout-out", "./d.h5"], cwd: dir)
        #expect(split.status == 64 && split.stderr.contains("same file as the input d.h5"), "\(split.stderr)")
        let both = try run(["traces", "split", "d.h5", "--train-out", "t.h5", "--heldout-out", "./t.h5"], cwd: dir)
        #expect(both.status == 64 && both.stderr.contains("are the same file"), "\(both.stderr)")
        let synth = try run(["traces", "synth", "--fit", "d.h5", "-o", dir + "/d.h5"], cwd: dir)
        #expect(synth.status == 64 && synth.stderr.contains("same file as the input d.h5"), "\(synth.stderr)")
        #expect(try FileSystem.readAll(dir + "/d.h5") == before)
        #expect(files(dir) == ["d.h5"])
    }

    @Test("small inputs read whole (train --config, envs rollout --actions, ship's policy) stop at their limit on an endless device, naming it")
    func boundedWholeReads() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        for (args, limit) in [(["train", "--env", "CartPole-v1", "--config", "/dev/zero", "--out", dir + "/r"], 16 << 20),
                              (["envs", "rollout", "--env", "CartPole-v1", "--actions", "/dev/zero"], 256 << 20),
                              (["ship", "/dev/zero", "--to", "http://127.0.0.1:9"], 256 << 20)] {
            let r = try runMeasured(args, scratch: dir)
            #expect(r.signal == nil && (r.status == 64 || r.status == 65), "\(args): \(String(describing: r.status)) \(r.stderr)")
            #expect(r.stderr.contains("/dev/zero: larger than \(limit) bytes"), "\(args): \(r.stderr)")
            #expect(r.peakRSSBytes < limit + (200 << 20), "\(args): peak RSS \(r.peakRSSBytes >> 20) MiB")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/r/config.json"))
    }

    @Test("-o naming a FIFO or a character device is refused and the special file stays")
    func specialOutputs() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(csv, dir + "/a.csv")
        #expect(mkfifo(dir + "/pipe", 0o644) == 0)
        for (out, what) in [(dir + "/pipe", "a FIFO"), ("/dev/null", "a character device")] {
            let r = try run(["traces", "import", dir + "/a.csv", "-o", out])
            #expect(r.status == 64 && r.stderr.contains(out) && r.stderr.contains(what), "\(r.stderr)")
        }
        var st = stat()
        #expect(lstat(dir + "/pipe", &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test("a checkpoint with a flipped parameter byte is refused by eval tools naming the file and the dataset; resume falls back")
    func damagedCheckpoint() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = ["train", "--env", "CartPole-v1", "--seed", "3", "--steps", "2048", "--checkpoint-every", "512", "--quiet"]
        let t = try run(base + ["--out", dir + "/r", "--stop-at", "1536"])
        #expect(t.status == 0, "\(t.stderr)")
        let newest = dir + "/r/ckpt-0000001536.h5", previous = dir + "/r/ckpt-0000001024.h5"
        let entry = try corruptParameter(of: newest)
        let bad = try run(["envs", "rollout", "--env", "CartPole-v1", "--policy", newest, "--steps", "5"])
        #expect(bad.status == 65, "\(bad.status): \(bad.stderr)")
        #expect(bad.stderr.contains(newest) && bad.stderr.contains("dataset \(entry)") && bad.stderr.contains("SHA-256"), "\(bad.stderr)")
        let resumed = try run(["train", "--env", "CartPole-v1", "--out", dir + "/r", "--resume", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("skipped the corrupt checkpoint \(newest)"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming from \(previous) (step 1024)"), "\(resumed.stderr)")
        #expect(resumed.stdout.contains("2048 steps"), "\(resumed.stdout)")
    }

    @Test("a run folder without a checkpoint is reused by a fresh run; a locked folder is refused")
    func reuseAndLock() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = ["train", "--env", "CartPole-v1", "--steps", "512", "--out", dir + "/r", "--quiet"]
        #expect(try run(train).status == 0)
        for f in files(dir + "/r") where f.hasPrefix("ckpt-") { try FileManager.default.removeItem(atPath: dir + "/r/" + f) }
        let resume = try run(["train", "--env", "CartPole-v1", "--out", dir + "/r", "--resume", "--quiet"])
        #expect(resume.status == 66 && resume.stderr.contains("without --resume"), "\(resume.stderr)")
        let fresh = try run(train)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stderr.contains("stopped before its first checkpoint; starting afresh"), "\(fresh.stderr)")

        // Another process holds the run's lock (as a second `train` would while the first runs).
        try FileManager.default.createDirectory(atPath: dir + "/q", withIntermediateDirectories: true)
        let fd = open(dir + "/q/.lock", O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let locked = try run(["train", "--env", "CartPole-v1", "--steps", "512", "--out", dir + "/q", "--quiet"])
        #expect(locked.status == 73, "\(locked.status): \(locked.stderr)")
        #expect(locked.stderr.contains(dir + "/q") && locked.stderr.contains("another switchgym train"), "\(locked.stderr)")
        #expect(!files(dir + "/q").contains("config.json"))
        close(fd)
        #expect(try run(["train", "--env", "CartPole-v1", "--steps", "512", "--out", dir + "/q", "--quiet"]).status == 0)
    }
}
