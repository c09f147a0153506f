import Foundation
import Testing
import SwitchGymIO
@testable import SwitchGymData

/// A fresh folder for one test.
private func scratch(_ name: String = #function) throws -> String {
    let dir = NSTemporaryDirectory() + "switchgym-ds-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func sampleTrace(tokens: Bool = true) -> Trace {
    Trace(arrivals: [0, 5, 5, 1_000_000, 7_200_000_000 - 1], streamIDs: [0, 1, 0, 1, 1],
          tokensIn: tokens ? [10, 20, 30, 40, 50] : nil, tokensOut: tokens ? [1, 2, 3, 4, 5] : nil,
          streams: [TraceStream(name: "a/b/ƒ", kind: "http"), TraceStream(name: "second", kind: "timer")],
          duration: 7_200_000_000,
          metadata: TraceMetadata(sourceFile: "x.csv", sourceSHA256: String(repeating: "ab", count: 32),
                                  sourceFormat: "timestamps", createdAt: "2026-11-26T00:00:00Z",
                                  startTime: "2023-11-16T18:15:46.680590Z", seed: 42, parameters: #"{"k":1}"#))
}

@Suite("TraceDataset: the canonical HDF5 file")
struct TraceDatasetTests {
    @Test("write then read gives the same trace, with and without token columns, under every compression",
          arguments: [HDF5Compression.standard, .deflate(level: 6), .none])
    func roundTrip(compression: HDF5Compression) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        for tokens in [true, false] {
            let t = sampleTrace(tokens: tokens)
            try TraceDataset.write(t, to: dir + "/t.h5", compression: compression)
            #expect(try TraceDataset.read(dir + "/t.h5") == t)
            #expect(try TraceDataset.readArrivals(dir + "/t.h5") == t.arrivals)
        }
    }

    @Test("a large trace spans several chunks and reads back exactly")
    func multiChunk() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = TraceDataset.chunkElements * 2 + 17
        let arrivals = (0..<n).map { Int64($0) * 3 }
        let t = Trace(arrivals: arrivals, streamIDs: (0..<n).map { UInt32($0 % 3) },
                      streams: (0..<3).map { TraceStream(name: "s\($0)") }, duration: arrivals.last! + 1,
                      metadata: TraceMetadata(sourceFile: "synthetic", sourceFormat: "synthetic:test"))
        try TraceDataset.write(t, to: dir + "/big.h5")
        #expect(try TraceDataset.read(dir + "/big.h5") == t)
        #expect(try HDF5File.open(path: dir + "/big.h5").filters(of: "/arrivals").contains(32015))
    }

    @Test("an invalid trace is refused and nothing is written; an existing file is kept")
    func invalidNotWritten() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.h5"
        try TraceDataset.write(sampleTrace(), to: path)
        let before = try FileSystem.readAll(path)
        var bad = sampleTrace()
        bad.arrivals[3] = 1  // earlier than arrival 2
        #expect(throws: TraceError.self) { try TraceDataset.write(bad, to: path) }
        #expect(try FileSystem.readAll(path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["t.h5"])
    }

    @Test("an HDF5 file that is not a SwitchGym trace is rejected naming the file and the attribute")
    func notOurs() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/other.h5"
        let f = try HDF5File.create(path: path)
        try f.write("/data", [1.0, 2.0])
        try f.close()
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.kind == .format)
        #expect(e?.description.contains(path) == true)
        #expect(e?.description.contains("attribute format") == true)
    }

    @Test("a truncated dataset file is an error naming the file, never a crash or a short read",
          arguments: [0.25, 0.5, 0.9, 0.99])
    func truncated(fraction: Double) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 300_000
        let t = Trace(arrivals: (0..<n).map { Int64($0) * 11 }, streamIDs: Array(repeating: 0, count: n),
                      streams: [TraceStream(name: "s")], duration: Int64(n) * 11,
                      metadata: TraceMetadata(sourceFile: "synthetic", sourceFormat: "synthetic:test"))
        let path = dir + "/t.h5"
        try TraceDataset.write(t, to: path)
        let bytes = try FileSystem.readAll(path)
        try AtomicOutput.write(bytes: Array(bytes.prefix(Int(Double(bytes.count) * fraction))), to: path)
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.description.contains(path) == true)
    }

    @Test("columns of different lengths are rejected naming the dataset")
    func columnMismatch() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.h5"
        let good = dir + "/good.h5"
        try TraceDataset.write(sampleTrace(), to: good)
        // Rewrite the file with /stream_ids one element short.
        let src = try TraceDataset.read(good)
        let f = try HDF5File.create(path: path)
        try f.write("/arrivals", src.arrivals)
        try f.write("/stream_ids", Array(src.streamIDs.dropLast()))
        try f.createGroup("/streams")
        try f.writeStrings("/streams/name", src.streams.map(\.name))
        for (k, v) in [("format", TraceDataset.formatName), ("source_file", ""), ("source_sha256", ""),
                       ("source_format", "x"), ("created_at", ""), ("start_time", ""), ("parameters", "{}")] {
            try f.setAttribute(k, v)
        }
        try f.setAttribute("format_version", TraceDataset.formatVersion)
        try f.setAttribute("duration_us", src.duration)
        try f.setAttribute("num_requests", Int64(src.count))
        try f.setAttribute("seed", UInt64(0))
        try f.close()
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.kind == .format)
        #expect(e?.description.contains("dataset /stream_ids") == true)
        #expect(e?.description.contains("expected 5") == true)
    }

    @Test("a newer format version is refused with a hint")
    func version() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.h5"
        try TraceDataset.write(sampleTrace(), to: path)
        let f = try HDF5File.open(path: path, writable: true)
        try f.setAttribute("format_version", Int64(99))
        try f.close()
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.description.contains("version 99") == true)
        #expect(e?.hint != nil)
    }
}

@Suite("The committed default dataset")
struct DefaultDatasetTests {
    @Test("datasets/default.h5 is exactly what the built-in recipe generates")
    func regenerates() throws {
        let committed = try TraceDataset.read(ImportFixtures.packageRoot + "/" + DefaultDataset.relativePath)
        let fresh = try DefaultDataset.generate()
        #expect(committed.arrivals == fresh.arrivals)
        #expect(committed.streamIDs == fresh.streamIDs)
        #expect(committed.tokensIn == fresh.tokensIn && committed.tokensOut == fresh.tokensOut)
        #expect(committed == fresh, "regenerate with datasets/generate.sh and commit")
        #expect(fresh.count > 10_000 && fresh.streams.count == 4)
    }

    @Test("writing the default again gives the committed file byte for byte (no timestamps, no stray bytes)")
    func byteStable() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try TraceDataset.write(try DefaultDataset.generate(), to: dir + "/d.h5")
        let committed = try FileSystem.readAll(ImportFixtures.packageRoot + "/" + DefaultDataset.relativePath)
        #expect(try FileSystem.readAll(dir + "/d.h5") == committed, "regenerate with datasets/generate.sh and commit")
    }
}
