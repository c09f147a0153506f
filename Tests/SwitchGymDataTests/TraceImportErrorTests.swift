import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

@Suite("trace importers: bad input gives errors naming file, line and expectation")
struct TraceImportErrorTests {
    func importing(_ name: String, _ options: TraceImportOptions = .init()) -> (String, TraceImportError?) {
        let path = ImportFixtures.path(name)
        return (path, expectImportError { try TraceImporter.importFile(path, options: options) })
    }

    @Test("wrong column count")
    func columnCount() throws {
        let (path, e) = importing("bad_columns.csv")
        let err = try #require(e)
        #expect(err.path == path)
        #expect(err.line == 3)
        #expect(err.expected.contains("3 columns"))
        #expect(err.found == "2 columns")
        #expect(err.description.hasPrefix("\(path):3: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 2 columns"))
    }

    @Test("unparsable timestamp")
    func badTimestamp() throws {
        let (path, e) = importing("bad_timestamp.csv")
        let err = try #require(e)
        #expect(err.line == 3)
        #expect(err.column == "TIMESTAMP")
        #expect(err.found == "\"2023-13-16 18:15:47.0000000\"")
        #expect(err.description == "\(path):3: column TIMESTAMP: expected a timestamp YYYY-MM-DD HH:MM:SS[.fffffff][+HH:MM], "
            + "found \"2023-13-16 18:15:47.0000000\"")
    }

    @Test("negative invocation count names the minute column")
    func negativeCount() throws {
        let (path, e) = importing("bad_negative_count.csv")
        let err = try #require(e)
        #expect(err.path == path)
        #expect(err.line == 3)
        #expect(err.column == "11")
        #expect(err.expected.hasPrefix("a non-negative integer invocation count"))
        #expect(err.found == "\"-1\"")
        #expect(err.description.contains("\(path):3: column 11: expected a non-negative integer"))
    }

    @Test("negative token count")
    func negativeTokens() throws {
        let (path, e) = importing("bad_negative_tokens.csv")
        let err = try #require(e)
        #expect(err.line == 2)
        #expect(err.column == "ContextTokens")
        #expect(err.found == "\"-5\"")
        #expect(err.description.hasPrefix("\(path):2: column ContextTokens: expected a non-negative integer token count"))
    }

    @Test("a time earlier than the previous row is an error unless sorting")
    func nonMonotonic() throws {
        let (path, e) = importing("unsorted.csv")
        let err = try #require(e)
        #expect(err.line == 4)
        #expect(err.column == "TIMESTAMP")
        #expect(err.expected.hasPrefix("a time at or after the previous row's"))
        #expect(err.hint?.contains("--sort") == true)
        #expect(err.description.hasPrefix("\(path):4: column TIMESTAMP: expected a time at or after"))
        #expect(err.description.contains("\n  hint: "))
    }

    @Test("empty file and header-only file")
    func empty() throws {
        let (path, e) = importing("empty.csv")
        let err = try #require(e)
        #expect(err.path == path)
        #expect(err.description == "\(path): expected a header line followed by data rows, found an empty file")
        let (path2, e2) = importing("header_only.csv")
        let err2 = try #require(e2)
        #expect(err2.description == "\(path2): expected at least one data row after the header, found none")
    }

    @Test("unknown header lists the formats and suggests --format")
    func unknownHeader() throws {
        let (path, e) = importing("unknown_header.csv")
        let err = try #require(e)
        #expect(err.line == 1)
        #expect(err.found == "\"foo,bar\"")
        for f in TraceFormat.allCases { #expect(err.expected.contains(f.rawValue)) }
        #expect(err.hint?.contains("--format") == true)
        #expect(err.description.hasPrefix("\(path):1: expected the header of a known format"))
    }

    @Test("an explicit format whose header does not match")
    func wrongExplicitFormat() throws {
        let (path, e) = importing("functions_small.csv", TraceImportOptions(format: .azureLLM))
        let err = try #require(e)
        #expect(err.line == 1)
        #expect(err.description.hasPrefix("\(path):1: expected the azure-llm header TIMESTAMP,ContextTokens,GeneratedTokens"))
    }

    @Test("an azure-llm header with a misspelled column is reported by name, not read as timestamps")
    func misspelledAzureLLMColumn() throws {
        let text = "TIMESTAMP,ContextTokens,GeneratedTokenz\n2023-11-16 18:15:46,1,2\n"
        #expect(TraceImporter.detectFormat(header: "TIMESTAMP,ContextTokens,GeneratedTokenz") == .azureLLM)
        let err = try #require(expectImportError(text, name: "llm.csv"))
        #expect(err.description.hasPrefix("llm.csv:1: expected the azure-llm header TIMESTAMP,ContextTokens,GeneratedTokens, "
            + "found unknown column \"GeneratedTokenz\" (did you mean GeneratedTokens?); no column GeneratedTokens"))
    }

    @Test("truncated compressed files give an error naming the file",
          arguments: ["llm_truncated.csv.zst", "llm_truncated.csv.gz"])
    func truncated(name: String) throws {
        let path = ImportFixtures.path(name)
        do {
            _ = try TraceImporter.importFile(path)
            Issue.record("expected an error for \(name)")
        } catch let e as SwitchGymIOError {
            #expect(e.path == path)
            #expect(e.kind == .truncated || e.kind == .zstd || e.kind == .zlib)
            #expect(e.description.contains(path))
        }
    }

    @Test("truncated in-memory streams at many cut points never yield a trace")
    func truncatedAnywhere() throws {
        let plain = try FileSystem.readAll(ImportFixtures.path("llm_small.csv"))
        let zst = try plain.withUnsafeBytes { try Zstd.compress($0) }
        let gz = try GzipDecompressor.compress(plain)
        for data in [zst, gz] {
            for cut in stride(from: 4, to: data.count, by: 9) {
                #expect(throws: (any Error).self) {
                    _ = try TraceImporter.importBytes(Array(data[0..<cut]), name: "cut.bin")
                }
            }
        }
    }

    @Test("more requests than maxRequests is an error")
    func tooMany() throws {
        let (path, e) = importing("llm_small.csv", TraceImportOptions(maxRequests: 2))
        let err = try #require(e)
        #expect(err.path == path)
        #expect(err.line == 4)
        #expect(err.expected == "at most 2 requests")
        let (_, e2) = importing("functions_small.csv", TraceImportOptions(maxRequests: 5))
        #expect(try #require(e2).line == 3)
    }

    @Test("other malformed inputs", arguments: [
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,2,3\n", 2, "3 columns"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,x\n", 2, "GeneratedTokens"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,99999999999\n", 2, "at most 2147483647"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-02-29 18:15:46,1,2\n", 2, "TIMESTAMP"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 24:00:00,1,2\n", 2, "TIMESTAMP"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\n\n2023-11-16 18:15:47,1,2\n", 3, "a data row"),
        ("HashOwner,HashApp,HashFunction,Trigger,10,12\no,a,f,http,1,2\n", 1, "minute 11"),
        ("HashOwner,HashApp,HashFunction,Trigger,10,11\no,a,f,http,1\n", 2, "6 columns"),
        ("HashOwner,HashApp,HashFunction,Trigger,10,11\no,a,f,http,1,1.5\n", 2, "invocation count"),
        ("HashOwner,HashApp,HashFunction,Trigger,x\no,a,f,http,1\n", 1, "integer minute"),
        ("timestamp,stream\n1,a\n2\n", 3, "2 columns"),
        ("timestamp\n1\n2023-01-01 00:00:00\n", 3, "like line 2"),
        ("timestamp\n1\nabc\n", 3, "a number of seconds"),
        ("time,tokens_in\n1,-4\n", 2, "token count"),
        ("timestamp\n2\n1\n", 3, "at or after"),
    ] as [(String, Int, String)])
    func malformed(text: String, line: Int, expected: String) throws {
        let err = try #require(expectImportError {
            try TraceImporter.importBytes(Array(text.utf8), name: "inline.csv")
        })
        #expect(err.path == "inline.csv")
        #expect(err.line == line)
        #expect(err.description.contains(expected), "\(err)")
    }
}
