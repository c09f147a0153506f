import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

@Suite("trace importers: happy paths")
struct TraceImporterHappyPathTests {
    static let options = TraceImportOptions(createdAt: "2026-01-01T00:00:00Z")

    /// The values of Fixtures/import/llm_small.csv, computed by hand: t = 0 is
    /// 18:15:46.680590; the 7th fraction digit is truncated.
    static func checkLLMSmall(_ t: Trace) throws {
        try t.validate()
        #expect(t.arrivals == [0, 0, 319_411, 20_653_319_409, 20_653_319_411])
        #expect(t.tokensIn == [4808, 100, 3180, 0, 5])
        #expect(t.tokensOut == [10, 1, 8, 0, 6])
        #expect(t.streamIDs == [0, 0, 0, 0, 0])
        #expect(t.streams == [TraceStream(name: "llm", kind: "llm")])
        #expect(t.duration == 20_653_319_412)
        #expect(t.metadata.startTime == "2023-11-16T18:15:46.680590Z")
        #expect(t.metadata.sourceFormat == "azure-llm")
        #expect(t.metadata.createdAt == "2026-01-01T00:00:00Z")
        #expect(t.metadata.seed == 0)
    }

    @Test("azure-llm: exact microsecond arrivals, tokens and metadata")
    func azureLLM() throws {
        let path = ImportFixtures.path("llm_small.csv")
        let t = try TraceImporter.importFile(path, options: Self.options)
        try Self.checkLLMSmall(t)
        #expect(t.metadata.sourceFile == "llm_small.csv")
        #expect(t.metadata.sourceSHA256 == SHA256.hex(of: try FileSystem.readAll(path)))
    }

