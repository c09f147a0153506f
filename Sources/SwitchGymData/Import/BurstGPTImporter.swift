#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `burstgpt` format: the BurstGPT trace (HPMLL/BurstGPT, `BurstGPT_*.csv`),
/// header `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`.
///
/// - `Timestamp`: seconds from the trace start (integer or decimal; digits finer than
///   1 µs truncated). Arrival 0 is the earliest request; the first value in
///   microseconds goes to the parameters as `first_time_us`.
/// - `Request tokens`, `Response tokens`: kept as `tokensIn` and `tokensOut`.
///   Failed requests (Response tokens 0) are kept, as requests that arrived;
///   their number is `zero_response_rows` in the parameters.
/// - `Total tokens`: checked (a non-negative integer), not kept; rows where it is
///   not Request + Response are counted as `total_mismatch_rows`.
/// - `Model` and `Log Type`: each distinct pair is one stream named `Model/Log Type`
///   (`ChatGPT/Conversation log`), kind `llm`, in order of first appearance.
///
/// The header must be exactly these six columns in this order: an unknown or
/// misspelled column is an error naming it.
enum BurstGPTImporter {
    static let csvHeader = CSVHeader(
        format: .burstGPT,
        columns: ["Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens", "Log Type"])
    static let tokensExpected = "a non-negative integer token count (at most 2147483647)"

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        try csvHeader.check(cur, h, ctx: ctx)
        let p = cur.base
        let columns = csvHeader.columns
        let maxRequests = ctx.options.maxRequests
        let capacity = min(cur.bufferedNewlines() + 1, maxRequests)
        var arrivals = [Int64]()
        var ids = [UInt32]()
        var tokensIn = [Int32]()
        var tokensOut = [Int32]()
        arrivals.reserveCapacity(capacity)
        ids.reserveCapacity(capacity)
        tokensIn.reserveCapacity(capacity)
        tokensOut.reserveCapacity(capacity)
        var streams = [TraceStream]()
        var streamBytes = 0
        var streamIDs = [String: UInt32]()
        var last: (ms: Int, me: Int, ls: Int, le: Int, id: UInt32, shifts: Int)?
        var prev = Int64.min
        var unsorted = false
        var zeroResponse = 0
        var totalMismatch = 0
        var fields = [(Int, Int)]()
        let limit = Int64(Int32.max)
        func tokens(_ c: Int) throws -> Int64 {
            let (s, e) = fields[c]
            guard case .value(let v) = parseCount(p, s, e, limit: limit) else {
                throw ctx.error(line: cur.line, column: columns[c], expected: tokensExpected, found: cur.shown(s, e))
            }
            return v
        }

        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            splitFields(p, s, e, into: &fields)
            guard fields.count == columns.count else {
                throw ctx.error(line: cur.line, expected: "\(columns.count) columns (\(csvHeader.line))",
                                found: "\(fields.count) column\(fields.count == 1 ? "" : "s")")
            }
            let (ts, te) = fields[0]
            guard let t = parseDecimalMicros(p, ts, te, unitMicros: 1_000_000) else {
                throw ctx.error(line: cur.line, column: "Timestamp", expected: "a number of seconds from the trace start",
                                found: cur.shown(ts, te))
            }
            let tin = try tokens(2), tout = try tokens(3), total = try tokens(4)
            if tout == 0 { zeroResponse += 1 }
            if total != tin + tout { totalMismatch += 1 }
            if t < prev {
                if !ctx.options.sort {
                    throw ctx.error(line: cur.line, column: "Timestamp", expected: "a time at or after the previous row's",
                                    found: cur.shown(ts, te),
                                    hint: "import with --sort (TraceImportOptions.sort) to sort the rows by time")
                }
                unsorted = true
            }
            prev = t
            if arrivals.count == maxRequests { throw ctx.tooMany(line: cur.line) }
            arrivals.append(t)
            tokensIn.append(Int32(tin))
            tokensOut.append(Int32(tout))

            // Consecutive rows mostly share their stream: compare with the last row's fields first.
            let (ms, me) = fields[1], (ls, le) = fields[5]
            guard me > ms, le > ls else {
                throw ctx.error(line: cur.line, column: me > ms ? "Log Type" : "Model", expected: "a non-empty name",
                                found: "an empty field")
            }
            if let l = last, l.shifts == cur.shifts, l.me - l.ms == me - ms, l.le - l.ls == le - ls,
               memcmp(p + l.ms, p + ms, me - ms) == 0, memcmp(p + l.ls, p + ls, le - ls) == 0 {
                ids.append(l.id)
            } else {
                let name = cur.string(ms, me) + "/" + cur.string(ls, le)
                let id: UInt32
                if let known = streamIDs[name] {
                    id = known
                } else {
                    id = UInt32(streams.count)
                    streamIDs[name] = id
                    streams.append(TraceStream(name: name, kind: "llm"))
                    try ctx.addStream(streams, bytes: &streamBytes, line: cur.line)
                }
                ids.append(id)
                last = (ms, me, ls, le, id, cur.shifts)
            }
        }
        guard !arrivals.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one data row after the header", found: "none")
        }
        if unsorted {
            let perm = stableOrder(arrivals)
            arrivals = perm.map { arrivals[$0] }
            ids = perm.map { ids[$0] }
            tokensIn = perm.map { tokensIn[$0] }
            tokensOut = perm.map { tokensOut[$0] }
        }
        let start = arrivals[0]
        rebase(&arrivals, by: start)
        let meta = TraceMetadata(
            sourceFile: "", sourceFormat: TraceFormat.burstGPT.rawValue, startTime: "", seed: 0,
            parameters: "{\"time_unit\":\"s\",\"first_time_us\":\(start),\"zero_response_rows\":\(zeroResponse),"
                + "\"total_mismatch_rows\":\(totalMismatch),\"streams\":\"Model/Log Type\",\"sorted\":\(unsorted),"
                + "\"duration\":\"last arrival + 1 us\"}")
        return Trace(arrivals: arrivals, streamIDs: ids, tokensIn: tokensIn, tokensOut: tokensOut, streams: streams,
                     duration: arrivals[arrivals.count - 1] + 1, metadata: meta)
    }
}
