// libFuzzer harnesses for the readers above the trace layer (built by Scripts/fuzz.sh
// spec|config|checkpoint|dataset|policy-swift; one binary, the harness picked by the
// SWITCHGYM_FUZZ environment variable, which fuzz.sh sets). Each input is either refused with
// a thrown error or accepted; a trap, a sanitizer report or an out-of-memory is a finding.
//   spec          ScenarioSpec.parse on the input as TOML text, then, for a spec that parses,
//                 the interval tables for a one-day trace and three steps of its fluid env
//   config        AgentConfig.decode (PPO or DQN, serving defaults or not, by the first byte)
//                 on the rest as JSON, then validate
//   checkpoint    CheckpointFile.read and FrozenPolicy.load on the input written to a file
//                 (seeds are checkpoints written by switchgym train, so mutations are HDF5 files
//                 we made, then damaged)
//   dataset       structured: the input describes a trace dataset that our own HDF5 writer
//                 writes, valid checksums included (as h5py could write one): column lengths,
//                 values, element types, attributes (extreme values included), which entries
//                 exist; then TraceDataset.read, so mutations reach the checks after the checksums
//   policy-swift  PolicyFile.decode on the input after re-sealing its sha256 (data section +
//                 policy document), so mutations reach the document, tensor table and self-test
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymData
import SwitchGymEnvs
import SwitchGymIO

private let target = String(cString: getenv("SWITCHGYM_FUZZ") ?? strdup("spec"))
private let scratchPath: String = {
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(dir)/switchgym-deepfuzz-\(getpid())"
}()

private func writeScratch(_ data: UnsafePointer<UInt8>, _ size: Int, suffix: String) -> String {
    let path = scratchPath + suffix
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    if size > 0 { _ = fwrite(data, 1, size, f) }
    fclose(f)
    return path
}

/// Reads values off the input; past its end every value is 0.
private struct Cursor {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    mutating func u8() -> UInt8 { guard i < b.count else { return 0 }; defer { i += 1 }; return b[i] }
    mutating func raw64() -> UInt64 { var v: UInt64 = 0; for _ in 0..<8 { v = v << 8 | UInt64(u8()) }; return v }
    /// An integer: often one at or past a boundary, else raw bytes.
    mutating func int64() -> Int64 {
        let edges: [Int64] = [0, 1, -1, 2, 5, 9, 10, 1000, 1 << 31, 1 << 32, 1 << 40, 1 << 62, .max, .min,
                              366 * 86_400 * 1_000_000, 366 * 86_400 * 1_000_000 + 1, Int64(Int32.max), Int64(Int32.min)]
        let k = u8()
        return k < 160 ? edges[Int(k) % edges.count] : Int64(bitPattern: raw64())
    }
    mutating func string() -> String {
        let n = Int(u8() % 24)
        return String(decoding: (0..<n).map { _ in u8() }, as: UTF8.self)
    }
}

private func fuzzDataset(_ data: UnsafePointer<UInt8>, _ size: Int) {
    var c = Cursor(b: UnsafeBufferPointer(start: data, count: size))
    let flags = c.raw64()
    func flag(_ k: Int) -> Bool { flags >> UInt64(k) & 1 == 1 }
    let path = scratchPath + ".h5"
    do {
        let w = try HDF5File.create(path: path)
        let n = Int(c.u8() % 12)
        func length() -> Int { flag(10) ? Int(c.u8() % 14) : n }
        var t: Int64 = 0
        let arrivals: [Int64] = (0..<length()).map { _ in
            t = flag(11) ? c.int64() : t &+ Int64(c.u8()); return t
        }
        if flag(0) { try w.write("/arrivals", arrivals.map { Int32(truncatingIfNeeded: $0) }) } else { try w.write("/arrivals", arrivals) }
        let streams = flag(1) ? Int(c.u8() % 4) : 1
        let ids: [UInt32] = (0..<length()).map { _ in flag(12) ? UInt32(truncatingIfNeeded: c.int64()) : UInt32(c.u8() % 4) }
        if !flag(2) { try w.write("/stream_ids", ids) }
        for (k, name) in [(3, "/tokens_in"), (4, "/tokens_out")] where flag(k) {
            let v: [Int32] = (0..<length()).map { _ in Int32(truncatingIfNeeded: c.int64()) }
            if flag(13) { try w.write(name, v.map(Double.init)) } else { try w.write(name, v) }
        }
        if !flag(5) {
            try w.createGroup("/streams")
            try w.writeStrings("/streams/name", (0..<streams).map { _ in c.string() })
            if !flag(6) { try w.writeStrings("/streams/kind", (0..<(flag(14) ? Int(c.u8() % 4) : streams)).map { _ in c.string() }) }
        }
        try w.setAttribute("format", flag(7) ? c.string() : TraceDataset.formatName)
        for k in ["source_file", "source_sha256", "source_format", "created_at", "start_time", "parameters"] where !flag(15) {
            try w.setAttribute(k, c.string())
        }
        try w.setAttribute("format_version", flag(8) ? c.int64() : TraceDataset.formatVersion)
        try w.setAttribute("duration_us", flag(9) ? c.int64() : t &+ 1)
        try w.setAttribute("num_requests", flag(16) ? c.int64() : Int64(arrivals.count))
        if flag(17) { try w.setAttribute("seed", Int32(truncatingIfNeeded: c.int64())) } else { try w.setAttribute("seed", UInt64(c.u8())) }
        try w.close()
    } catch {
        fatalError("the harness could not write its dataset: \(error)")
    }
    if let trace = try? TraceDataset.read(path, warn: { _ in }) {
        do { try trace.validate() } catch { fatalError("TraceDataset.read returned an invalid trace: \(error)") }
    }
}

