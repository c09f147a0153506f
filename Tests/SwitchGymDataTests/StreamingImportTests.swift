import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO
#if canImport(Glibc)
import Glibc
#endif

/// Issue 13, "streaming import": every source is parsed as it is read, through a fixed
/// window, so a pipe, a FIFO or a device imports exactly as the same bytes in a regular file
/// does, and an endless source ends at the row cap (`maxRequests`) instead of filling memory.
@Suite("Streaming import: FIFOs equal files, endless sources end at the row cap", .serialized)
struct StreamingImportTests {
    private func scratch(_ name: String = #function) throws -> String {
        let dir = NSTemporaryDirectory() + "switchgym-stream-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A FIFO at `path` whose writer thread sends `first`, then `chunk` `times` times (forever when nil),
    /// stopping quietly when the reader closes (EPIPE: SIGPIPE is ignored).
    static func feedFIFO(_ path: String, chunk: [UInt8], times: Int?, first: [UInt8] = []) throws -> Thread {
        guard mkfifo(path, 0o600) == 0 else { throw CocoaError(.fileWriteUnknown) }
        signal(SIGPIPE, SIG_IGN)
        let writer = Thread {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var sent = 0
            if !first.isEmpty && first.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress!, $0.count) }) != first.count { return }
            chunk.withUnsafeBytes { b in
                while times.map({ sent < $0 }) ?? true {
                    var off = 0
                    while off < b.count {
                        let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                        if n < 0 && errno == EINTR { continue }
                        if n <= 0 { return }
                        off += n
                    }
                    sent += 1
                }
            }
        }
        writer.start()
        return writer
    }

    /// Imports `bytes` from a regular file, from a FIFO and from memory, and expects the
    /// same trace (metadata and source digest included) from all three.
    func expectSameEverywhere(_ bytes: [UInt8], name: String, options: TraceImportOptions) throws -> Trace {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/" + name
        try AtomicOutput.write(bytes: bytes, to: file)
        let fromFile = try TraceImporter.importFile(file, options: options)
        _ = try Self.feedFIFO(dir + "/fifo", chunk: bytes, times: 1)
        var fromFIFO = try TraceImporter.importFile(dir + "/fifo", options: options)
        var fromMemory = try TraceImporter.importBytes(bytes, name: file, options: options)
        #expect(fromFIFO.metadata.sourceFile == "fifo")
        fromFIFO.metadata.sourceFile = fromFile.metadata.sourceFile
        fromMemory.metadata.sourceFile = fromFile.metadata.sourceFile
        #expect(fromFIFO == fromFile, "\(name): the FIFO import differs from the file import")
        #expect(fromMemory == fromFile, "\(name): the in-memory import differs from the file import")
        var h = SHA256()
        h.update(bytes)
        #expect(fromFile.metadata.sourceSHA256 == h.finalizeHex())
        return fromFile
    }

    @Test("azure-llm, plain, zstd and gzip, several windows long: FIFO == file == memory")
    func llmThroughFIFO() throws {
        let csv = SyntheticCSV.azureLLM(rows: 100_000, seed: 7)  // ~3.5 MB: the 2 MiB window moves
        #expect(csv.count > 3 << 20)
        let options = TraceImportOptions(createdAt: "2026-01-01T00:00:00Z")
        let plain = try expectSameEverywhere(csv, name: "llm.csv", options: options)
        #expect(plain.count == 100_000)
        let zst = try csv.withUnsafeBytes { try Zstd.compress($0) }
        #expect(try expectSameEverywhere(zst, name: "llm.csv.zst", options: options).arrivals == plain.arrivals)
        let gz = try GzipDecompressor.compress(csv)
        #expect(try expectSameEverywhere(gz, name: "llm.csv.gz", options: options).tokensOut == plain.tokensOut)
    }

    @Test("timestamps and burstgpt with streams whose last-row cache spans window moves: FIFO == file")
    func streamsAcrossWindows() throws {
        // Rows alternate between runs of streams, so the cached previous stream name is
        // compared across the window's moves (its offsets are stale after one).
        var ts = "timestamp,stream,tokens_in\n"
        var burst = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        for i in 0..<120_000 {
            let stream = ["alpha", "beta", "alphb", "gamma-long-name"][(i / 7) % 4]
            ts += "\(i),\(stream),\(i % 97)\n"
            burst += "\(i).5,\(stream),\(i % 50),\(i % 9),\(i % 50 + i % 9),Conversation log\n"
        }
        let options = TraceImportOptions(createdAt: "2026-01-01T00:00:00Z")
        let t = try expectSameEverywhere(Array(ts.utf8), name: "t.csv", options: options)
        #expect(t.streams.map(\.name) == ["alpha", "beta", "alphb", "gamma-long-name"])
        #expect(t.streamIDs.enumerated().allSatisfy { Int($0.element) == ($0.offset / 7) % 4 })
        let b = try expectSameEverywhere(Array(burst.utf8), name: "b.csv", options: options)
        #expect(b.streamIDs.enumerated().allSatisfy { Int($0.element) == ($0.offset / 7) % 4 })
    }

    @Test("an endless FIFO of rows ends at the row cap, naming the limit and --max-requests")
    func endlessFIFO() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.feedFIFO(dir + "/fifo", chunk: Array(String(repeating: "0\n", count: 4096).utf8), times: nil)
        let e = expectImportError { try TraceImporter.importFile(dir + "/fifo", options: TraceImportOptions(maxRequests: 200_000)) }
        #expect(e?.path == dir + "/fifo" && e?.expected == "at most 200000 requests"
                && e?.hint?.contains("--max-requests") == true, "\(String(describing: e))")
    }

    @Test("an endless FIFO of blank lines (`yes ''`), alone or after data rows, ends past maxLineBytes blank bytes",
          .timeLimit(.minutes(1)))
    func endlessBlankFIFO() throws {
        let blanks = Array(String(repeating: "\n", count: 4096).utf8)
        for (i, lead) in ["", "timestamp\n1\n2\n"].enumerated() {
            let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/fifo\(i)"
            _ = try Self.feedFIFO(path, chunk: blanks, times: nil, first: Array(lead.utf8))
            let e = expectImportError { try TraceImporter.importFile(path, options: TraceImportOptions(maxLineBytes: 4096)) }
            #expect(e?.path == path && e?.expected.contains("bytes of blank lines at the end") == true, "\(String(describing: e))")
        }
        // A blank tail that ends is still ignored.
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.feedFIFO(dir + "/fifo", chunk: blanks, times: 1, first: Array("timestamp\n1\n2\n".utf8))
        #expect(try TraceImporter.importFile(dir + "/fifo", options: TraceImportOptions(maxLineBytes: 4096)).count == 2)
    }

    @Test("a line longer than maxLineBytes ends a FIFO import at that line; a line of exactly the cap passes")
    func lineCapOnFIFO() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let long = "timestamp\n1\n2\n" + String(repeating: "9", count: 3 << 20) + "\n"
        _ = try Self.feedFIFO(dir + "/fifo", chunk: Array(long.utf8), times: 1)
        let e = expectImportError { try TraceImporter.importFile(dir + "/fifo") }
        #expect(e?.line == 4 && e?.expected.contains("at most \(1 << 20) bytes") == true, "\(String(describing: e))")
        let exact = "timestamp\n1." + String(repeating: "0", count: 62) + "\n"  // 64 bytes
        #expect(try TraceImporter.importBytes(Array(exact.utf8), name: "x", options: TraceImportOptions(maxLineBytes: 64)).count == 1)
        let over = expectImportError(exact, options: TraceImportOptions(maxLineBytes: 63))
        #expect(over?.line == 2, "\(String(describing: over))")
    }

    @Test("a gzip stream cut short is .truncated, not a parse error of its last partial line")
    func truncatedCompressedStream() throws {
        let gz = try GzipDecompressor.compress(SyntheticCSV.azureLLM(rows: 20_000, seed: 1))
        let cut = Array(gz[..<(gz.count / 2)])
        do {
            _ = try TraceImporter.importBytes(cut, name: "cut.csv.gz")
            Issue.record("a truncated gzip stream imported")
        } catch let e as SwitchGymIOError {
            #expect(e.kind == .truncated && e.path == "cut.csv.gz", "\(e)")
        }
    }
}

