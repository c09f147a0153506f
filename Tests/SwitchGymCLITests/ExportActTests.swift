import Foundation
import Testing
import SwitchGymIO
#if canImport(Glibc)
import Glibc
#endif

/// `switchgym export` and `switchgym act`: a trained run becomes a policy file, and `act` on
/// the file (not the checkpoint) reproduces its golden cases; bad files and bad input are
/// refused with the file, line and reason.
@Suite("switchgym export and act", .serialized)
struct ExportActTests {
    /// Lines of comma-separated values, `width` per row.
    func csv<T>(_ values: [T], width: Int) -> String {
        stride(from: 0, to: values.count, by: width).map { i in values[i..<(i + width)].map { "\($0)" }.joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }

    @Test("train, export, act: the file's golden cases come back from act; eval uses the recorded normalisation and runs the file itself")
    func exportAndAct() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = packageRoot + "/envs/vision-zoo.toml"
        let t = try run(["train", "--env", spec, "--steps", "4096", "--out", dir + "/run", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let e = try run(["export", dir + "/run", "--format", "safetensors", "-o", dir + "/p.safetensors"])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("exported family policy") && !e.stderr.contains("predates"), "\(e.stdout)\(e.stderr)")
        // The ONNX form of the same checkpoint (onnxruntime runs it in Scripts/check_onnx.py).
        let o = try run(["export", dir + "/run", "--format", "onnx", "-o", dir + "/p.onnx"])
        #expect(o.status == 0, "\(o.stderr)")
        let onnx = String(decoding: try FileSystem.readAll(dir + "/p.onnx"), as: UTF8.self)
        #expect(onnx.contains("switchgym.policy") && onnx.contains("observation") && onnx.contains("TopK"))
        let file = try SafetensorsFile.decode(try FileSystem.readAll(dir + "/p.safetensors"), source: "p")
        let obs = try #require(file.tensors["golden.observation"]), mask = try #require(file.tensors["golden.mask"])
        let actions = try #require(file.tensors["golden.action"])
        try write(csv(obs.floats, width: obs.shape[1]), dir + "/obs.csv")
        try write(csv(mask.bytes, width: mask.shape[1]), dir + "/mask.csv")
        let a = try run(["act", dir + "/p.safetensors", "--input", dir + "/obs.csv", "--mask", dir + "/mask.csv"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout == csv(actions.int32s, width: actions.shape[1]))
        #expect(a.stderr.contains("batch-1 latency p50"))
        // Without masks every value is allowed: one line per observation still.
        let free = try run(["act", dir + "/p.safetensors", "--input", dir + "/obs.csv"])
        #expect(free.status == 0 && free.stdout.split(separator: "\n").count == obs.shape[0], "\(free.stderr)")
        // eval of the run scales the observation with the checkpoint's own normalisation: no note.
        let ev = try run(["eval", dir + "/run", "--env", spec, "--baselines", "none"])
        #expect(ev.status == 0 && !ev.stderr.contains("predates"), "\(ev.stderr)")

        // Bad input to act: a short line, a stray value, a mask that allows nothing, a damaged file.
        try write("1,2,3\n", dir + "/short.csv")
        let short = try run(["act", dir + "/p.safetensors", "--input", dir + "/short.csv"])
        #expect(short.status == 65 && short.stderr.contains("short.csv:1: 3 fields; the policy's observation has \(obs.shape[1])"), "\(short.stderr)")
        let firstLine = String(try String(contentsOfFile: dir + "/obs.csv", encoding: .utf8).split(separator: "\n")[0])
        try write(firstLine + "\n" + firstLine.replacingOccurrences(of: ",", with: ",x", options: [], range: firstLine.range(of: ",")) + "\n", dir + "/stray.csv")
        let stray = try run(["act", dir + "/p.safetensors", "--input", dir + "/stray.csv"])
        #expect(stray.status == 65 && stray.stderr.contains("stray.csv:2: field 2"), "\(stray.stderr)")
        try write(csv([UInt8](repeating: 0, count: mask.shape[1]), width: mask.shape[1]), dir + "/none.csv")
        try write(firstLine + "\n", dir + "/one.csv")
        let none = try run(["act", dir + "/p.safetensors", "--input", dir + "/one.csv", "--mask", dir + "/none.csv"])
        #expect(none.status == 65 && none.stderr.contains("none.csv:1: the mask allows no value of action component 0"), "\(none.stderr)")
        // Masks and observations are read in step: a count that differs is named either way.
        try write(csv(mask.bytes, width: mask.shape[1]) + csv(mask.bytes, width: mask.shape[1]), dir + "/more.csv")
        let more = try run(["act", dir + "/p.safetensors", "--input", dir + "/obs.csv", "--mask", dir + "/more.csv"])
        #expect(more.status == 65 && more.stderr.contains("more.csv: more mask lines than the \(obs.shape[0]) observation lines"), "\(more.stderr)")
        try write(csv(Array(mask.bytes.prefix(mask.shape[1])), width: mask.shape[1]), dir + "/fewer.csv")
        let fewer = try run(["act", dir + "/p.safetensors", "--input", dir + "/obs.csv", "--mask", dir + "/fewer.csv"])
        #expect(fewer.status == 65 && fewer.stderr.contains("fewer.csv: 1 mask lines for more observation lines"), "\(fewer.stderr)")
        // A device that never ends a line: refused at line 1, not read into memory.
        let zero = try run(["act", dir + "/p.safetensors", "--input", "/dev/zero"])
        #expect(zero.status == 65 && zero.stderr.contains("/dev/zero:1: expected a line of at most 1048576 bytes"), "\(zero.stderr)")
        // A stream of observations through a FIFO: every line acted on, memory flat.
        let fifo = dir + "/obs.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let lines = 200_000
        let writer = Thread {
            guard let h = FileHandle(forWritingAtPath: fifo) else { return }
            let chunk = Data(String(repeating: firstLine + "\n", count: 1000).utf8)
            for _ in 0..<(lines / 1000) { h.write(chunk) }
            try? h.close()
        }
        writer.start()
        let streamed = try runMeasured(["act", dir + "/p.safetensors", "--input", fifo], scratch: dir)
        #expect(streamed.status == 0 && streamed.stderr.contains("acted on \(lines) observations"), "\(streamed.stderr)")
        #expect(streamed.peakRSSBytes < 96 << 20, "act on \(lines) lines from a FIFO: peak RSS \(streamed.peakRSSBytes >> 20) MiB")
        var bytes = try FileSystem.readAll(dir + "/p.safetensors")
        bytes[bytes.count - 10] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/bad.safetensors"))
        let bad = try run(["act", dir + "/bad.safetensors", "--input", dir + "/obs.csv"])
        #expect(bad.status == 65 && bad.stderr.contains("checksum mismatch") && bad.stdout.isEmpty, "\(bad.stderr)")

        // eval runs the policy file itself, with its own beam width: the beam-8 file (export's
        // default) decides as the checkpoint does, bit for bit; a greedy copy runs too. A
        // damaged file is refused, and export refuses a policy file as its input.
        func utilities(_ paths: [String]) throws -> [Double] {
            let r = try run(["eval"] + paths + ["--env", spec, "--baselines", "none", "--json"])
            // The spec the files were exported from: no other-scenario note.
            #expect(r.status == 0 && !r.stderr.contains("was exported for"), "\(r.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let policies = try #require(object["policies"] as? [[String: Any]])
            return policies.compactMap { $0["utility"] as? Double }
        }
        let g = try run(["export", dir + "/run", "--beam-width", "1", "-o", dir + "/greedy.safetensors"])
        #expect(g.status == 0, "\(g.stderr)")
        let u = try utilities([dir + "/run", dir + "/p.safetensors", dir + "/greedy.safetensors"])
        #expect(u.count == 3 && u[0] == u[1] && u[2].isFinite, "\(u)")
        // Another scenario (here only its name differs, so the layouts fit): it runs, with a note.
        try write("extends = \"\(spec)\"\nname = \"vision-zoo-copy\"\n[trace]\ndataset = \"\(packageRoot)/datasets/default.h5\"\n", dir + "/copy.toml")
        let other = try run(["eval", dir + "/p.safetensors", "--env", dir + "/copy.toml", "--baselines", "none"])
        #expect(other.status == 0 && other.stderr.contains("was exported for scenario 'vision-zoo'")
                && other.stderr.contains("not for 'vision-zoo-copy'"), "\(other.stderr)")
        let evalBad = try run(["eval", dir + "/bad.safetensors", "--env", spec, "--baselines", "none"])
        #expect(evalBad.status == 65 && evalBad.stderr.contains("checksum mismatch"), "\(evalBad.stderr)")
        // A file past the 1 GiB bound (sparse here) is refused before it is read.
        #expect(FileManager.default.createFile(atPath: dir + "/huge.safetensors", contents: nil))
        let huge = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/huge.safetensors"))
        try huge.truncate(atOffset: (1 << 30) + 1)
        try huge.close()
        let tooBig = try run(["act", dir + "/huge.safetensors", "--input", dir + "/obs.csv"])
        #expect(tooBig.status == 65 && tooBig.stderr.contains("larger than 1073741824 bytes"), "\(tooBig.stderr)")
        let again = try run(["export", dir + "/p.safetensors", "-o", dir + "/q.safetensors"])
        #expect(again.status == 64 && again.stderr.contains("is a policy file already"), "\(again.stderr)")
    }

    @Test("export refuses to overwrite its checkpoint, and needs --env without a run folder's config.json")
    func exportRefusals() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try run(["train", "--env", "CartPole-v1", "--steps", "1024", "--out", dir + "/run", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let ckpt = try #require(files(dir + "/run").first { $0.hasPrefix("ckpt-") })
        let before = try FileSystem.readAll(dir + "/run/" + ckpt)
        let onto = try run(["export", dir + "/run/" + ckpt, "-o", dir + "/run/" + ckpt])
        let after = try FileSystem.readAll(dir + "/run/" + ckpt)
        #expect(onto.status == 64 && after == before, "\(onto.stderr)")
        try FileManager.default.createDirectory(atPath: dir + "/lone", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/run/" + ckpt, toPath: dir + "/lone/" + ckpt)
        let lone = try run(["export", dir + "/lone/" + ckpt, "-o", dir + "/x.safetensors"])
        #expect(lone.status == 64 && lone.stderr.contains("give --env"), "\(lone.stderr)")
        let ok = try run(["export", dir + "/lone/" + ckpt, "--env", "CartPole-v1", "-o", dir + "/x.safetensors"])
        #expect(ok.status == 0 && ok.stdout.contains("exported mlp policy"), "\(ok.stderr)")
    }

    @Test("kill -9 of export at random moments never leaves a half-written policy file")
    func killedExportLeavesNoPartialFile() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(#"{"net_arch": [256, 256]}"#, dir + "/c.json")
        let t = try run(["train", "--env", "CartPole-v1", "--steps", "2048", "--config", dir + "/c.json", "--out", dir + "/run", "--quiet"])
        #expect(t.status == 0, "\(t.stderr)")
        let out = dir + "/p.safetensors"
        let first = try run(["export", dir + "/run", "--golden", "2000", "-o", out])
        #expect(first.status == 0, "\(first.stderr)")
        try write("0.1,0.2,0.3,0.4\n", dir + "/obs.csv")
        var killed = 0
        for i in 0..<16 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary())
            p.arguments = ["export", dir + "/run", "--golden", "2000", "--seed", "\(i)", "-o", out]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(i * 12_000))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); killed += 1 }
            p.waitUntilExit()
            // Whatever the moment, the file at -o is a complete, valid policy (the old or the new one).
            let a = try run(["act", out, "--input", dir + "/obs.csv"])
            #expect(a.status == 0, "after a kill at \(i * 12) ms: \(a.stderr)")
            // A killed export can leave only its hidden temporary file, never a partial file under the name.
            let others = files(dir).filter { !["c.json", "obs.csv", "p.safetensors", "run"].contains($0) }
            #expect(others.allSatisfy { $0.hasPrefix(".p.safetensors.tmp-") }, "\(others)")
        }
        #expect(killed >= 4, "only \(killed) of 16 exports were killed before they finished")
    }
}