private func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let sc = try? ScenarioSpec.parse(text, file: "fuzz.toml", baseDirectory: "/nonexistent") else { return }
    guard (try? sc.checkIntervalTables(duration: 86_400_000_000, trace: "a day")) != nil else { return }
    let counts = [Double](repeating: 3, count: 4 * sc.streams.count)
    guard var env = try? FluidServingEnv(scenario: sc, arrivals: ScenarioArrivals(intervals: 4, streams: sc.streams.count, counts: counts))
    else { return }
    guard (try? env.reset(seed: 1)) != nil else { return }
    for _ in 0..<3 {
        let action = (0..<sc.fleet.count).map { d in sc.variants.indices.first { sc.fleet[d].canHold(sc.variants[$0]) } ?? 0 }
        guard let r = try? env.step(action) else { return }
        if !r.reward.isFinite { fatalError("non-finite reward \(r.reward) from an accepted spec:\n\(text)") }
        if r.terminated || r.truncated { return }
    }
}

private func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) {
    guard size > 0 else { return }
    let json = Data(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let base = AgentConfig.defaults(data[0] & 1 == 0 ? .ppo : .dqn, serving: data[0] & 2 == 0)
    _ = try? AgentConfig.decode(json, over: base, source: "fuzz.json")
}

private func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let path = writeScratch(data, size, suffix: ".h5")
    _ = try? CheckpointFile.read(path, warn: { _ in })
    _ = try? FrozenPolicy.load(path: path)
}

private func fuzzPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Re-seal: sha256 = SHA-256(data section ++ policy document), written into __metadata__.
    if size >= 8 {
        var n = 0
        for i in (0..<8).reversed() { n = n << 8 | Int(bytes[i]) }
        if n >= 2, n <= size - 8,
           var header = (try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)]))) as? [String: Any],
           var meta = header["__metadata__"] as? [String: Any], let policy = meta["policy"] as? String {
            let body = Array(bytes[(8 + n)...])
            meta["sha256"] = SHA256.hex(of: body + Array(policy.utf8))
            header["__metadata__"] = meta
            if let h = try? JSONSerialization.data(withJSONObject: header) {
                var out = [UInt8](repeating: 0, count: 8)
                for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: h.count >> (8 * i)) }
                bytes = out + Array(h) + body
            }
        }
    }
    guard let file = try? PolicyFile.decode(bytes, source: "fuzz.safetensors") else { return }
    // An accepted file acts on its own golden cases through the checked entry point.
    guard let bound = try? file.bind() else { fatalError("decode accepted a policy that does not bind") }
    let dim = file.document.observation.dimension, width = file.document.action.maskWidth
    _ = try? bound.decide(observation: Array(file.golden.observations[0..<dim]), mask: Array(file.golden.masks[0..<width].map { $0 != 0 }))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    switch target {
    case "spec": fuzzSpec(data, size)
    case "config": fuzzConfig(data, size)
    case "checkpoint": fuzzCheckpoint(data, size)
    case "dataset": fuzzDataset(data, size)
    case "policy-swift": fuzzPolicy(data, size)
    default: fatalError("SWITCHGYM_FUZZ=\(target): expected spec, config, checkpoint, dataset or policy-swift")
    }
    return 0
}
