import Foundation
import Testing
import SwitchGymCore
import SwitchGymIO
@testable import SwitchGymAgents

/// A fresh temporary folder per test.
func makeRunDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("switchgym-agents-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func removeRunDirectory(_ url: URL) { try? FileManager.default.removeItem(at: url) }

func listNames(_ url: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
}

private func sampleState() -> StateDict {
    var s = StateDict()
    s.floats["policy/layer0/weight"] = [
        1.5, -0.0, 0.0, .infinity, -.infinity, .nan,
        Float(bitPattern: 0x7FC0_1234),  // quiet NaN with a payload
        Float(bitPattern: 0xFF80_0001),  // signalling NaN, sign bit set
        Float(bitPattern: 1),  // smallest subnormal
        .greatestFiniteMagnitude, Float.ulpOfOne,
    ]
    s.floats["policy/layer0/bias"] = []
    s.floats["value/head"] = (0..<1000).map { Float($0) * 0.001 - 0.3 }
    s.doubles["obs_rms/mean"] = [-0.0, .nan, Double(bitPattern: 0x7FF0_0000_0000_0ABC), -.infinity, .pi, .leastNonzeroMagnitude]
    s.doubles["schedule"] = []
    s.integers["rng"] = [UInt64.max, 0, 1 << 63, 0x0123_4567_89AB_CDEF]
    s.integers["counters/episodes"] = [42]
    s.strings["config"] = #"{"algo": "ppo", "lr": 0.00025, "name": "é✓ \"q\""}"#
    s.strings["meta/empty"] = ""
    return s
}

/// Equality by bit pattern (StateDict's `==` treats NaN != NaN).
private func expectBitEqual(_ a: StateDict, _ b: StateDict, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.keys == b.keys, sourceLocation: sourceLocation)
    for (k, v) in a.floats {
        #expect(v.map(\.bitPattern) == b.floats[k]?.map(\.bitPattern), "floats[\(k)]", sourceLocation: sourceLocation)
    }
    for (k, v) in a.doubles {
        #expect(v.map(\.bitPattern) == b.doubles[k]?.map(\.bitPattern), "doubles[\(k)]", sourceLocation: sourceLocation)
    }
    #expect(a.integers == b.integers, sourceLocation: sourceLocation)
    #expect(a.strings == b.strings, sourceLocation: sourceLocation)
}

@Suite("Checkpoints")
struct CheckpointTests {
    @Test("round trip keeps every bit: NaN payloads, infinities, -0, subnormals, empty arrays, UTF-8")
    func roundTrip() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let path = dir.appendingPathComponent("c.h5").path
        let state = sampleState()
        try CheckpointFile.write(state, step: 123_456, to: path, createdBy: "switchgym test")
        let back = try CheckpointFile.read(path)
        expectBitEqual(state, back.state)
        #expect(back.step == 123_456)
        #expect(back.createdBy == "switchgym test")

