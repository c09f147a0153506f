import Foundation
import Testing
@testable import SwitchGymIO
@testable import SwitchGymData

/// Every column and attribute of a dataset is checked against its checksum on read.
@Suite("TraceDataset: damaged content is refused naming the entry")
struct TraceDatasetIntegrityTests {
    private let duration: Int64 = 0x0A0B_0C0D_0E0F
    private var trace: Trace {
        Trace(arrivals: [0, 5, 9], streamIDs: [0, 0, 0], tokensIn: [0x1234_5601, 0x1234_5602, 0x1234_5603],
              tokensOut: [0x4321_0001, 0x4321_0002, 0x4321_0003], streams: [TraceStream(name: "only", kind: "llm")],
              duration: duration, metadata: TraceMetadata(sourceFile: "x.csv", sourceFormat: "timestamps"))
    }

    private func scratch(_ name: String = #function) throws -> String {
        let dir = NSTemporaryDirectory() + "switchgym-dsi-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("one flipped byte in duration_us, tokens_in or tokens_out: TraceDataset.read names the file and entry",
          arguments: ["attribute duration_us", "dataset /tokens_in", "dataset /tokens_out"])
    func flipped(_ entry: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.h5"
        try TraceDataset.write(trace, to: path, compression: .none)
        let pattern: [UInt8]
        switch entry {
        case "attribute duration_us": pattern = withUnsafeBytes(of: duration) { Array($0) }
        case "dataset /tokens_in": pattern = trace.tokensIn!.withUnsafeBytes { Array($0) }
        default: pattern = trace.tokensOut!.withUnsafeBytes { Array($0) }
        }
        var bytes = try FileSystem.readAll(path)
        let hits = (0...(bytes.count - pattern.count)).filter { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
        try #require(hits.count == 1)
        bytes[hits[0] + 1] ^= 0x01
        try AtomicOutput.write(bytes: bytes, to: path)
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.kind == .checksum && e?.path == path && e?.location == entry, "\(String(describing: e))")
    }

    @Test("a version 1 dataset (before checksums) reads unverified, with a warning naming the file")
    func legacy() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/old.h5"
        try TraceDataset.write(trace, to: path, compression: .none)
        // The same content as version 1 writers stored it: no content_sha256.
        let src = try HDF5File.open(path: path)
        let w = try HDF5File.create(path: dir + "/v1.h5")
        w.pendingChecksums = nil
        try w.write("/arrivals", try src.read("/arrivals", as: Int64.self))
        try w.write("/stream_ids", try src.read("/stream_ids", as: UInt32.self))
        try w.createGroup("/streams")
        try w.writeStrings("/streams/name", ["only"])
        for k in ["format", "source_file", "source_sha256", "source_format", "created_at", "start_time", "parameters"] {
            try w.setAttribute(k, try src.stringAttribute(k))
        }
        try w.setAttribute("format_version", Int64(1))
        try w.setAttribute("duration_us", duration)
        try w.setAttribute("num_requests", Int64(3))
        try w.setAttribute("seed", UInt64(0))
        try w.close()
        var warnings: [String] = []
        let back = try TraceDataset.read(dir + "/v1.h5") { warnings.append($0) }
        #expect(back.arrivals == trace.arrivals && back.duration == duration)
        #expect(warnings.count == 1 && warnings[0].contains("v1.h5") && warnings[0].contains("predates content checksums"))
    }
}
