import Foundation
import Testing
import SwitchGymData
import SwitchGymIO

/// The `switchgym` binary under test: $SWITCHGYM_BIN, else the one built next to
/// this test bundle (`swift test` builds every product).
func binary() -> String {
    if let b = ProcessInfo.processInfo.environment["SWITCHGYM_BIN"] { return b }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("switchgym").path
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the binary with `args` in `cwd`.
func run(_ args: [String], cwd: String? = nil) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary())
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read before waiting so a large output cannot fill the pipe and block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: e, as: UTF8.self))
}

func scratch(_ name: String = #function) throws -> String {
    let dir = NSTemporaryDirectory() + "switchgym-cli-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func write(_ text: String, _ path: String) throws {
    try AtomicOutput.write(text: text, to: path)
}

func files(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

private let llmHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n"

@Suite("switchgym traces: bad input gives a clear error, a non-zero status and no output", .serialized)
struct CLIBadInputTests {
    @Test("malformed CSV rows: the error names the file, the line and what was expected; OUT is not created",
          arguments: [
            ("wrong column count", llmHeader + "2023-11-16 18:15:46.6805900,10,2\n2023-11-16 18:15:47.0000000,10\n", "bad.csv:3"),
            ("unparsable timestamp", llmHeader + "2023-11-16 18:15:46.6805900,10,2\n2023-13-45 xx:15:47,10,2\n", "bad.csv:3"),
            ("non-monotonic time", llmHeader + "2023-11-16 18:15:48.0000000,10,2\n2023-11-16 18:15:47.0000000,10,2\n", "bad.csv:3"),
            ("negative tokens", llmHeader + "2023-11-16 18:15:48.0000000,-10,2\n", "bad.csv:2"),
            ("negative count", "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,3,-1\n", "bad.csv:2"),
          ])
    func malformedCSV(_ c: (String, String, String)) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/bad.csv"
        try write(c.1, src)
        let r = try run(["traces", "import", src, "-o", dir + "/out.h5"])
        #expect(r.status == 65, "\(c.0): status \(r.status), stderr \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: "), "\(c.0): \(r.stderr)")
        #expect(r.stderr.contains(c.2), "\(c.0): \(r.stderr)")
        #expect(r.stderr.contains("expected"), "\(c.0): \(r.stderr)")
        #expect(files(dir) == ["bad.csv"], "\(c.0): left \(files(dir))")
    }

    @Test("a truncated .zst or .gz input is an error naming the file; an existing OUT is kept intact",
          arguments: ["zst", "gz"])
    func truncatedCompressed(ext: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        var csv = llmHeader
        for i in 0..<2000 { csv += "2023-11-16 18:\(10 + i / 60 % 40):\(String(format: "%02d", i % 60)).1234567,\(i),\(i % 7)\n" }
        let bytes = Array(csv.utf8)
        let packed = ext == "zst" ? try bytes.withUnsafeBytes { try Zstd.compress($0) } : try GzipDecompressor.compress(bytes)
        let src = dir + "/trace.csv.\(ext)"
        try AtomicOutput.write(bytes: Array(packed.prefix(packed.count * 2 / 3)), to: src)
        let out = dir + "/out.h5"
        try write("precious", out)
        let r = try run(["traces", "import", src, "-o", out])
        #expect(r.status == 65, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("trace.csv.\(ext)"), "\(r.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious")
        #expect(files(dir) == ["out.h5", "trace.csv.\(ext)"])
    }

    @Test("a missing input exits 66; an unwritable output exits 73")
    func missingAndUnwritable() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["traces", "inspect", dir + "/nope.h5"])
        #expect(r.status == 66, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("nope.h5"))
        let w = try run(["traces", "synth", "--duration", "10", "-o", dir + "/no/such/folder/x.h5"])
        #expect(w.status == 73, "\(w.status) \(w.stderr)")
        #expect(w.stderr.contains("no/such/folder"))
    }

    @Test("inspect refuses an HDF5 file that is not a trace, and a truncated one, naming the file")
    func notATrace() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let other = dir + "/other.h5"
        let f = try HDF5File.create(path: other)
        try f.write("/x", [Int64(1), 2, 3])
        try f.close()
        let r = try run(["traces", "inspect", other])
        #expect(r.status == 65 && r.stderr.contains("other.h5") && r.stderr.contains("not a SwitchGym trace"), "\(r.stderr)")
        let t = dir + "/t.h5"
        #expect(try run(["traces", "synth", "--duration", "600", "--rate", "200", "-o", t]).status == 0)
        let bytes = try FileSystem.readAll(t)
        try AtomicOutput.write(bytes: Array(bytes.prefix(bytes.count / 2)), to: t)
        let r2 = try run(["traces", "inspect", t])
        #expect(r2.status == 65 && r2.stderr.contains("t.h5"), "\(r2.status) \(r2.stderr)")
        let txt = dir + "/text.h5"
        try write("just text", txt)
        let r3 = try run(["traces", "inspect", txt])
        #expect(r3.status != 0 && r3.stderr.contains("text.h5"), "\(r3.status) \(r3.stderr)")
    }

    @Test("a synth spec with an unknown key names the file and the key; bad values are usage errors")
    func badSpec() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = dir + "/spec.json"
        try write(#"{"kind": "poisson", "rat": 5}"#, spec)
        let r = try run(["traces", "synth", "--spec", spec, "-o", dir + "/x.h5"])
        #expect(r.status == 64, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("spec.json") && r.stderr.contains("\"rat\""), "\(r.stderr)")
        #expect(try run(["traces", "synth", "--kind", "nope", "-o", dir + "/x.h5"]).status == 64)
        #expect(try run(["traces", "inspect", "x.h5", "--plot-window", "0"]).status == 64)
        #expect(try run(["traces", "inspect", "x.h5", "--windows", "1,-2"]).status == 64)
        #expect(try run(["traces", "split", "x.h5", "--train", "1.5"]).status == 64)
        #expect(files(dir) == ["spec.json"])
    }
}

