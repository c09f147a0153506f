/// The `mooncake` format: the Mooncake FAST'25 traces (kvcache-ai/Mooncake,
/// `FAST25-release/traces/*.jsonl`), one JSON object per line:
/// `{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, ...]}`.
///
/// - `timestamp`: milliseconds from the trace start (integer or decimal; digits
///   finer than 1 µs are truncated). Arrival 0 is the earliest request; the first
///   value in microseconds goes to the parameters as `first_time_us`.
/// - `input_length`, `output_length`: prompt and generated tokens, kept as
///   `tokensIn` and `tokensOut`.
/// - `hash_ids`: the 512-token prefix-cache blocks of the prompt. Checked (an array of
///   non-negative integers) and counted (`hash_ids_total` in the parameters), not kept:
///   the trace model has no per-request block lists.
///
/// Every line needs exactly these four keys, in any order; an unknown, misspelled or
/// repeated key is an error naming it. One stream, `mooncake` of kind `llm`. The
/// parser reads the object in place (no per-line allocation) and accepts only this
/// flat shape: numbers and one array of numbers, no nested objects.
enum MooncakeImporter {
    static let keys = ["timestamp", "input_length", "output_length", "hash_ids"]
    static let tokensExpected = "a non-negative integer token count (at most 2147483647)"

