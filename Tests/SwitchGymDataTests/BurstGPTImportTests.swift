import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

@Suite("burstgpt importer: Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type")
struct BurstGPTImportTests {
    static let header = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"

    @Test("exact arrivals, tokens and one stream per Model/Log Type; failed requests kept and counted")
    func small() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("burstgpt_small.csv"),
                                             options: TraceImportOptions(createdAt: "x"))
        try t.validate()
        #expect(t.arrivals == [0, 40_000_000, 40_000_000, 113_250_000, 125_000_000])
        #expect(t.tokensIn == [472, 1087, 417, 200, 50])
        #expect(t.tokensOut == [18, 0, 276, 10, 60])
        #expect(t.streams == [TraceStream(name: "ChatGPT/Conversation log", kind: "llm"),
                              TraceStream(name: "GPT-4/API log", kind: "llm"),
                              TraceStream(name: "ChatGPT/API log", kind: "llm")])
        #expect(t.streamIDs == [0, 0, 1, 2, 1])
        #expect(t.duration == 125_000_001)
        #expect(t.metadata.sourceFormat == "burstgpt")
        #expect(t.metadata.parameters.contains("\"first_time_us\":5000000"))
        #expect(t.metadata.parameters.contains("\"zero_response_rows\":1"))
        #expect(t.metadata.parameters.contains("\"total_mismatch_rows\":1"))
    }

    @Test("detection: the exact header, and a header with one column misspelled")
    func detection() {
        #expect(TraceImporter.detectFormat(header: String(Self.header.dropLast())) == .burstGPT)
        #expect(TraceImporter.detectFormat(header: "Timestamp,Model,Request tokenz,Response tokens,Total tokens,Log Type")
            == .burstGPT)
        #expect(TraceImporter.detectFormat(header: "timestamp,Model") == .timestamps)
    }

    @Test("a misspelled column is reported by name, with the one it should be")
    func misspelled() throws {
        let path = ImportFixtures.path("burstgpt_misspelled.csv")
        let err = try #require(expectImportError { try TraceImporter.importFile(path) })
        #expect(err.line == 1)
        #expect(err.found == "unknown column \"Request tokenz\" (did you mean Request tokens?); no column Request tokens")
        #expect(err.description.hasPrefix("\(path):1: expected the burstgpt header Timestamp,Model,Request tokens,"
            + "Response tokens,Total tokens,Log Type, found unknown column \"Request tokenz\""))
    }

    @Test("missing and extra columns are reported by name", arguments: [
        ("Timestamp,Model,Request tokens,Response tokens,Total tokens\n5,ChatGPT,1,2,3\n", "no column Log Type"),
        ("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type,Session ID\n",
         "unknown column \"Session ID\""),
        ("Timestamp,Model,Response tokens,Request tokens,Total tokens,Log Type\n", "the columns in another order"),
    ])
    func headerProblems(text: String, found: String) throws {
        let err = try #require(expectImportError(text, name: "b.csv"))
        #expect(err.line == 1)
        #expect(err.found == found, "\(err)")
    }

    @Test("malformed rows name file, line and column", arguments: [
        (header + "5,ChatGPT,abc,18,490,Conversation log\n", 2, "Request tokens"),
        (header + "5,ChatGPT,1,2,3,Conversation log\nx,ChatGPT,1,2,3,API log\n", 3, "Timestamp"),
        (header + "5,ChatGPT,1,-2,3,Conversation log\n", 2, "Response tokens"),
        (header + "5,ChatGPT,1,2,3\n", 2, nil),
        (header + "5,,1,2,3,API log\n", 2, "Model"),
        (header + "9,ChatGPT,1,2,3,API log\n5,ChatGPT,1,2,3,API log\n", 3, "Timestamp"),
    ] as [(String, Int, String?)])
    func malformed(text: String, line: Int, column: String?) throws {
        let err = try #require(expectImportError(text, name: "b.csv"))
        #expect(err.path == "b.csv")
        #expect(err.line == line, "\(err)")
        #expect(err.column == column, "\(err)")
        #expect(err.description.hasPrefix("b.csv:\(line): "))
    }

    @Test("empty file and header-only file")
    func empty() throws {
        let err = try #require(expectImportError("", name: "b.csv", options: TraceImportOptions(format: .burstGPT)))
        #expect(err.description == "b.csv: expected a header line followed by data rows, found an empty file")
        let h = try #require(expectImportError(Self.header, name: "b.csv"))
        #expect(h.description == "b.csv: expected at least one data row after the header, found none")
    }
}
