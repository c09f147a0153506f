/// The `azure-functions-2021` format: the Azure Functions 2021 invocation trace
/// (Azure/AzurePublicDataset, `AzureFunctionsInvocationTraceForTwoWeeksJan2021`),
/// header `app,func,end_timestamp,duration`, one invocation per row.
///
/// - `end_timestamp`, `duration`: seconds (integer or decimal) from the trace start and
///   of execution; each is truncated to the microsecond, then the arrival is
///   `end_timestamp - duration`. A negative duration is an error.
/// - The source is ordered by end time, so arrivals are sorted (stably, ties keep file
///   order) whatever `--sort` says; `sorted` in the parameters tells whether rows moved.
///   Arrival 0 is the earliest arrival; its value in microseconds from the trace start
///   (possibly negative) goes to the parameters as `first_time_us`.
/// - Each distinct `app/func` is one stream (kind empty), in order of first appearance.
///   Durations are checked, not kept (the trace model has no service times).
///
/// The header must be exactly these four columns: an unknown or misspelled column is
/// an error naming it.
enum AzureFunctions2021Importer {
    static let csvHeader = CSVHeader(format: .azureFunctions2021, columns: ["app", "func", "end_timestamp", "duration"])

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        try csvHeader.check(cur, h, ctx: ctx)
        let p = cur.base
        let maxRequests = ctx.options.maxRequests
        let capacity = min(cur.bufferedNewlines() + 1, maxRequests)
        var arrivals = [Int64]()
        var ids = [UInt32]()
        arrivals.reserveCapacity(capacity)
        ids.reserveCapacity(capacity)
        var streams = [TraceStream]()
        var streamBytes = 0
        var streamIDs = [String: UInt32]()
        var fields = [(Int, Int)]()
        var prev = Int64.min
        var unsorted = false

        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            splitFields(p, s, e, into: &fields)
            guard fields.count == 4 else {
                throw ctx.error(line: cur.line, expected: "4 columns (\(csvHeader.line))",
                                found: "\(fields.count) column\(fields.count == 1 ? "" : "s")")
            }
            let (es, ee) = fields[2], (ds, de) = fields[3]
            guard let end = parseDecimalMicros(p, es, ee, unitMicros: 1_000_000) else {
                throw ctx.error(line: cur.line, column: "end_timestamp", expected: "a number of seconds from the trace start",
                                found: cur.shown(es, ee))
            }
            guard let duration = parseDecimalMicros(p, ds, de, unitMicros: 1_000_000), duration >= 0 else {
                throw ctx.error(line: cur.line, column: "duration", expected: "a non-negative number of seconds",
                                found: cur.shown(ds, de))
            }
            let (t, overflow) = end.subtractingReportingOverflow(duration)
            guard !overflow, t > Int64.min / 2 else {
                throw ctx.error(line: cur.line, column: "duration", expected: "a duration no longer than the end time allows",
                                found: cur.shown(ds, de))
            }
            if t < prev { unsorted = true }
            prev = t
            if arrivals.count == maxRequests { throw ctx.tooMany(line: cur.line) }
            arrivals.append(t)
            let name = cur.string(fields[0].0, fields[0].1) + "/" + cur.string(fields[1].0, fields[1].1)
            if let id = streamIDs[name] {
                ids.append(id)
            } else {
                let id = UInt32(streams.count)
                streamIDs[name] = id
                streams.append(TraceStream(name: name, kind: ""))
                try ctx.addStream(streams, bytes: &streamBytes, line: cur.line)
                ids.append(id)
            }
        }
        guard !arrivals.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one data row after the header", found: "none")
        }
        if unsorted {
            let perm = stableOrder(arrivals)
            arrivals = perm.map { arrivals[$0] }
            ids = perm.map { ids[$0] }
        }
        let start = arrivals[0]
        let span = arrivals[arrivals.count - 1].subtractingReportingOverflow(start)
        guard !span.overflow, span.partialValue < Int64.max else {
            throw ctx.error(line: nil, expected: "arrivals within 2^63 us of each other", found: "a wider span")
        }
        rebase(&arrivals, by: start)
        let meta = TraceMetadata(
            sourceFile: "", sourceFormat: TraceFormat.azureFunctions2021.rawValue, startTime: "", seed: 0,
            parameters: "{\"time_unit\":\"s\",\"first_time_us\":\(start),\"arrival\":\"end_timestamp - duration\","
                + "\"sorted\":\(unsorted),\"duration\":\"last arrival + 1 us\"}")
        return Trace(arrivals: arrivals, streamIDs: ids, streams: streams, duration: arrivals[arrivals.count - 1] + 1,
                     metadata: meta)
    }
}
