/// The fixed header line of a CSV format: its column names, in order.
///
/// Used twice: for detection (``matches(_:_:_:)`` counts how many of the names a
/// header line has, so a header with one misspelled column is still recognised)
/// and for checking (``check(_:_:ctx:)`` names every unknown and every missing
/// column, so nothing is silently dropped or guessed).
struct CSVHeader {
    let format: TraceFormat
    let columns: [String]

    var line: String { columns.joined(separator: ",") }

    /// The fixed headers, in the order detection prefers them on a tie; `azure-functions`
    /// takes part with its four fixed columns (its minute columns vary).
    static let all: [CSVHeader] = [
        AzureLLMImporter.csvHeader, BurstGPTImporter.csvHeader, AzureFunctions2021Importer.csvHeader,
        ServeGenImporter.csvHeader, CSVHeader(format: .azureFunctions, columns: AzureFunctionsImporter.fixedColumns),
    ]

    /// How many of this format's column names the header line `[s, e)` has, or nearly has
    /// (``near(_:_:)``: any case, with spaces, `_`, `-` or a stray carriage return, or one
    /// edit away), so that a header one slip away from a known format is checked as that
    /// format (and the slip reported) rather than read as another format.
    /// Looks at the first 64 fields only, so a huge first line costs no memory.
    func matches(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Int {
        var names = [String]()
        var fs = s
        var i = s
        while i <= e && names.count < 64 {
            if i == e || p[i] == 0x2C {
                if i - fs <= 64 { names.append(Self.normalized(UnsafeBufferPointer(start: p + fs, count: i - fs))) }
                fs = i + 1
            }
            i += 1
        }
        return columns.filter { c in let n = Self.normalized(c.utf8); return names.contains { Self.near($0, n) } }.count
    }

    /// A column name as detection compares it: its ASCII letters (lowercased) and digits
    /// only, so `Context_Tokens`, ` context-tokens`, `ContextTokens\r` are all `contexttokens`.
    static func normalized<S: Sequence<UInt8>>(_ bytes: S) -> String {
        var out = [UInt8]()
        for b in bytes {
            switch b {
            case 0x41...0x5A: out.append(b + 0x20)
            case 0x61...0x7A, 0x30...0x39: out.append(b)
            default: break
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether two ``normalized(_:)`` names are the same or (for names of four or more
    /// characters) one edit apart.
    static func near(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard !a.isEmpty, a.utf8.count >= 4, b.utf8.count >= 4, abs(a.utf8.count - b.utf8.count) <= 1 else { return false }
        return editDistance(a, b) <= 1
    }

    /// The format whose fixed header shares the most names with the header line
    /// `[s, e)`, counting only formats that share at least two names and at least half
    /// of their columns; nil when none does.
    static func closest(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> TraceFormat? {
        var best: (format: TraceFormat, score: Int)?
        for h in all {
            let score = h.matches(p, s, e)
            if score >= max(2, (h.columns.count + 1) / 2) && score > (best?.score ?? 0) { best = (h.format, score) }
        }
        return best?.format
    }

    /// Checks that the header line `[h.start, h.end)` is exactly this header.
    ///
    /// - Throws: ``TraceImportError`` on line 1 naming the unknown columns (with the
    ///   expected name when one was misspelled), the missing ones, repeated ones or a
    ///   different order.
    func check(_ cur: LineCursor, _ h: (start: Int, end: Int), ctx: ImportContext) throws {
        let p = cur.base
        if UnsafeBufferPointer(start: p + h.start, count: h.end - h.start).elementsEqual(line.utf8) { return }
        var commas = 0
        for i in h.start..<h.end where p[i] == 0x2C {
            commas += 1
            if commas > columns.count + 16 {
                throw ctx.error(line: 1, expected: "the \(format.rawValue) header \(line)",
                                found: "more than \(columns.count + 16) columns", hint: "check --format")
            }
        }
        var fields = [(Int, Int)]()
        splitFields(p, h.start, h.end, into: &fields)
        let names = fields.map { cur.string($0.0, $0.1) }
        let unknown = names.filter { !columns.contains($0) }
        let missing = columns.filter { !names.contains($0) }
        var problems = [String]()
        var nearMatches = 0
        for name in unknown {
            var problem = "unknown column " + Array(name.utf8).withUnsafeBufferPointer { showBytes($0) }
            let n = Self.normalized(name.utf8)
            if let near = missing.first(where: {
                Self.near(Self.normalized($0.utf8), n) || $0.lowercased() == name.lowercased() || editDistance($0, name) <= 2
            }) {
                problem += " (did you mean \(near)?)"
                nearMatches += 1
            }
            problems.append(problem)
        }
        if !missing.isEmpty {
            problems.append("no column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))")
        }
        for name in columns where names.filter({ $0 == name }).count > 1 { problems.append("column \(name) twice") }
        if problems.isEmpty { problems.append("the columns in another order") }
        // A header with no column right but some nearly right is still this format's, misspelled.
        let matched = names.count - unknown.count + nearMatches
        throw ctx.error(line: 1, expected: "the \(format.rawValue) header \(line)",
                        found: matched == 0 ? cur.shown(h.start, h.end) : problems.joined(separator: "; "),
                        hint: matched == 0 ? "check --format" : "rename the columns to those of the \(format.rawValue) format "
                            + "(datasets/FORMAT.md); extra columns are not ignored, remove them")
    }
}
