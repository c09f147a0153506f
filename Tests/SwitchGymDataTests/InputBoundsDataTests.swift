import Foundation
import Testing
@testable import SwitchGymIO
@testable import SwitchGymData

/// Issue 13, cases 5 and 7: a dataset's sizes are checked before anything is allocated, and
/// an import reads any source with bounded memory.
@Suite("Dataset and import bounds: extreme values are refused before allocating")
struct InputBoundsDataTests {
    private func scratch(_ name: String = #function) throws -> String {
        let dir = NSTemporaryDirectory() + "switchgym-bounds-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A structurally valid dataset with valid checksums (as h5py could write one) whose
    /// attributes say `duration_us` and `num_requests`.
    static func writeDataset(_ path: String, duration: Int64, numRequests: Int64 = 3,
                             tokens: [String: [Int32]] = [:]) throws {
        let w = try HDF5File.create(path: path)
        try w.write("/arrivals", [Int64(0), 5, 9])
        try w.write("/stream_ids", [UInt32(0), 0, 0])
        for (name, values) in tokens.sorted(by: { $0.key < $1.key }) { try w.write(name, values) }
        try w.createGroup("/streams")
        try w.writeStrings("/streams/name", ["only"])
        try w.writeStrings("/streams/kind", [""])
        try w.setAttribute("format", TraceDataset.formatName)
        for k in ["source_file", "source_sha256", "source_format", "created_at", "start_time", "parameters"] { try w.setAttribute(k, "") }
        try w.setAttribute("format_version", TraceDataset.formatVersion)
        try w.setAttribute("duration_us", duration)
        try w.setAttribute("num_requests", numRequests)
        try w.setAttribute("seed", UInt64(0))
        try w.close()
    }

    @Test("case 5: duration_us = 2^62 or num_requests out of range: read names the file and the attribute",
          arguments: [("duration_us", Int64(1) << 62, Int64(3)), ("duration_us", Int64(0), Int64(3)),
                      ("num_requests", Int64(1000), Int64(1) << 40)])
    func extremeAttributes(_ attribute: String, _ duration: Int64, _ requests: Int64) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.h5"
        try Self.writeDataset(path, duration: duration, numRequests: requests)
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.path == path && e?.location == "attribute \(attribute)" && e?.summary.contains("expected an integer in") == true,
                "\(String(describing: e))")
    }

    @Test("case 3: a dataset with a negative token count (valid checksums) is refused naming the file and the dataset",
          arguments: ["/tokens_in", "/tokens_out"])
    func negativeTokens(_ column: String) throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.h5"
        try Self.writeDataset(path, duration: 1000, tokens: ["/tokens_in": [1, 2, 3], "/tokens_out": [4, 5, 6]]
            .merging([column: [7, -5, 8]]) { $1 })
        let e = #expect(throws: SwitchGymIOError.self) { try TraceDataset.read(path) }
        #expect(e?.path == path && e?.location == "dataset \(column)" && e?.description.contains("-5 tokens") == true,
                "\(String(describing: e))")
        // The in-memory invariant says the same.
        try Self.writeDataset(dir + "/ok.h5", duration: 1000, tokens: ["/tokens_in": [1, 2, 3], "/tokens_out": [4, 5, 6]])
        var t = try TraceDataset.read(dir + "/ok.h5")
        try t.validate()
        t.tokensOut = [1, -1, 1]
        #expect(throws: TraceError.self) { try t.validate() }
    }

    @Test("the same file with a sane duration reads")
    func saneAttributes() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeDataset(dir + "/x.h5", duration: 1000)
        #expect(try TraceDataset.read(dir + "/x.h5").count == 3)
    }

    @Test("case 7: /dev/zero ends at its first line, which is over maxLineBytes, without reading on")
    func devZero() throws {
        let e = #expect(throws: TraceImportError.self) { _ = try TraceImporter.importFile("/dev/zero") }
        #expect(e?.path == "/dev/zero" && e?.line == 1 && e?.expected.contains("at most \(1 << 20) bytes") == true, "\(String(describing: e))")
    }

    @Test("case 7: a source over maxRequests is refused, a FIFO is read once; a long line in a regular file too")
    func caps() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let rows = "timestamp\n" + (0..<2000).map { "\($0)\n" }.joined()
        let path = dir + "/t.csv"
        try AtomicOutput.write(text: rows, to: path)
        // Through a FIFO: the row cap.
        let small = TraceImportOptions(maxRequests: 1000)
        let fifo = dir + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        // The reader stops at the cap and closes while the writer may still write: the writer
        // must see EPIPE (an error it ignores), not die of SIGPIPE or trap.
        signal(SIGPIPE, SIG_IGN)
        let writer = Thread { if let h = FileHandle(forWritingAtPath: fifo) { try? h.write(contentsOf: rows.data(using: .utf8)!); try? h.close() } }
        writer.start()
        let e = #expect(throws: TraceImportError.self) { _ = try TraceImporter.importFile(fifo, options: small) }
        #expect(e?.expected == "at most 1000 requests" && e?.line == 1002, "\(String(describing: e))")
        // A FIFO is opened once: all of what its writer sends is read (opening it a second
        // time, after the writer left, used to wait forever).
        let fifo2 = dir + "/pipe2"
        #expect(mkfifo(fifo2, 0o600) == 0)
        let writer2 = Thread { if let h = FileHandle(forWritingAtPath: fifo2) { try? h.write(contentsOf: rows.data(using: .utf8)!); try? h.close() } }
        writer2.start()
        #expect(try TraceImporter.importFile(fifo2).count == 2000)
        // A mapped file: the line cap.
        let e2 = #expect(throws: TraceImportError.self) {
            _ = try TraceImporter.importFile(path, options: TraceImportOptions(maxLineBytes: 8))
        }
        #expect(e2?.line == 1 && e2?.path == path, "\(String(describing: e2))")
        #expect(try TraceImporter.importFile(path).count == 2000)
    }
}