@Suite("switchgym traces and quickstart: the happy paths", .serialized)
struct CLIHappyPathTests {
    @Test("import, inspect --json, split and plot agree with each other")
    func pipeline() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/t.csv"
        try write("timestamp,stream\n0.5,a\n1.25,b\n1.5,a\n3.0,a\n9.75,b\n", src)
        let h5 = dir + "/t.h5"
        let imp = try run(["traces", "import", src, "-o", h5])
        #expect(imp.status == 0, "\(imp.stderr)")
        let js = try run(["traces", "inspect", h5, "--json", "--plot", dir + "/rate.svg", "--plot-window", "1"])
        #expect(js.status == 0, "\(js.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(js.stdout.utf8)) as? [String: Any]
        #expect(obj?["requests"] as? Int == 5)
        #expect((obj?["streams"] as? [Any])?.count == 2)
        #expect(try String(contentsOfFile: dir + "/rate.svg", encoding: .utf8).contains("<svg"))
        let sp = try run(["traces", "split", h5, "--train", "0.5"])
        #expect(sp.status == 0, "\(sp.stderr)")
        let a = try TraceDataset.read(dir + "/t.train.h5"), b = try TraceDataset.read(dir + "/t.heldout.h5")
        #expect(a.count + b.count == 5)
        #expect(b.arrivals.first! >= 0 && a.arrivals.allSatisfy { $0 < a.duration })
    }

    @Test("import detects the new formats; servegen is reproducible from --seed and the dataset round-trips",
          arguments: [
            ("m.jsonl", "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2, \"hash_ids\": [1]}\n", "mooncake"),
            ("b.csv", "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,GPT-4,1,2,3,API log\n",
             "burstgpt"),
            ("f.txt", "app,func,end_timestamp,duration\na,f,2.5,0.5\n", "azure-functions-2021"),
            ("chunk-0-trace.csv", "0,2.0,1.0,Exponential,2.0,0.5\n600,0,0,,0,0\n", "servegen"),
          ])
    func importNewFormats(name: String, text: String, format: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(text, dir + "/" + name)
        for out in ["a", "b"] {
            let r = try run(["traces", "import", dir + "/" + name, "--seed", "3", "--created-at", "x", "-o", dir + "/\(out).h5"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains(format), "\(r.stdout)")
        }
        let a = try TraceDataset.read(dir + "/a.h5")
        #expect(a.metadata.sourceFormat == format)
        #expect(try TraceDataset.read(dir + "/b.h5").arrivals == a.arrivals)
    }

    @Test("synth is reproducible from its seed and --fit reaches the target's rate")
    func synth() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["a", "b"] {
            #expect(try run(["traces", "synth", "--kind", "mmpp", "--duration", "600", "--rate", "20", "--seed", "3",
                             "--created-at", "x", "-o", dir + "/\(name).h5"]).status == 0)
        }
        #expect(try FileSystem.readAll(dir + "/a.h5") == FileSystem.readAll(dir + "/b.h5"))
        let fit = try run(["traces", "synth", "--kind", "poisson", "--fit", dir + "/a.h5", "--seed", "1", "-o", dir + "/f.h5"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let target = try TraceDataset.read(dir + "/a.h5"), got = try TraceDataset.read(dir + "/f.h5")
        #expect(abs(got.meanRate - target.meanRate) / target.meanRate < 0.1)
    }

    @Test("quickstart generates the default when missing, splits it, trains, evaluates and exports a report")
    func quickstart() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["quickstart", "--dataset", dir + "/missing.h5", "--out", dir + "/run", "--steps", "2048",
                         "--env", packageRoot + "/envs/llm-zoo.toml", "--export", dir + "/report"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("quickstart: done"))
        #expect(files(dir + "/run") == ["default.h5", "heldout.h5", "rate.svg", "run", "run.safetensors", "train.h5"])
        #expect(r.stdout.contains("exported family policy") && r.stdout.contains("to \(dir)/run/run.safetensors"), "\(r.stdout)")
        #expect(try TraceDataset.read(dir + "/run/default.h5") == DefaultDataset.generate())
        #expect(files(dir + "/run/run").contains { $0.hasPrefix("ckpt-") })
        #expect(r.stdout.contains("ppo:run") && r.stdout.contains("oracle bound"))
        for f in ["policies.csv", "report.ipynb", "utility.svg", "crossover.svg"] { #expect(files(dir + "/report").contains(f)) }
        // A second quickstart replaces its own previous run rather than refusing.
        let again = try run(["quickstart", "--dataset", dir + "/run/default.h5", "--out", dir + "/run", "--steps", "1024",
                             "--env", packageRoot + "/envs/llm-zoo.toml", "--export", dir + "/report"])
        #expect(again.status == 0, "\(again.stderr)")
    }
}
