#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymCore

@Suite("servegen importer: arrivals generated from per-window rate descriptors")
struct ServeGenImportTests {
    static func generate(_ text: String, seed: UInt64, maxRequests: Int = 1 << 28) throws -> Trace {
        try TraceImporter.importBytes(Array(text.utf8), name: "chunk-0-trace.csv",
                                      options: TraceImportOptions(seed: seed, createdAt: "x", maxRequests: maxRequests))
    }

    @Test("the fixture: windows, an empty window, one stream, duration to the end of the last window")
    func small() throws {
        let t = try TraceImporter.importFile(ImportFixtures.path("servegen_small.csv"),
                                             options: TraceImportOptions(seed: 3, createdAt: "x"))
        try t.validate()
        #expect(t.streams == [TraceStream(name: "client", kind: "servegen")])
        #expect(t.duration == 2_400_000_000)
        #expect(t.metadata.sourceFormat == "servegen")
        #expect(t.metadata.seed == 3)
        #expect(t.metadata.parameters.contains("\"windows\":4"))
        #expect(t.metadata.parameters.contains("\"first_window_s\":0"))
        #expect(t.tokensIn == nil)
        // Window 600-1200 has rate 0: no arrivals there.
        #expect(!t.arrivals.contains { $0 >= 600_000_000 && $0 < 1_200_000_000 })
        #expect(t.arrivals.contains { $0 < 600_000_000 })
        #expect(t.arrivals.contains { $0 >= 1_800_000_000 })
    }

    @Test("same seed, same arrivals; another seed, other arrivals")
    func determinism() throws {
        let text = try String(contentsOfFile: ImportFixtures.path("servegen_small.csv"), encoding: .utf8)
        let a = try Self.generate(text, seed: 1), b = try Self.generate(text, seed: 1), c = try Self.generate(text, seed: 2)
        #expect(a.arrivals == b.arrivals)
        #expect(a.arrivals != c.arrivals)
        // A window's arrivals depend only on its own line and the seed.
        let lastOnly = try Self.generate("1800,1.0,2.5,Weibull,0.5,0.4\n", seed: 1)
        #expect(a.arrivals.filter { $0 >= 1_800_000_000 }.map { $0 - 1_800_000_000 } == lastOnly.arrivals)
        #expect(lastOnly.metadata.parameters.contains("\"first_window_s\":1800"))
    }

    /// The coefficient of variation of a family's gaps for a shape.
    static func cv(_ family: String, _ k: Double) -> Double {
        switch family {
        case "Gamma": return 1 / k.squareRoot()
        case "Weibull": return (tgamma(1 + 2 / k) / pow(tgamma(1 + 1 / k), 2) - 1).squareRoot()
        default: return 1
        }
    }

