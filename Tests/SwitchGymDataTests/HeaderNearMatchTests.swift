import Foundation
import Synchronization
import Testing
@testable import SwitchGymData

/// Issue 13, case 9: a header one slip away from a known format (case, spaces, `_`/`-`, a
/// stray carriage return, one edit) is an error naming the column, the expected column and
/// the format; a `timestamps` file's extra columns are listed in a warning, never dropped silently.
@Suite("Trace headers that almost match a known format")
struct HeaderNearMatchTests {
    @Test("a header one slip away from a fixed format is checked as that format and the slip named", arguments: [
        ("timestamp,contexttokens,generatedtokens", TraceFormat.azureLLM, "ContextTokens"),
        ("TIMESTAMP, Context Tokens ,GeneratedTokens", .azureLLM, "ContextTokens"),
        ("TIMESTAMP,ContextTokens\r,GeneratedTokens", .azureLLM, "ContextTokens"),
        ("TIMESTAMP,Context_Tokens,Generated-Tokens", .azureLLM, "GeneratedTokens"),
        // Each name is one slip away, and one of them is a timestamps time column: once read as
        // `timestamps`, dropping both token columns.
        ("timestamp,context_tokens,generated_tokens", .azureLLM, "GeneratedTokens"),
        ("TIMESTAMP,ContextTokens,GeneratedToken", .azureLLM, "GeneratedTokens"),
        ("Timestamp,Model,Request_tokens,Response tokens,Total tokens,Log Type", .burstGPT, "Request tokens"),
        ("app,func,end-timestamp,duration", .azureFunctions2021, "end_timestamp"),
    ])
    func nearFixedHeader(_ header: String, _ format: TraceFormat, _ column: String) throws {
        #expect(TraceImporter.detectFormat(header: header) == format)
        let err = try #require(expectImportError(header + "\n2023-11-16 18:15:46,1,2\n", name: "x.csv"))
        #expect(err.line == 1 && err.expected.contains("the \(format.rawValue) header"), "\(err)")
        #expect(err.found?.contains("(did you mean \(column)?)") == true, "\(err)")
        #expect(err.description.hasPrefix("x.csv:1:"), "\(err)")
    }

    @Test("a timestamps column one slip away from stream, tokens_in or tokens_out is an error naming both", arguments: [
        ("timestamp,stream,Tokens-In", "tokens_in", "Tokens-In"),
        ("time,tokens out", "tokens_out", "tokens out"),
        ("time,streams", "stream", "streams"),
        ("arrival,tokens_in\r,x", "tokens_in", "tokens_in\\r"),
    ])
    func nearTimestampsColumn(_ header: String, _ expected: String, _ shown: String) throws {
        #expect(TraceImporter.detectFormat(header: header) == .timestamps)
        let err = try #require(expectImportError(header + "\n1,a,2\n", name: "t.csv"))
        #expect(err.line == 1 && err.column == expected && err.expected == "the timestamps column \(expected)", "\(err)")
        #expect(err.found == "column \"\(shown)\"", "\(err)")
        #expect(err.hint?.contains("rename it to \(expected)") == true, "\(err)")
    }

    @Test("a timestamps file's other columns are read past with one warning listing them")
    func extraColumnsWarn() throws {
        let warnings = Mutex<[String]>([])
        let options = TraceImportOptions(warn: { m in warnings.withLock { $0.append(m) } })
        let t = try TraceImporter.importBytes(Array("time,user,tokens_in,region\n1,u,3,eu\n2,v,4,us\n".utf8),
                                              name: "t.csv", options: options)
        #expect(t.count == 2 && t.tokensIn == [3, 4])
        let w = warnings.withLock { $0 }
        #expect(w.count == 1, "\(w)")
        #expect(w.first?.hasPrefix("warning: t.csv: the timestamps format ignores the columns \"user\", \"region\"") == true, "\(w)")
        // A file with only the columns the format reads warns about nothing.
        _ = try TraceImporter.importBytes(Array("time,stream,tokens_in,tokens_out\n1,a,1,2\n".utf8), name: "u.csv", options: options)
        #expect(warnings.withLock { $0.count } == 1)
    }
}