    /// Whether the line's first non-blank byte is `{` (a JSON object: detection).
    static func isObjectLine(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var i = s
        while i < e && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
        return i < e && p[i] == 0x7B
    }

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        // Header-less: the first line is data.
        cur.rereadLastLine()
        let p = cur.base
        let maxRequests = ctx.options.maxRequests
        let capacity = min(cur.bufferedNewlines() + 1, maxRequests)
        var arrivals = [Int64]()
        var tokensIn = [Int32]()
        var tokensOut = [Int32]()
        arrivals.reserveCapacity(capacity)
        tokensIn.reserveCapacity(capacity)
        tokensOut.reserveCapacity(capacity)
        var prev = Int64.min
        var unsorted = false
        var blocks = 0

        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            var r = ObjectReader(p: p, i: s, e: e, line: cur.line, cur: cur, ctx: ctx)
            let row = try r.readRequest()
            blocks += row.blocks
            if row.time < prev {
                if !ctx.options.sort {
                    throw ctx.error(line: cur.line, column: "timestamp", expected: "a time at or after the previous line's",
                                    found: cur.shown(row.timeField.0, row.timeField.1),
                                    hint: "import with --sort (TraceImportOptions.sort) to sort the lines by time")
                }
                unsorted = true
            }
            prev = row.time
            if arrivals.count == maxRequests { throw ctx.tooMany(line: cur.line) }
            arrivals.append(row.time)
            tokensIn.append(row.input)
            tokensOut.append(row.output)
        }
        guard !arrivals.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one JSON line", found: "none")
        }
        if unsorted {
            let perm = stableOrder(arrivals)
            arrivals = perm.map { arrivals[$0] }
            tokensIn = perm.map { tokensIn[$0] }
            tokensOut = perm.map { tokensOut[$0] }
        }
        let start = arrivals[0]
        rebase(&arrivals, by: start)
        let meta = TraceMetadata(
            sourceFile: "", sourceFormat: TraceFormat.mooncake.rawValue, startTime: "", seed: 0,
            parameters: "{\"time_unit\":\"ms\",\"first_time_us\":\(start),\"hash_ids_total\":\(blocks),"
                + "\"hash_ids\":\"checked, not kept\",\"sorted\":\(unsorted),\"duration\":\"last arrival + 1 us\"}")
        return Trace(arrivals: arrivals, streamIDs: [UInt32](repeating: 0, count: arrivals.count),
                     tokensIn: tokensIn, tokensOut: tokensOut, streams: [TraceStream(name: "mooncake", kind: "llm")],
                     duration: arrivals[arrivals.count - 1] + 1, metadata: meta)
    }

    /// One request read from a line.
    struct Request {
        var time: Int64
        var timeField: (Int, Int)
        var input: Int32
        var output: Int32
        var blocks: Int
    }

    /// Reads one flat JSON object in `[i, e)`; every error names the line.
    struct ObjectReader {
        let p: UnsafePointer<UInt8>
        var i: Int
        let e: Int
        let line: Int
        let cur: LineCursor
        let ctx: ImportContext

        mutating func skipBlank() {
            while i < e && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
        }

        func here(_ n: Int = 20) -> String {
            i < e ? cur.shown(i, min(e, i + n)) : "the end of the line"
        }

        func fail(_ expected: String, column: String? = nil) -> TraceImportError {
            ctx.error(line: line, column: column, expected: expected, found: here())
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws {
            skipBlank()
            guard i < e && p[i] == byte else { throw fail(what) }
            i += 1
        }

        /// A JSON string without escapes (the keys of this format need none), as `[start, end)`.
        mutating func key() throws -> (Int, Int) {
            try expect(0x22, "a quoted key (\(MooncakeImporter.keys.joined(separator: ", ")))")
            let s = i
            while i < e && p[i] != 0x22 {
                if p[i] == 0x5C { i += 1 }  // skip the escaped byte; the key is then unknown anyway
                i += 1
            }
            guard i < e else { throw ctx.error(line: line, expected: "a closing quote", found: "the end of the line") }
            i += 1
            return (s, i - 1)
        }

        /// The bytes of a JSON number token (validated by the caller's parser).
        mutating func number() -> (Int, Int) {
            skipBlank()
            let s = i
            while i < e {
                let c = p[i]
                guard (c &- 0x30) < 10 || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45 else { break }
                i += 1
            }
            return (s, i)
        }

        mutating func count(_ column: String, limit: Int64, expected: String) throws -> Int64 {
            let (s, t) = number()
            guard t > s, case .value(let v) = parseCount(p, s, t, limit: limit) else {
                i = s
                throw fail(expected, column: column)
            }
            return v
        }

        mutating func readRequest() throws -> Request {
            try expect(0x7B, "a JSON object {\"timestamp\": ms, \"input_length\": n, \"output_length\": n, \"hash_ids\": [...]}")
            var seen = [Bool](repeating: false, count: 4)
            var req = Request(time: 0, timeField: (i, i), input: 0, output: 0, blocks: 0)
            skipBlank()
            if i < e && p[i] == 0x7D {
                i += 1
            } else {
                while true {
                    let (ks, ke) = try key()
                    let name = UnsafeBufferPointer(start: p + ks, count: ke - ks)
                    guard let k = MooncakeImporter.keys.firstIndex(where: { name.elementsEqual($0.utf8) }) else {
                        throw ctx.error(line: line, column: cur.string(ks, ke),
                                        expected: "one of the keys \(MooncakeImporter.keys.joined(separator: ", "))",
                                        found: "unknown key " + cur.shown(ks, ke),
                                        hint: "the mooncake format has exactly these keys; check the spelling")
                    }
                    guard !seen[k] else {
                        throw ctx.error(line: line, column: MooncakeImporter.keys[k], expected: "each key once",
                                        found: "it twice")
                    }
                    seen[k] = true
                    try expect(0x3A, "a colon after the key")
                    switch k {
                    case 0:
                        let (s, t) = number()
                        guard t > s, let us = parseDecimalMicros(p, s, t, unitMicros: 1_000) else {
                            i = s
                            throw fail("a number of milliseconds", column: "timestamp")
                        }
                        req.time = us
                        req.timeField = (s, t)
                    case 1:
                        req.input = Int32(try count("input_length", limit: Int64(Int32.max), expected: tokensExpected))
                    case 2:
                        req.output = Int32(try count("output_length", limit: Int64(Int32.max), expected: tokensExpected))
                    default:
                        try expect(0x5B, "an array [...] of block ids")
                        skipBlank()
                        if i < e && p[i] == 0x5D {
                            i += 1
                        } else {
                            while true {
                                _ = try count("hash_ids", limit: Int64.max, expected: "a non-negative integer block id")
                                req.blocks += 1
                                skipBlank()
                                guard i < e && (p[i] == 0x2C || p[i] == 0x5D) else {
                                    throw fail("a comma or ] in hash_ids", column: "hash_ids")
                                }
                                i += 1
                                if p[i - 1] == 0x5D { break }
                            }
                        }
                    }
                    skipBlank()
                    guard i < e && (p[i] == 0x2C || p[i] == 0x7D) else { throw fail("a comma or } after a value") }
                    i += 1
                    if p[i - 1] == 0x7D { break }
                }
            }
            skipBlank()
            guard i == e else { throw fail("the end of the line after the object (one object per line)") }
            if let k = seen.firstIndex(of: false) {
                throw ctx.error(line: line, column: MooncakeImporter.keys[k],
                                expected: "the keys \(MooncakeImporter.keys.joined(separator: ", "))",
                                found: "no key \(MooncakeImporter.keys[k])")
            }
            return req
        }
    }
}