    @Test("azure-llm accepts the 2024 trace: the same columns, timestamps with a UTC offset (applied)")
    func azureLLM2024() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("llm2024_small.csv"), options: Self.options)
        try t.validate()
        // 00:00:00.009930, 00:00:01 and 02:00:02.5+02:00 = 00:00:02.5 UTC.
        #expect(t.arrivals == [0, 990_070, 2_490_070])
        #expect(t.tokensIn == [4808, 100, 3180])
        #expect(t.tokensOut == [10, 1, 8])
        #expect(t.streams == [TraceStream(name: "llm", kind: "llm")])
        #expect(t.duration == 2_490_071)
        #expect(t.metadata.startTime == "2024-05-10T00:00:00.009930Z")
        #expect(t.metadata.sourceFormat == "azure-llm")
    }

    @Test("UTC offsets in ISO times", arguments: [
        ("2024-05-10 00:00:00+00:00", 0), ("2024-05-10T02:30:00+02:30", 0), ("2024-05-09 22:00:00.25-0200", 250_000),
        ("2024-05-10 01:00:00+01", 0), ("2024-05-10 00:00:00.5Z", 500_000),
    ] as [(String, Int64)])
    func utcOffsets(text: String, micros: Int64) {
        let base = daysFromCivil(year: 2024, month: 5, day: 10) * 86_400_000_000
        var cache = DateCache()
        let bytes = Array(text.utf8)
        let v = bytes.withUnsafeBufferPointer { parseDateTime($0.baseAddress!, 0, $0.count, cache: &cache) }
        #expect(v == base + micros)
    }

    @Test("malformed UTC offsets are rejected", arguments: [
        "2024-05-10 00:00:00+0", "2024-05-10 00:00:00+24:00", "2024-05-10 00:00:00+00:60", "2024-05-10 00:00:00.+00:00",
        "2024-05-10 00:00:00 +00:00", "2024-05-10 00:00:00+0:000",
    ])
    func badOffsets(text: String) {
        var cache = DateCache()
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBufferPointer { parseDateTime($0.baseAddress!, 0, $0.count, cache: &cache) } == nil)
    }

    @Test("azure-llm: CRLF line ends and no final newline read the same")
    func azureLLMCRLF() throws {
        let lf = try FileSystem.readAll(ImportFixtures.path("llm_small.csv"))
        var crlf = [UInt8]()
        for b in lf { if b == 0x0A { crlf.append(0x0D) }; crlf.append(b) }
        try Self.checkLLMSmall(try TraceImporter.importBytes(crlf, name: "crlf.csv", options: Self.options))
        var trimmed = lf
        while trimmed.last == 0x0A { trimmed.removeLast() }
        try Self.checkLLMSmall(try TraceImporter.importBytes(trimmed, name: "trimmed.csv", options: Self.options))
    }

    @Test("zstd and gzip files are detected by magic bytes and give the same trace",
          arguments: ["llm_small.csv.zst", "llm_small.csv.gz"])
    func compressed(name: String) throws {
        let path = ImportFixtures.path(name)
        let t = try TraceImporter.importFile(path, options: Self.options)
        try Self.checkLLMSmall(t)
        #expect(t.metadata.sourceFile == name)
        // The digest is of the bytes on disk, not of the decompressed text.
        #expect(t.metadata.sourceSHA256 == SHA256.hex(of: try FileSystem.readAll(path)))
        // Renamed without the extension: still detected.
        let bytes = try FileSystem.readAll(path)
        try Self.checkLLMSmall(try TraceImporter.importBytes(bytes, name: "noext", options: Self.options))
    }

    @Test("in-memory compression round trip via Zstd.compress and GzipDecompressor.compress")
    func compressedInMemory() throws {
        let plain = try FileSystem.readAll(ImportFixtures.path("llm_small.csv"))
        let zst = try plain.withUnsafeBytes { try Zstd.compress($0) }
        try Self.checkLLMSmall(try TraceImporter.importBytes(zst, name: "a", options: Self.options))
        let gz = try GzipDecompressor.compress(plain)
        try Self.checkLLMSmall(try TraceImporter.importBytes(gz, name: "b", options: Self.options))
    }

    @Test("azure-functions: counts become arrivals within their minutes")
    func azureFunctions() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("functions_small.csv"),
                                             options: TraceImportOptions(seed: 7, createdAt: "x"))
        try t.validate()
        #expect(t.count == 6)
        #expect(t.duration == 180_000_000)
        #expect(t.streams == [TraceStream(name: "o1/a1/f1", kind: "http"), TraceStream(name: "o2/a2/f2", kind: "timer")])
        #expect(t.metadata.seed == 7)
        #expect(t.metadata.startTime == "")
        #expect(t.metadata.parameters.contains("\"first_minute\":10"))
        #expect(t.metadata.parameters.contains("\"minutes\":3"))
        var counts = [[Int]](repeating: [0, 0, 0], count: 2)
        for (a, s) in zip(t.arrivals, t.streamIDs) { counts[Int(s)][Int(a / 60_000_000)] += 1 }
        #expect(counts == [[3, 0, 2], [0, 1, 0]])
        #expect(t.tokensIn == nil && t.tokensOut == nil)
    }

    @Test("timestamps: numeric seconds with streams and tokens")
    func timestampsNumeric() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("timestamps_small.csv"), options: Self.options)
        try t.validate()
        #expect(t.arrivals == [0, 0, 500_001, 1_500_000])
        #expect(t.streamIDs == [0, 1, 0, 2])
        #expect(t.streams.map(\.name) == ["a", "b", "c"])
        #expect(t.tokensIn == [10, 11, 12, 13])
        #expect(t.tokensOut == [20, 21, 22, 23])
        #expect(t.duration == 1_500_001)
        #expect(t.metadata.sourceFormat == "timestamps")
        #expect(t.metadata.startTime == "")
        #expect(t.metadata.parameters.contains("\"time_unit\":\"s\""))
        #expect(t.metadata.parameters.contains("\"first_time_us\":1500000"))
    }

    @Test("timestamps: ISO 8601 times, CRLF, leap day")
    func timestampsISO() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("timestamps_iso.csv"), options: Self.options)
        try t.validate()
        #expect(t.arrivals == [0, 500_000, 43_200_000_000])
        #expect(t.metadata.startTime == "2024-02-29T12:00:00Z")
        #expect(t.streams == [TraceStream(name: "default", kind: "")])
        #expect(t.tokensIn == nil)
    }

    @Test("timestamps: a header-less column of numbers, in milliseconds")
    func timestampsHeaderless() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("timestamps_headerless.csv"),
                                             options: TraceImportOptions(timeUnit: .milliseconds, createdAt: "x"))
        #expect(t.arrivals == [0, 250_000, 1_000_000])
        let us = try TraceImporter.importFile(ImportFixtures.path("timestamps_headerless.csv"),
                                              options: TraceImportOptions(format: .timestamps, timeUnit: .microseconds))
        #expect(us.arrivals == [0, 250, 1000])
    }

    @Test("format detection from the header line")
    func detection() {
        #expect(TraceImporter.detectFormat(header: "TIMESTAMP,ContextTokens,GeneratedTokens") == .azureLLM)
        #expect(TraceImporter.detectFormat(header: "TIMESTAMP,ContextTokens,GeneratedTokens\r\n") == .azureLLM)
        #expect(TraceImporter.detectFormat(header: "HashOwner,HashApp,HashFunction,Trigger,1,2") == .azureFunctions)
        #expect(TraceImporter.detectFormat(header: "stream,Time") == .timestamps)
        #expect(TraceImporter.detectFormat(header: "arrival") == .timestamps)
        #expect(TraceImporter.detectFormat(header: "12.5") == .timestamps)
        #expect(TraceImporter.detectFormat(header: "foo,bar") == nil)
        #expect(TraceImporter.detectFormat(header: "") == nil)
    }

    @Test("sorting: --sort orders rows stably and keeps tokens with their rows")
    func sortFixesUnsorted() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("unsorted.csv"),
                                             options: TraceImportOptions(sort: true, createdAt: "x"))
        try t.validate()
        #expect(t.arrivals == [0, 1_000_000, 2_000_000, 2_000_000])
        #expect(t.tokensIn == [1, 5, 3, 7])
        #expect(t.tokensOut == [2, 6, 4, 8])
        #expect(t.metadata.parameters.contains("\"sorted\":true"))
    }

    @Test("an imported trace survives the HDF5 dataset round trip")
    func datasetRoundTrip() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("timestamps_small.csv"), options: Self.options)
        let dir = NSTemporaryDirectory() + "switchgym-import-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TraceDataset.write(t, to: dir + "/t.h5")
        #expect(try TraceDataset.read(dir + "/t.h5") == t)
    }

    @Test("SyntheticCSV.azureLLM writes the Azure format and imports row for row")
    func synthetic() throws {
        let csv = SyntheticCSV.azureLLM(rows: 2_000, seed: 3)
        #expect(csv == SyntheticCSV.azureLLM(rows: 2_000, seed: 3))
        let text = String(decoding: csv, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2_001)
        #expect(lines[0] == "TIMESTAMP,ContextTokens,GeneratedTokens")
        #expect(lines[1].hasPrefix("2023-11-16 18:17:03.9799600,"))
        let t = try TraceImporter.importBytes(csv, name: "synthetic.csv", options: Self.options)
        try t.validate()
        #expect(t.count == 2_000)
        #expect(t.tokensIn!.allSatisfy { $0 >= 1 && $0 <= 8192 })
        // Mean rate in the neighbourhood of the real trace's 2.57 req/s.
        #expect(t.meanRate > 1 && t.meanRate < 10)
    }
}
