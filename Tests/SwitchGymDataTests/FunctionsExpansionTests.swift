import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymCore
import SwitchGymIO

@Suite("Azure Functions expansion")
struct FunctionsExpansionTests {
    static let functions = 25
    static let minutes = 12
    static let firstMinute = 100

    /// A random count matrix (many zeros, some large counts).
    static func counts(seed: UInt64) -> [[Int]] {
        var g = SeededGenerator(seed: seed)
        return (0..<functions).map { _ in
            (0..<minutes).map { _ in g.next() % 3 == 0 ? 0 : Int(g.next() % (g.next() % 4 == 0 ? 400 : 20)) }
        }
    }

    static func csv(_ counts: [[Int]], order: [Int]) -> [UInt8] {
        var s = "HashOwner,HashApp,HashFunction,Trigger," + (0..<minutes).map { String(firstMinute + $0) }.joined(separator: ",")
        for r in order {
            s += "\nowner\(r),app\(r),fn\(r),\(r % 2 == 0 ? "http" : "timer")," + counts[r].map(String.init).joined(separator: ",")
        }
        return Array((s + "\n").utf8)
    }

    static func importCSV(_ bytes: [UInt8], seed: UInt64) throws -> Trace {
        try TraceImporter.importBytes(bytes, name: "f.csv", options: TraceImportOptions(seed: seed, createdAt: "x"))
    }

    /// Arrivals per stream name, in order.
    static func byName(_ t: Trace) -> [String: [Int64]] {
        var out = [String: [Int64]]()
        for (a, s) in zip(t.arrivals, t.streamIDs) { out[t.streams[Int(s)].name, default: []].append(a) }
        return out
    }

    @Test("counts are preserved per (function, minute) and every arrival lies in its minute")
    func countsPreserved() throws {
        let c = Self.counts(seed: 1)
        let t = try Self.importCSV(Self.csv(c, order: Array(0..<Self.functions)), seed: 42)
        try t.validate()
        #expect(t.count == c.joined().reduce(0, +))
        #expect(t.duration == Int64(Self.minutes) * 60_000_000)
        var got = [[Int]](repeating: [Int](repeating: 0, count: Self.minutes), count: Self.functions)
        for (a, s) in zip(t.arrivals, t.streamIDs) {
            #expect(a >= 0 && a < t.duration)
            got[Int(s)][Int(a / 60_000_000)] += 1
        }
        #expect(got == c)
        #expect(t.streams[3] == TraceStream(name: "owner3/app3/fn3", kind: "timer"))
        #expect(t.metadata.parameters.contains("\"first_minute\":100"))
    }

    @Test("the expansion follows the documented sub-stream recipe exactly")
    func documentedRecipe() throws {
        let text = "HashOwner,HashApp,HashFunction,Trigger,5,6\no,a,f,http,2,1\n"
        let t = try Self.importCSV(Array(text.utf8), seed: 9)
        let key = fnv1a64("o/a/f".utf8)
        var expected = [Int64]()
        for (c, k) in [(0, 2), (1, 1)] {
            var g = SeededGenerator.substream(seed: 9, index: key ^ UInt64(c))
            var minute = [Int64]()
            for _ in 0..<k { minute.append(Int64(c) * 60_000_000 + Int64(g.next().multipliedFullWidth(by: 60_000_000).high)) }
            expected += minute.sorted()
        }
        #expect(t.arrivals == expected)
    }

    @Test("deterministic for a seed, different for another")
    func seeds() throws {
        let bytes = Self.csv(Self.counts(seed: 2), order: Array(0..<Self.functions))
        let a = try Self.importCSV(bytes, seed: 5)
        let b = try Self.importCSV(bytes, seed: 5)
        let c = try Self.importCSV(bytes, seed: 6)
        #expect(a == b)
        #expect(a.arrivals != c.arrivals)
        #expect(a.count == c.count)
    }