/// The stream table is bounded too: stream names come from the source, and an azure-functions
/// row adds a stream even when it adds no request.
@Suite("Streaming import: the stream table is capped by maxStreamBytes")
struct StreamTableBoundTests {
    @Test("zero-count azure-functions rows from a FIFO end at maxStreamBytes, naming it")
    func endlessFunctionRows() throws {
        let dir = NSTemporaryDirectory() + "switchgym-streamtable-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let row = "owner,app,function-with-a-long-name-\(String(repeating: "x", count: 100)),http,0,0\n"
        let header = "HashOwner,HashApp,HashFunction,Trigger,1,2\n"
        _ = try StreamingImportTests.feedFIFO(dir + "/fifo", chunk: Array((header + String(repeating: row, count: 1000)).utf8), times: 1)
        // About 390 bytes of stream table a row: the limit falls near row 256.
        let options = TraceImportOptions(maxStreamBytes: 100_000)
        let e = expectImportError { try TraceImporter.importFile(dir + "/fifo", options: options) }
        #expect(e?.expected.contains("at most 100000 bytes (TraceImportOptions.maxStreamBytes)") == true
                && (e?.line ?? 0) > 100 && (e?.line ?? .max) < 1000, "\(String(describing: e))")
        // Within the limit the same rows import (as streams without requests, then one that has one).
        let ok = header + String(repeating: row, count: 10) + "o,a,f,http,1,0\n"
        #expect(try TraceImporter.importBytes(Array(ok.utf8), name: "f.csv").streams.count == 11)
    }
}
