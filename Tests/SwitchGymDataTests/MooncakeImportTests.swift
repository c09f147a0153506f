import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

@Suite("mooncake importer: JSON lines of timestamp, input_length, output_length, hash_ids")
struct MooncakeImportTests {
    static let options = TraceImportOptions(createdAt: "x")

    @Test("exact arrivals (ms from the first line), tokens, one stream; keys in any order")
    func small() throws {
        let path = ImportFixtures.path("mooncake_small.jsonl")
        let t = try TraceImporter.importFile(path, options: Self.options)
        try t.validate()
        #expect(t.arrivals == [0, 0, 27_482_000, 30_000_500, 61_000_000])
        #expect(t.tokensIn == [6955, 6472, 100, 0, 1024])
        #expect(t.tokensOut == [52, 26, 0, 9, 1])
        #expect(t.streamIDs == [0, 0, 0, 0, 0])
        #expect(t.streams == [TraceStream(name: "mooncake", kind: "llm")])
        #expect(t.duration == 61_000_001)
        #expect(t.metadata.sourceFormat == "mooncake")
        #expect(t.metadata.sourceFile == "mooncake_small.jsonl")
        #expect(t.metadata.parameters.contains("\"first_time_us\":1000000"))
        #expect(t.metadata.parameters.contains("\"hash_ids_total\":31"))
    }

    @Test("detected from a first line starting with {")
    func detection() {
        #expect(TraceImporter.detectFormat(header: "{\"timestamp\": 0}") == .mooncake)
        #expect(TraceImporter.detectFormat(header: "  {") == .mooncake)
    }

    @Test("a misspelled key is reported by name, with file and line")
    func misspelledKey() throws {
        let path = ImportFixtures.path("mooncake_bad_key.jsonl")
        let err = try #require(expectImportError { try TraceImporter.importFile(path) })
        #expect(err.line == 2)
        #expect(err.column == "input_lenght")
        #expect(err.found == "unknown key \"input_lenght\"")
        #expect(err.description.hasPrefix("\(path):2: column input_lenght: expected one of the keys timestamp, "
            + "input_length, output_length, hash_ids, found unknown key \"input_lenght\""))
    }

    @Test("bad lines", arguments: [
        ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2}\n", 1, "hash_ids", "no key hash_ids"),
        ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": [], \"extra\": 1}\n", 1, "extra",
         "unknown key \"extra\""),
        ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": []}\n"
            + "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": -3, \"hash_ids\": []}\n", 2, "output_length",
         "\"-3"),
        ("{\"timestamp\": \"x\", \"input_length\": 1, \"output_length\": 2, \"hash_ids\": []}\n", 1, "timestamp",
         "\"\\\"x\\\","),
        ("{\"timestamp\": 0, \"timestamp\": 1, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": []}\n", 1,
         "timestamp", "it twice"),
        ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": [1, x]}\n", 1, "hash_ids",
         "\"x]}\""),
        ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": [1]} {}\n", 1, nil, "\"{}\""),
        ("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": [1]\n", 1, nil,
         "the end of the line"),
        ("{\"timestamp\": 9, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": []}\n"
            + "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": []}\n", 2, "timestamp", "\"5\""),
    ] as [(String, Int, String?, String)])
    func badLines(text: String, line: Int, column: String?, found: String) throws {
        let err = try #require(expectImportError(text, name: "m.jsonl"))
        #expect(err.path == "m.jsonl")
        #expect(err.line == line, "\(err)")
        #expect(err.column == column, "\(err)")
        #expect(err.found?.hasPrefix(found) == true, "\(err)")
        #expect(err.description.hasPrefix("m.jsonl:\(line): "))
    }

    @Test("--sort orders lines stably, keeping tokens with their lines")
    func sorted() throws {
        let text = "{\"timestamp\": 9, \"input_length\": 1, \"output_length\": 2, \"hash_ids\": []}\n"
            + "{\"timestamp\": 5, \"input_length\": 3, \"output_length\": 4, \"hash_ids\": []}\n"
        let t = try TraceImporter.importBytes(Array(text.utf8), name: "m", options: TraceImportOptions(sort: true))
        #expect(t.arrivals == [0, 4_000])
        #expect(t.tokensIn == [3, 1])
        #expect(t.tokensOut == [4, 2])
    }

    @Test("an empty file and a file of blank lines")
    func empty() throws {
        let err = try #require(expectImportError("", name: "m.jsonl", options: TraceImportOptions(format: .mooncake)))
        #expect(err.description == "m.jsonl: expected a header line followed by data rows, found an empty file")
        let blank = try #require(expectImportError("\n\n", name: "m.jsonl", options: TraceImportOptions(format: .mooncake)))
        #expect(blank.description == "m.jsonl: expected a header line followed by data rows, found an empty file")
    }
}