    @Test("independent of row order: permuted rows give the same arrivals per function")
    func rowOrder() throws {
        let counts = Self.counts(seed: 3)
        var order = Array(0..<Self.functions)
        var g = SeededGenerator(seed: 77)
        order.shuffle(using: &g)
        let a = try Self.importCSV(Self.csv(counts, order: Array(0..<Self.functions)), seed: 11)
        let b = try Self.importCSV(Self.csv(counts, order: order), seed: 11)
        #expect(a.streams != b.streams)
        #expect(Self.byName(a) == Self.byName(b))
        #expect(a.arrivals == b.arrivals)
    }

    @Test("repeated function names get distinct, order-independent sub-streams")
    func repeatedNames() throws {
        let text = "HashOwner,HashApp,HashFunction,Trigger,0\no,a,f,http,5\no,a,f,http,5\n"
        let t = try Self.importCSV(Array(text.utf8), seed: 1)
        #expect(t.streams.count == 2)
        let first = zip(t.arrivals, t.streamIDs).filter { $0.1 == 0 }.map(\.0)
        let second = zip(t.arrivals, t.streamIDs).filter { $0.1 == 1 }.map(\.0)
        #expect(first != second)
    }
}

@Suite("real public traces (skipped when ../shared/traces is absent)")
struct RealTraceImportTests {
    /// Microseconds since midnight of `HH:MM:SS.fffffff` (independent, split-based parse; 7th digit dropped).
    static func microsOfDay(_ ts: Substring) -> Int64 {
        let time = ts.split(separator: " ")[1]
        let parts = time.split(separator: ":")
        let secParts = parts[2].split(separator: ".")
        let frac = String(secParts[1].prefix(6))
        return ((Int64(parts[0])! * 60 + Int64(parts[1])!) * 60 + Int64(secParts[0])!) * 1_000_000 + Int64(frac)!
    }

    @Test("Azure LLM code trace: 8,819 requests, first and last times",
          .enabled(if: ImportFixtures.realTracesPresent(ImportFixtures.llmTrace)))
    func azureLLM() throws {
        let text = try String(contentsOfFile: ImportFixtures.llmTrace, encoding: .utf8)
        let rows = text.split(whereSeparator: \.isNewline).dropFirst()
        let first = rows.first!.split(separator: ",")[0]
        let last = rows.last!.split(separator: ",")[0]
        let t = try TraceImporter.importFile(ImportFixtures.llmTrace)
        try t.validate()
        #expect(t.count == 8_819)
        #expect(rows.count == 8_819)
        #expect(t.metadata.startTime == "2023-11-16T18:17:03.979960Z")
        #expect(t.arrivals.last! == Self.microsOfDay(last) - Self.microsOfDay(first))
        #expect(t.arrivals.last! == 3_435_948_056)
        #expect(t.duration == t.arrivals.last! + 1)
        #expect(t.tokensIn!.reduce(0) { $0 + Int($1) } == rows.reduce(0) { $0 + Int($1.split(separator: ",")[1])! })
        #expect(t.metadata.sourceSHA256 == SHA256.hex(of: try FileSystem.readAll(ImportFixtures.llmTrace)))
    }

    @Test("Azure Functions sample: total invocations equal the sum of all counts",
          .enabled(if: ImportFixtures.realTracesPresent(ImportFixtures.functionsTrace)))
    func azureFunctions() throws {
        // Independent sum: split the raw bytes on newlines and commas.
        let bytes = try FileSystem.readAll(ImportFixtures.functionsTrace)
        var sum = 0
        for line in bytes.split(separator: 0x0A).dropFirst() {
            for f in line.split(separator: 0x2C).dropFirst(4) { sum += Int(String(decoding: f, as: UTF8.self))! }
        }
        let t = try TraceImporter.importFile(ImportFixtures.functionsTrace, options: TraceImportOptions(seed: 1))
        try t.validate()
        #expect(t.count == sum)
        #expect(sum > 3_000_000 && sum < 3_100_000)
        #expect(t.streams.count == 500)
        #expect(t.duration == 480 * 60_000_000)
        #expect(t.metadata.parameters.contains("\"first_minute\":480"))
        #expect(t.arrivals.first! >= 0 && t.arrivals.last! < 480 * 60_000_000)
    }
}
