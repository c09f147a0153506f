/// The `azure-llm` format: `TIMESTAMP,ContextTokens,GeneratedTokens`, one request per row.
///
/// The 2023 and the 2024 (week-long) Azure LLM inference traces share these columns;
/// 2024 timestamps carry a UTC offset (`2024-05-10 00:00:00.009930+00:00`), which is
/// applied. Both import as `azure-llm`.
enum AzureLLMImporter {
    static let csvHeader = CSVHeader(format: .azureLLM, columns: ["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
    static let header = csvHeader.line
    static let timestampExpected = "a timestamp YYYY-MM-DD HH:MM:SS[.fffffff][+HH:MM]"
    static let tokensExpected = "a non-negative integer token count (at most 2147483647)"

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        let p = cur.base
        try csvHeader.check(cur, h, ctx: ctx)
        let capacity = min(cur.bufferedNewlines() + 1, ctx.options.maxRequests)
        var arrivals = [Int64]()
        var tokensIn = [Int32]()
        var tokensOut = [Int32]()
        arrivals.reserveCapacity(capacity)
        tokensIn.reserveCapacity(capacity)
        tokensOut.reserveCapacity(capacity)
        let maxRequests = ctx.options.maxRequests
        let sort = ctx.options.sort
        var cache = DateCache()
        var prev = Int64.min
        var unsorted = false
        let limit = Int64(Int32.max)

        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            // Field boundaries: the usual timestamp is 27 bytes long.
            var c1 = s + 27
            if !(c1 < e && p[c1] == 0x2C) {
                c1 = s
                while c1 < e && p[c1] != 0x2C { c1 += 1 }
            }
            var c2 = c1 + 1
            while c2 < e && p[c2] != 0x2C { c2 += 1 }
            guard c2 < e else { throw columnCount(p, s, e, line: cur.line, ctx: ctx) }

            guard let t = parseDateTime(p, s, c1, cache: &cache) else {
                throw ctx.error(line: cur.line, column: "TIMESTAMP", expected: timestampExpected,
                                found: cur.shown(s, c1))
            }
            guard case .value(let tin) = parseCount(p, c1 + 1, c2, limit: limit) else {
                throw tokenError(cur, c1 + 1, c2, lineStart: s, lineEnd: e, column: "ContextTokens", ctx: ctx)
            }
            guard case .value(let tout) = parseCount(p, c2 + 1, e, limit: limit) else {
                throw tokenError(cur, c2 + 1, e, lineStart: s, lineEnd: e, column: "GeneratedTokens", ctx: ctx)
            }
            if t < prev {
                if !sort {
                    throw ctx.error(line: cur.line, column: "TIMESTAMP",
                                    expected: "a time at or after the previous row's (\(formatISO8601(microseconds: prev)))",
                                    found: cur.shown(s, c1),
                                    hint: "import with --sort (TraceImportOptions.sort) to sort the rows by time")
                }
                unsorted = true
            }
            prev = t
            if arrivals.count == maxRequests { throw ctx.tooMany(line: cur.line) }
            arrivals.append(t)
            tokensIn.append(Int32(truncatingIfNeeded: tin))
            tokensOut.append(Int32(truncatingIfNeeded: tout))
        }
        guard !arrivals.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one data row after the header", found: "none")
        }
        if unsorted {
            let perm = stableOrder(arrivals)
            arrivals = perm.map { arrivals[$0] }
            tokensIn = perm.map { tokensIn[$0] }
            tokensOut = perm.map { tokensOut[$0] }
        }
        let start = arrivals[0]
        rebase(&arrivals, by: start)
        let duration = arrivals[arrivals.count - 1] + 1
        let meta = TraceMetadata(
            sourceFile: "", sourceFormat: TraceFormat.azureLLM.rawValue,
            startTime: formatISO8601(microseconds: start), seed: 0,
            parameters: "{\"time_resolution\":\"us\",\"sub_microsecond_digits\":\"truncated\","
                + "\"sorted\":\(unsorted),\"duration\":\"last arrival + 1 us\"}")
        return Trace(arrivals: arrivals, streamIDs: [UInt32](repeating: 0, count: arrivals.count),
                     tokensIn: tokensIn, tokensOut: tokensOut, streams: [TraceStream(name: "llm", kind: "llm")],
                     duration: duration, metadata: meta)
    }

    static func columnCount(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, line: Int, ctx: ImportContext) -> TraceImportError {
        var n = 1
        for i in s..<e where p[i] == 0x2C { n += 1 }
        return ctx.error(line: line, expected: "3 columns (\(header))", found: "\(n) column\(n == 1 ? "" : "s")")
    }

    static func tokenError(_ cur: LineCursor, _ s: Int, _ e: Int, lineStart: Int, lineEnd: Int, column: String,
                           ctx: ImportContext) -> TraceImportError {
        if column == "GeneratedTokens", UnsafeBufferPointer(start: cur.base + s, count: e - s).contains(0x2C) {
            return columnCount(cur.base, lineStart, lineEnd, line: cur.line, ctx: ctx)
        }
        return ctx.error(line: cur.line, column: column, expected: tokensExpected, found: cur.shown(s, e))
    }
}

/// Shifts `arrivals` by `start` (the first arrival), so the trace starts at 0.
func rebase(_ arrivals: inout [Int64], by start: Int64) {
    arrivals.withUnsafeMutableBufferPointer { a in
        for i in a.indices { a[i] &-= start }
    }
}

/// The permutation that sorts `keys` stably (equal keys keep their order).
func stableOrder(_ keys: [Int64]) -> [Int] {
    var perm = Array(keys.indices)
    keys.withUnsafeBufferPointer { k in
        perm.sort { a, b in k[a] < k[b] || (k[a] == k[b] && a < b) }
    }
    return perm
}
