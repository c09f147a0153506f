import Foundation
import Testing
import SwitchGymData
import SwitchGymIO
#if canImport(Glibc)
import Glibc
#endif

private let spec = """
    name = "tiny"
    decision_interval_s = 1.0
    [trace]
    synthetic = "default"
    [[variants]]
    name = "a"
    accuracy = 0.8
    batch_sizes = [1, 8]
    latency_ms = [5.0, 20.0]
    memory_gb = 1.0
    load_s_disk = 1.0
    load_s_ram = 0.5
    [[fleet]]
    name = "gpu"
    memory_gb = 10.0
    [[streams]]
    name = "fast"
    deadline_ms = 100.0
    """

/// Issue 13, cases 4 to 8 and the misleading messages, through the binary: a non-zero
/// status, a message naming the file and the key, no trap.
@Suite("switchgym: extreme inputs exit with a clear error, never a trap", .serialized)
struct InputBoundsCLITests {
    @Test("spec values that trapped or allocated terabytes: status 65 naming the file and the key", arguments: [
        ("deadline_ms = 100.0", "deadline_ms = 1e300", "key 'streams[0].deadline_ms'"),
        ("decision_interval_s = 1.0", "decision_interval_s = 1e-9", "key 'decision_interval_s'"),
        ("deadline_ms = 100.0", "deadline_ms = 100.0\ndrop_after = 9223372036854775807", "key 'streams[0].drop_after'"),
        ("[trace]", "[reward]\nslo = nan\n[trace]", "key 'reward.slo'"),
    ])
    func specs(_ line: String, _ replacement: String, _ key: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(spec.replacingOccurrences(of: line, with: replacement), dir + "/s.toml")
        let r = try run(["envs", "simulate", "--env", "s.toml"], cwd: dir)
        #expect(r.status == 65 && r.stderr.contains("s.toml") && r.stderr.contains(key), "\(r.status): \(r.stderr)")
    }

