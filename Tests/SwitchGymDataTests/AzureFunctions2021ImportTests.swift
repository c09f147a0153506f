import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

@Suite("azure-functions-2021 importer: app,func,end_timestamp,duration")
struct AzureFunctions2021ImportTests {
    @Test("arrival = end - duration, sorted stably; one stream per app/func in order of first appearance")
    func small() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("functions2021_small.csv"),
                                             options: TraceImportOptions(createdAt: "x"))
        try t.validate()
        // Arrivals 0.25, 0.1, 1.15, 0.5, 2.5 s; sorted from the earliest, 0.1 s.
        #expect(t.arrivals == [0, 150_000, 400_000, 1_050_000, 2_400_000])
        #expect(t.streamIDs == [1, 0, 0, 2, 0])
        #expect(t.streams == [TraceStream(name: "a1/f1"), TraceStream(name: "a1/f2"), TraceStream(name: "a2/f1")])
        #expect(t.tokensIn == nil && t.tokensOut == nil)
        #expect(t.duration == 2_400_001)
        #expect(t.metadata.sourceFormat == "azure-functions-2021")
        #expect(t.metadata.parameters.contains("\"first_time_us\":100000"))
        #expect(t.metadata.parameters.contains("\"sorted\":true"))
    }

    @Test("ties keep file order")
    func ties() throws {
        let text = "app,func,end_timestamp,duration\nb,g,2,1\na,f,1,0\n"
        let t = try TraceImporter.importBytes(Array(text.utf8), name: "f.csv")
        #expect(t.arrivals == [0, 0])
        #expect(t.streams.map(\.name) == ["b/g", "a/f"])
        #expect(t.streamIDs == [0, 1])
        #expect(t.metadata.parameters.contains("\"sorted\":false"))
    }

    @Test("detection: the exact header, and one with a misspelled column")
    func detection() {
        #expect(TraceImporter.detectFormat(header: "app,func,end_timestamp,duration") == .azureFunctions2021)
        #expect(TraceImporter.detectFormat(header: "app,func,end_timestmp,duration") == .azureFunctions2021)
    }

    @Test("a negative duration names file, line and column")
    func badDuration() throws {
        let path = ImportFixtures.path("functions2021_bad_duration.csv")
        let err = try #require(expectImportError { try TraceImporter.importFile(path) })
        #expect(err.description == "\(path):3: column duration: expected a non-negative number of seconds, found \"-0.5\"")
    }

    @Test("header problems are reported by column name", arguments: [
        ("app,func,end_timestamp\na,f,1\n", "no column duration"),
        ("app,func,end_timestmp,duration\na,f,1,0\n", "unknown column \"end_timestmp\" (did you mean end_timestamp?); "
            + "no column end_timestamp"),
        ("app,func,end_timestamp,duration,trigger\na,f,1,0,http\n", "unknown column \"trigger\""),
    ])
    func header(text: String, found: String) throws {
        let err = try #require(expectImportError(text, name: "f.csv"))
        #expect(err.line == 1)
        #expect(err.found == found, "\(err)")
        #expect(err.description.hasPrefix("f.csv:1: expected the azure-functions-2021 header app,func,end_timestamp,duration"))
    }

    @Test("malformed rows", arguments: [
        ("app,func,end_timestamp,duration\na,f,1,0\na,f,x,0\n", 3, "end_timestamp"),
        ("app,func,end_timestamp,duration\na,f,1\n", 2, nil),
        ("app,func,end_timestamp,duration\na,f,1,0\n\na,f,2,0\n", 3, nil),
    ] as [(String, Int, String?)])
    func malformed(text: String, line: Int, column: String?) throws {
        let err = try #require(expectImportError(text, name: "f.csv"))
        #expect(err.line == line, "\(err)")
        #expect(err.column == column, "\(err)")
        #expect(err.description.hasPrefix("f.csv:\(line): "))
    }

    @Test("empty and header-only files")
    func empty() throws {
        let err = try #require(expectImportError("", name: "f.csv", options: TraceImportOptions(format: .azureFunctions2021)))
        #expect(err.description == "f.csv: expected a header line followed by data rows, found an empty file")
        let h = try #require(expectImportError("app,func,end_timestamp,duration\n", name: "f.csv"))
        #expect(h.description == "f.csv: expected at least one data row after the header, found none")
    }
}
