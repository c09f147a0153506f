import Foundation
@testable import SwitchGymData

/// Path of the real Azure LLM code trace next to the checkout (../shared/traces), or nil with a printed reason.
func azureLLMCodeTracePath() -> String? {
    ImportFixtures.realTracesPresent(ImportFixtures.llmTrace) ? ImportFixtures.llmTrace : nil
}

/// A deliberately simple parser for the Azure LLM CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`,
/// timestamps `YYYY-MM-DD HH:MM:SS.fffffff`), independent of the real importer:
/// arrivals rebased to the first request, duration = last arrival + 1 µs.
func loadAzureLLMForTests(_ path: String) throws -> Trace {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var rows: [(Int64, Int32, Int32)] = []
    for (i, line) in text.split(whereSeparator: \.isNewline).enumerated() where i > 0 {
        let f = line.split(separator: ",")
        guard f.count >= 3 else { continue }
        rows.append((analysisTimestampMicros(String(f[0])), Int32(f[1].trimmingCharacters(in: .whitespaces))!,
                     Int32(f[2].trimmingCharacters(in: .whitespaces))!))
    }
    rows.sort { $0.0 < $1.0 }
    let t0 = rows[0].0
    let arrivals = rows.map { $0.0 - t0 }
    return Trace(arrivals: arrivals, streamIDs: Array(repeating: 0, count: rows.count),
                 tokensIn: rows.map(\.1), tokensOut: rows.map(\.2),
                 streams: [TraceStream(name: "code", kind: "llm")], duration: arrivals.last! + 1,
                 metadata: TraceMetadata(sourceFile: "AzureLLMInferenceTrace_code.csv", sourceFormat: "azure-llm"))
}

/// `2023-11-16 18:15:46.6805900` → microseconds since 1970 (fraction truncated to µs).
func analysisTimestampMicros(_ s: String) -> Int64 {
    let parts = s.split(separator: " ")
    let d = parts[0].split(separator: "-").map { Int64($0)! }
    let hms = parts[1].split(separator: ":")
    let secParts = hms[2].split(separator: ".")
    var frac: Int64 = 0
    if secParts.count > 1 {
        let digits = String(secParts[1].prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)
        frac = Int64(digits)!
    }
    // Days from civil (Howard Hinnant).
    let y = d[1] <= 2 ? d[0] - 1 : d[0]
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (d[1] + 9) % 12
    let doy = (153 * mp + 2) / 5 + d[2] - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let secs = days * 86400 + Int64(hms[0])! * 3600 + Int64(hms[1])! * 60 + Int64(secParts[0])!
    return secs * 1_000_000 + frac
}

/// A trace from arrival times (µs) and stream ids, with streams named s0, s1, ...
func analysisTrace(_ arrivals: [Int64], ids: [UInt32]? = nil, streams: Int = 1, duration: Int64,
               tokensIn: [Int32]? = nil, tokensOut: [Int32]? = nil, parameters: String = "{}") -> Trace {
    Trace(arrivals: arrivals, streamIDs: ids ?? Array(repeating: 0, count: arrivals.count),
          tokensIn: tokensIn, tokensOut: tokensOut,
          streams: (0..<streams).map { TraceStream(name: "s\($0)", kind: "test") }, duration: duration,
          metadata: TraceMetadata(sourceFile: "test", sourceFormat: "timestamps", startTime: "2024-01-01T00:00:00Z",
                                  parameters: parameters))
}

/// Reference statistics by a straightforward loop: dense counts, two-pass mean and population variance.
func analysisReferenceWindowStats(_ arrivals: [Int64], duration: Int64, windowSeconds: Double) -> (n: Int, mean: Double, peak: Int, ptm: Double, cv: Double) {
    let w = Int64((windowSeconds * 1e6).rounded())
    let n = Int((duration + w - 1) / w)
    var c = [Int](repeating: 0, count: n)
    for t in arrivals { c[Int(t / w)] += 1 }
    let mean = Double(c.reduce(0, +)) / Double(n)
    var ss = 0.0
    for x in c { ss += (Double(x) - mean) * (Double(x) - mean) }
    let peak = c.max() ?? 0
    return (n, mean, peak, mean > 0 ? Double(peak) / mean : 0, mean > 0 ? (ss / Double(n)).squareRoot() / mean : 0)
}

func analysisApprox(_ a: Double, _ b: Double, rel: Double = 1e-9, abs absTol: Double = 1e-12) -> Bool {
    Swift.abs(a - b) <= max(absTol, rel * max(Swift.abs(a), Swift.abs(b)))
}

/// Path of the Azure Functions 500-function sample next to the checkout, or nil with a printed reason.
func azureFunctionsSamplePath() -> String? {
    ImportFixtures.realTracesPresent(ImportFixtures.functionsTrace) ? ImportFixtures.functionsTrace : nil
}

/// A simple expansion of the per-minute Azure Functions counts, independent of the real
/// importer: each count k of function r in minute column c becomes k arrivals evenly
/// spread over the minute (deterministic; per-minute statistics do not depend on the
/// placement within the minute).
func loadAzureFunctionsForTests(_ path: String) throws -> Trace {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var lines = text.split(whereSeparator: \.isNewline)
    let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false)
    let minutes = header.count - 4
    var counts: [[Int]] = []
    var streams: [TraceStream] = []
    for line in lines {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        streams.append(TraceStream(name: "\(f[0])/\(f[1])/\(f[2])", kind: String(f[3])))
        counts.append((0..<minutes).map { Int(f[4 + $0]) ?? 0 })
    }
    var arrivals: [Int64] = [], ids: [UInt32] = []
    for c in 0..<minutes {
        var batch: [(Int64, UInt32)] = []
        for (r, row) in counts.enumerated() where row[c] > 0 {
            let k = row[c]
            for i in 0..<k { batch.append((Int64(c) * 60_000_000 + Int64(i) * 60_000_000 / Int64(k) + Int64(r % 997), UInt32(r))) }
        }
        batch.sort { $0.0 < $1.0 }
        for (t, id) in batch { arrivals.append(min(t, Int64(c + 1) * 60_000_000 - 1)); ids.append(id) }
    }
    return Trace(arrivals: arrivals, streamIDs: ids, streams: streams, duration: Int64(minutes) * 60_000_000,
                 metadata: TraceMetadata(sourceFile: "invocations.csv", sourceFormat: "azure-functions"))
}