    @Test("a dataset with duration_us = 2^62: envs simulate --trace refuses it naming the attribute")
    func hugeDuration() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(spec, dir + "/s.toml")
        let w = try HDF5File.create(path: dir + "/d.h5")
        try w.write("/arrivals", [Int64(0), 5, 9])
        try w.write("/stream_ids", [UInt32(0), 0, 0])
        try w.createGroup("/streams")
        try w.writeStrings("/streams/name", ["only"])
        try w.writeStrings("/streams/kind", [""])
        try w.setAttribute("format", TraceDataset.formatName)
        for k in ["source_file", "source_sha256", "source_format", "created_at", "start_time", "parameters"] { try w.setAttribute(k, "") }
        try w.setAttribute("format_version", TraceDataset.formatVersion)
        try w.setAttribute("duration_us", Int64(1) << 62)
        try w.setAttribute("num_requests", Int64(3))
        try w.setAttribute("seed", UInt64(0))
        try w.close()
        let r = try run(["envs", "simulate", "--env", "s.toml", "--trace", "d.h5"], cwd: dir)
        #expect(r.status != 0 && r.stderr.contains("d.h5") && r.stderr.contains("duration_us"), "\(r.status): \(r.stderr)")
    }

    @Test("a train config with ent_coef = 1e300: status 65 naming the file and the key")
    func trainConfig() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(spec, dir + "/s.toml")
        try write(#"{"ent_coef": 1e300}"#, dir + "/c.json")
        let r = try run(["train", "--env", "s.toml", "--config", "c.json", "-o", "run"], cwd: dir)
        #expect(r.status != 0 && r.stderr.contains("c.json") && r.stderr.contains("key 'ent_coef'"), "\(r.status): \(r.stderr)")
    }

    @Test("traces import /dev/zero ends at once with status 65 naming the line cap")
    func devZero() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["traces", "import", "/dev/zero", "-o", "x.h5"], cwd: dir)
        #expect(r.status == 65 && r.stderr.contains("/dev/zero:1") && r.stderr.contains("maxLineBytes"), "\(r.status): \(r.stderr)")
        #expect(files(dir).isEmpty)
    }

    /// A FIFO at `path` fed by a thread with `chunk` up to `limit` bytes, stopping quietly
    /// when the reader closes (EPIPE: SIGPIPE is ignored).
    private func feedFIFO(_ path: String, chunk: String, limit: Int) throws {
        #expect(mkfifo(path, 0o600) == 0)
        signal(SIGPIPE, SIG_IGN)
        let bytes = Array(chunk.utf8)
        Thread {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var sent = 0
            bytes.withUnsafeBytes { b in
                while sent < limit {
                    let n = Glibc.write(fd, b.baseAddress!, b.count)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }
                    sent += n
                    if n < b.count { return }  // the reader left mid-chunk
                }
            }
        }.start()
    }

    @Test("traces import - from an endless pipe ends at --max-requests: status 65 naming the limit and the flag, bounded RSS, no output")
    func endlessPipe() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        // 256 MiB of "0\n" rows: read whole before parsing (as it once was), the peak RSS passes
        // the budget; parsed as read, it ends at the cap of 1 M rows (2 MB in).
        try feedFIFO(dir + "/fifo", chunk: String(repeating: "0\n", count: 1 << 15), limit: 256 << 20)
        let r = try runMeasured(["traces", "import", "-", "-o", dir + "/x.h5", "--max-requests", "1000000"],
                                scratch: dir, stdin: dir + "/fifo")
        #expect(r.signal == nil && r.status == 65 && r.stderr.contains("/dev/stdin:1000001")
                && r.stderr.contains("at most 1000000 requests") && r.stderr.contains("--max-requests"), "\(String(describing: r.status)): \(r.stderr)")
        #expect(r.peakRSSBytes < 128 << 20, "peak RSS \(r.peakRSSBytes >> 20) MiB")
        print("traces import - of an endless pipe, --max-requests 1000000: peak RSS \(r.peakRSSBytes >> 20) MiB (budget 128 MiB)")
        #expect(files(dir) == ["fifo"], "\(files(dir))")
        let bad = try run(["traces", "import", "-", "-o", dir + "/y.h5", "--max-requests", "0"], cwd: dir)
        #expect(bad.status == 64 && bad.stderr.contains("--max-requests 0"), "\(bad.status): \(bad.stderr)")
    }

    @Test("traces import of a FIFO gives the same dataset as of the file with the same bytes")
    func fifoEqualsFile() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = String(decoding: SyntheticCSV.azureLLM(rows: 80_000, seed: 3), as: UTF8.self)
        try FileManager.default.createDirectory(atPath: dir + "/fifo", withIntermediateDirectories: true)
        try write(csv, dir + "/t.csv")
        try feedFIFO(dir + "/fifo/t.csv", chunk: csv, limit: csv.utf8.count)
        let args = ["--created-at", "2026-01-01T00:00:00Z", "--sort"]
        let a = try run(["traces", "import", "t.csv", "-o", "file.h5"] + args, cwd: dir)
        let b = try run(["traces", "import", "fifo/t.csv", "-o", "fifo.h5"] + args, cwd: dir)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\n\(b.stderr)")
        let fromFile = try TraceDataset.read(dir + "/file.h5"), fromFIFO = try TraceDataset.read(dir + "/fifo.h5")
        #expect(fromFile.count == 80_000 && fromFIFO == fromFile)
    }

    @Test("train --out and eval --export naming an existing file (or a path under one): status 64 naming it; the file stays",
          arguments: [("f", "an existing file"), ("f/run", "is a file, not a folder")])
    func folderOutputIsAFile(_ out: String, _ message: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(spec, dir + "/s.toml")
        try write("keep me\n", dir + "/f")
        let t = try run(["train", "--env", "CartPole-v1", "--steps", "64", "--out", out, "--quiet"], cwd: dir)
        #expect(t.status == 64 && t.stderr.contains(out) && t.stderr.contains(message), "\(t.status): \(t.stderr)")
        let e = try run(["eval", "--env", "s.toml", "--baselines", "none", "--export", out], cwd: dir)
        #expect(e.status == 64 && e.stderr.contains(out) && e.stderr.contains(message), "\(e.status): \(e.stderr)")
        for r in [t, e] { #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Error Domain"), "\(r.stderr)") }
        #expect(try String(contentsOfFile: dir + "/f", encoding: .utf8) == "keep me\n")
        #expect(files(dir) == ["f", "s.toml"])
    }

    @Test("-o '' names the problem; eval --env CartPole-v1 says a spec is needed")
    func messages() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["traces", "synth", "-o", ""], cwd: dir)
        #expect(r.status == 64 && r.stderr.contains("the output path is empty"), "\(r.status): \(r.stderr)")
        let e = try run(["eval", "x.h5", "--env", "CartPole-v1"], cwd: dir)
        #expect(e.status == 64 && e.stderr.contains("needs a scenario spec") && !e.stderr.contains("cannot read"), "\(e.status): \(e.stderr)")
    }
}