    @Test("the count per window matches rate * 600 s within sampling error", arguments: [
        ("Exponential", 1.0, 2.0), ("Gamma", 0.5, 5.0), ("Gamma", 4.0, 1.0), ("Weibull", 0.7, 3.0), ("Weibull", 2.0, 0.5),
    ])
    func ratePerWindow(family: String, shape: Double, rate: Double) throws {
        let windows = 20
        let text = (0..<windows).map { "\($0 * 600),\(rate),1.0,\(family),\(shape),1.0" }.joined(separator: "\n")
        let t = try Self.generate(text, seed: 11)
        try t.validate()
        var counts = [Int](repeating: 0, count: windows)
        for a in t.arrivals { counts[Int(a / 600_000_000)] += 1 }
        // A stationary renewal process: E[N] = rate * 600, Var[N] ~ rate * 600 * cv^2.
        let mean = rate * 600
        let sd = (mean * Self.cv(family, shape) * Self.cv(family, shape)).squareRoot()
        for (w, n) in counts.enumerated() {
            #expect(abs(Double(n) - mean) <= 5 * sd, "window \(w): \(n) arrivals, expected \(mean) +- \(sd)")
        }
        let total = Double(counts.reduce(0, +))
        #expect(abs(total - mean * Double(windows)) <= 4 * sd * Double(windows).squareRoot(),
                "\(total) arrivals in \(windows) windows, expected \(mean * Double(windows))")
        // The gaps inside windows have the family's coefficient of variation (10 %).
        var gaps = [Double]()
        for i in 1..<t.count where t.arrivals[i] / 600_000_000 == t.arrivals[i - 1] / 600_000_000 {
            gaps.append(Double(t.arrivals[i] - t.arrivals[i - 1]))
        }
        let m = gaps.reduce(0, +) / Double(gaps.count)
        let v = gaps.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(gaps.count - 1)
        let expectedCV = Self.cv(family, shape)
        #expect(abs(v.squareRoot() / m - expectedCV) <= 0.1 * expectedCV, "gap cv \(v.squareRoot() / m), expected \(expectedCV)")
    }

    @Test("a window without a fit: none at rate 0, Poisson at a positive rate (counted)")
    func unfitted() throws {
        let t = try Self.generate("0,0,0,,0,0\n600,2,0,,0,0\n", seed: 5)
        #expect(t.arrivals.allSatisfy { $0 >= 600_000_000 })
        #expect(abs(Double(t.count) - 1200) <= 5 * 1200.0.squareRoot())
        #expect(t.metadata.parameters.contains("\"unfitted_windows\":1"))
    }

    @Test("detection: a header-less window line, or the column names as a header")
    func detection() throws {
        #expect(TraceImporter.detectFormat(header: "0,1.33,8.59,Weibull,0.375,0.396") == .serveGen)
        #expect(TraceImporter.detectFormat(header: "600,0,0,,0,0") == .serveGen)
        #expect(TraceImporter.detectFormat(header: "window_start_s,rate_req_per_s,iat_cv,fitted_iat_dist,param1,param2")
            == .serveGen)
        let t = try Self.generate("window_start_s,rate_req_per_s,iat_cv,fitted_iat_dist,param1,param2\n0,1,1,Gamma,1,1\n",
                                  seed: 1)
        #expect(t.count > 0)
    }

    @Test("a misspelled distribution is reported by name with file and line")
    func badDistribution() throws {
        let path = ImportFixtures.path("servegen_bad_dist.csv")
        let err = try #require(expectImportError { try TraceImporter.importFile(path) })
        #expect(err.description == "\(path):2: column fitted_iat_dist: expected one of Weibull, Gamma, Exponential or an "
            + "empty field, found unknown distribution \"Weibul\"")
    }

    @Test("bad lines", arguments: [
        ("0,1,1,Gamma,1,1\n600,1,1,Gamma,1\n", 2, nil, "6 columns"),
        ("0,1,1,Gamma,1,1\n600,1,1,Gamma,1,1,7\n", 2, nil, "6 columns"),
        ("window_start_s,rate_req_per_sec,iat_cv,fitted_iat_dist,param1,param2\n0,1,1,Gamma,1,1\n", 1, nil,
         "unknown column \"rate_req_per_sec\" (did you mean rate_req_per_s?)"),
        ("0,1,1,Gamma,1,1\n600,abc,1,Gamma,1,1\n", 2, "rate_req_per_s", "rate"),
        ("0,1,1,Gamma,1,1\n600,-1,1,Gamma,1,1\n", 2, "rate_req_per_s", "rate"),
        ("0,1,1,Gamma,1,1\n600,1,nan,Gamma,1,1\n", 2, "iat_cv", "coefficient of variation"),
        ("0,1,1,Gamma,1,1\n300,1,1,Gamma,1,1\n", 2, "window_start_s", "at least 600 s after"),
        ("0,1,1,Gamma,0,1\n", 1, "param1", "a shape in"),
        ("0,1,1,Weibull,0.001,1\n", 1, "param1", "a shape in"),
        ("0,1,1,Gamma,1,-2\n", 1, "param2", "a positive finite scale"),
        ("-600,1,1,Gamma,1,1\n", 1, "window_start_s", "non-negative integer"),
        ("0,0,0,,0,0\n600,0,0,,0,0\n", nil, nil, "at least one window with a positive rate"),
    ] as [(String, Int?, String?, String)])
    func badLines(text: String, line: Int?, column: String?, expected: String) throws {
        let err = try #require(expectImportError(text, name: "s.csv", options: TraceImportOptions(format: .serveGen)))
        #expect(err.path == "s.csv")
        #expect(err.line == line, "\(err)")
        #expect(err.column == column, "\(err)")
        #expect(err.description.contains(expected), "\(err)")
        if let line { #expect(err.description.hasPrefix("s.csv:\(line): ")) }
    }

    @Test("a rate whose expected count exceeds maxRequests is refused before drawing")
    func tooMany() throws {
        let err = try #require(expectImportError("0,1e12,1,Gamma,1,1\n", name: "s.csv"))
        #expect(err.line == 1)
        #expect(err.expected.hasPrefix("at most"))
        let small = try #require(expectImportError({ try Self.generate("0,10,1,Exponential,1,1\n", seed: 1, maxRequests: 100) }))
        #expect(small.expected == "at most 100 requests")
    }

    @Test("an empty file")
    func empty() throws {
        let err = try #require(expectImportError("", name: "s.csv", options: TraceImportOptions(format: .serveGen)))
        #expect(err.description == "s.csv: expected a header line followed by data rows, found an empty file")
    }

    @Test("the gap samplers have the mean and cv of their family")
    func samplers() {
        var g = SeededGenerator(seed: 9)
        for (family, k) in [("Gamma", 0.3), ("Gamma", 2.5), ("Weibull", 0.6), ("Weibull", 3.0)] {
            let gaps = ServeGenImporter.Gaps(family: family, shape: k, rate: 2)
            let xs = (0..<200_000).map { _ in gaps.next(&g) }
            let m = xs.reduce(0, +) / Double(xs.count)
            let sd = (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
            #expect(abs(m - 0.5) <= 0.02, "\(family) \(k): mean \(m)")
            #expect(abs(sd / m - Self.cv(family, k)) <= 0.05 * Self.cv(family, k), "\(family) \(k): cv \(sd / m)")
        }
    }
}