        // The layout other readers rely on.
        let f = try HDF5File.open(path: path)
        #expect(try f.stringAttribute("format") == "switchgym-checkpoint")
        #expect(try f.attribute("format_version", as: Int64.self) == 2)
        #expect(f.hasChecksums)
        #expect(try f.attribute("step", as: Int64.self) == 123_456)
        #expect(try f.elementType(of: "/policy/layer0/weight") == .float(bits: 32))
        #expect(try f.elementType(of: "/obs_rms/mean") == .float(bits: 64))
        #expect(try f.elementType(of: "/rng") == .unsignedInteger(bits: 64))
        #expect(try f.elementType(of: "/config") == .variableString)
        #expect(try f.children(of: "/policy").map(\.name) == ["layer0"])
    }

    @Test("the same state gives the same bytes")
    func deterministicBytes() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let a = dir.appendingPathComponent("a.h5").path, b = dir.appendingPathComponent("b.h5").path
        try CheckpointFile.write(sampleState(), step: 7, to: a)
        try CheckpointFile.write(sampleState(), step: 7, to: b)
        #expect(try FileSystem.readAll(a) == FileSystem.readAll(b))
    }

    @Test("keys that cannot be stored are rejected before anything is written")
    func badKeys() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let path = dir.appendingPathComponent("k.h5").path
        func rejects(_ edit: (inout StateDict) -> Void, _ fragment: String) {
            var s = StateDict()
            edit(&s)
            do {
                try CheckpointFile.write(s, step: 0, to: path)
                Issue.record("expected an error containing \(fragment)")
            } catch {
                #expect("\(error)".contains(fragment), "\(error)")
                #expect("\(error)".hasPrefix(path))
            }
        }
        rejects({ $0.floats["a"] = [1]; $0.floats["a/b"] = [2] }, "both a value and the group")
        rejects({ $0.floats["x"] = [1]; $0.doubles["x"] = [2] }, "more than one kind")
        rejects({ $0.floats["a//b"] = [1] }, "non-empty names")
        rejects({ $0.floats["/a"] = [1] }, "non-empty names")
        rejects({ $0.integers[""] = [1] }, "non-empty names")
        rejects({ $0.strings["s"] = "a\u{0}b" }, "NUL")
        #expect(listNames(dir).isEmpty)
    }

    @Test("the store keeps the newest keepLast checkpoints and never deletes the one just written")
    func keepLast() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let store = try CheckpointStore(directory: dir.appendingPathComponent("run"), keepLast: 3)
        #expect(store.latest() == nil)
        var s = StateDict()
        for step in [0, 100, 200, 300, 400, 500] {
            s.integers["step"] = [UInt64(step)]
            let url = try store.save(s, step: step)
            #expect(url.lastPathComponent == CheckpointStore.fileName(step: step))
        }
        #expect(CheckpointStore.fileName(step: 300) == "ckpt-0000000300.h5")
        #expect(listNames(store.directory) == ["ckpt-0000000300.h5", "ckpt-0000000400.h5", "ckpt-0000000500.h5"])
        #expect(store.latest()?.lastPathComponent == "ckpt-0000000500.h5")
        #expect(try store.load(store.latest()!).integers["step"] == [500])
        #expect(try store.loadCheckpoint(store.latest()!).step == 500)

        // Saving an earlier step (a resumed run) keeps it plus the newest keepLast-1 others.
        s.integers["step"] = [250]
        try store.save(s, step: 250)
        #expect(listNames(store.directory) == ["ckpt-0000000250.h5", "ckpt-0000000400.h5", "ckpt-0000000500.h5"])
        store.removeCheckpoints(after: 250)
        #expect(listNames(store.directory) == ["ckpt-0000000250.h5"])
        #expect(CheckpointStore.step(of: store.latest()!) == 250)

        // keepLast = 1 keeps only the new one; other files in the folder are ignored.
        try Data("x".utf8).write(to: store.directory.appendingPathComponent("ckpt-notes.h5"))
        let one = try CheckpointStore(directory: store.directory, keepLast: 1)
        try one.save(s, step: 600)
        #expect(listNames(store.directory) == ["ckpt-0000000600.h5", "ckpt-notes.h5"])
        #expect(throws: CheckpointError.self) { try CheckpointStore(directory: dir, keepLast: 0) }
    }

    @Test("a failed save leaves the existing checkpoints and no temporary files")
    func failedSave() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        let store = try CheckpointStore(directory: dir, keepLast: 1)
        var s = StateDict()
        s.floats["w"] = [1, 2, 3]
        let first = try store.save(s, step: 10)
        let before = try FileSystem.readAll(first.path)

        struct DiskFull: Error {}
        var changed = s
        changed.floats["w"] = [9, 9, 9]
        // Fails after the complete temporary file is written, just before the rename:
        // neither the same-step file nor (keepLast = 1) the older one may be touched.
        #expect(throws: DiskFull.self) { try store.save(changed, step: 10, beforeCommit: { _ in throw DiskFull() }) }
        #expect(throws: DiskFull.self) { try store.save(changed, step: 20, beforeCommit: { _ in throw DiskFull() }) }
        #expect(listNames(dir) == ["ckpt-0000000010.h5"])
        #expect(try FileSystem.readAll(first.path) == before)
        #expect(try store.load(first).floats["w"] == [1, 2, 3])

        // A bad state fails before writing.
        var bad = s
        bad.doubles["w"] = [1]
        #expect(throws: CheckpointError.self) { try store.save(bad, step: 30) }
        #expect(listNames(dir) == ["ckpt-0000000010.h5"])

        // A save killed before its rename leaves a temporary file; the next store removes it.
        let stale = dir.appendingPathComponent(".ckpt-0000000040.h5.tmp-123-456")
        try Data("partial".utf8).write(to: stale)
        _ = try CheckpointStore(directory: dir, keepLast: 1)
        #expect(listNames(dir) == ["ckpt-0000000010.h5"])

        // The folder disappeared (or is unwritable): the save throws.
        let gone = try CheckpointStore(directory: dir.appendingPathComponent("gone"), keepLast: 2)
        try FileManager.default.removeItem(at: gone.directory)
        #expect(throws: (any Error).self) { try gone.save(s, step: 1) }
    }

    @Test("loading errors name the file and say what is wrong")
    func badInputs() throws {
        let dir = try makeRunDirectory()
        defer { removeRunDirectory(dir) }
        func message(_ path: String) -> String {
            do {
                _ = try CheckpointFile.read(path)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }

        let missing = file("missing.h5")
        #expect(message(missing).hasPrefix(missing + ": no such checkpoint file"))

        let text = file("text.h5")
        try Data("step,tag,value\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(message(text).hasPrefix(text + ": not an HDF5 file"))

        let good = file("good.h5")
        try CheckpointFile.write(sampleState(), step: 5, to: good)
        let bytes = try FileSystem.readAll(good)
        let truncated = file("truncated.h5")
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: truncated))
        #expect(message(truncated).hasPrefix(truncated + ": cannot open the checkpoint: the file is truncated or damaged"),
                "\(message(truncated))")

        let foreign = file("foreign.h5")
        do {
            let f = try HDF5File.create(path: foreign)
            try f.write("/arrivals", [Int64(1), 2], compression: .none)
            try f.setAttribute("format", "switchgym-trace")
            try f.close()
        }
        #expect(message(foreign) == foreign + ": not a SwitchGym checkpoint: format is 'switchgym-trace', expected 'switchgym-checkpoint'")

        let noFormat = file("noformat.h5")
        do {
            let f = try HDF5File.create(path: noFormat)
            try f.write("/w", [Float(1)], compression: .none)
            try f.close()
        }
        #expect(message(noFormat).hasPrefix(noFormat + ": not a SwitchGym checkpoint: the root group has no 'format' attribute"))

        let future = file("future.h5")
        try CheckpointFile.write(sampleState(), step: 5, to: future)
        do {
            let f = try HDF5File.open(path: future, writable: true)
            try f.setAttribute("format_version", Int64(3))
            try f.close()
        }
        #expect(message(future).hasPrefix(future + ": checkpoint format_version is 3; this build reads versions 1 to 2"))

        let oddType = file("oddtype.h5")
        try CheckpointFile.write(sampleState(), step: 5, to: oddType)
        do {
            let f = try HDF5File.open(path: oddType, writable: true)
            try f.write("/policy/layer0/steps", [Int32(1)], compression: .none)
            try f.close()
        }
        #expect(message(oddType) == oddType + ": dataset /policy/layer0/steps has type int32; a checkpoint holds only "
                + "float32, float64, uint64 and variable-length string datasets")

        let manyStrings = file("strings.h5")
        try CheckpointFile.write(StateDict(), step: 5, to: manyStrings)
        do {
            let f = try HDF5File.open(path: manyStrings, writable: true)
            try f.writeStrings("/names", ["a", "b"])
            try f.close()
        }
        #expect(message(manyStrings) == manyStrings + ": dataset /names holds 2 strings, expected exactly 1")
    }
}
