#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `timestamps` format: a CSV with a header naming a time column
/// (`timestamp`, `time` or `arrival`, any case, first of these in that order of
/// preference) and optionally `stream`, `tokens_in`, `tokens_out`; a column one slip
/// away from one of these (`Tokens-In`, `stream\r`, `tokensin`) is an error naming it,
/// and other columns are ignored with a warning that lists them. Times are numbers in ``TraceImportOptions/timeUnit`` (integer or
/// decimal, digits finer than 1 µs truncated toward zero) or ISO 8601
/// `YYYY-MM-DD[T ]HH:MM:SS[.f][Z|±HH:MM]` (UTC unless an offset is given); the first row decides which, and
/// every row must use the same form. A file whose first line is a single number
/// or time has no header: it is one column of times. Fields are not quoted;
/// spaces around fields are ignored.
enum TimestampsImporter {
    static let timeNames = ["timestamp", "time", "arrival"]

    /// The index of the time column of a header line, nil when it has none.
    static func timeColumn(inHeader p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Int? {
        var fields = [(Int, Int)]()
        splitFields(p, s, e, into: &fields)
        let names = fields.map { lowerName(p, $0.0, $0.1) }
        for wanted in timeNames {
            if let i = names.firstIndex(of: wanted) { return i }
        }
        return nil
    }

    /// Whether the line is a single number or time (a file without header).
    static func isHeaderless(_ p: UnsafePointer<UInt8>, _ s0: Int, _ e0: Int) -> Bool {
        let (s, e) = trim(p, s0, e0)
        guard s < e, !UnsafeBufferPointer(start: p + s, count: e - s).contains(0x2C) else { return false }
        var cache = DateCache()
        return parseDecimalMicros(p, s, e, unitMicros: 1) != nil || parseDateTime(p, s, e, cache: &cache) != nil
    }

    @inline(__always)
    static func trim(_ p: UnsafePointer<UInt8>, _ s0: Int, _ e0: Int) -> (Int, Int) {
        var s = s0, e = e0
        while s < e && (p[s] == 0x20 || p[s] == 0x09) { s += 1 }
        while e > s && (p[e - 1] == 0x20 || p[e - 1] == 0x09) { e -= 1 }
        return (s, e)
    }

    /// The columns this format reads (any case).
    static let knownColumns = timeNames + ["stream", "tokens_in", "tokens_out"]

    /// Refuses a header column that nearly names a column this format reads (it would be
    /// dropped silently); warns, listing them, about the other columns, which are ignored.
    static func checkColumns(_ names: [String], ctx: ImportContext) throws {
        var ignored = [String]()
        for name in names where !knownColumns.contains(name.lowercased()) {
            let n = CSVHeader.normalized(name.utf8)
            if let near = knownColumns.first(where: { CSVHeader.near(CSVHeader.normalized($0.utf8), n) }) {
                throw ctx.error(line: 1, column: near, expected: "the timestamps column \(near)",
                                found: "column " + Array(name.utf8).withUnsafeBufferPointer { showBytes($0) },
                                hint: "rename it to \(near); the timestamps format reads the columns "
                                    + "\(knownColumns.joined(separator: ", ")) (datasets/FORMAT.md)")
            }
            ignored.append(name)
        }
        if !ignored.isEmpty {
            ctx.options.warn("warning: \(ctx.path): the timestamps format ignores the column\(ignored.count == 1 ? "" : "s") "
                             + ignored.map { Array($0.utf8).withUnsafeBufferPointer { showBytes($0) } }.joined(separator: ", ")
                             + "; it reads \(knownColumns.joined(separator: ", "))")
        }
    }

    static func lowerName(_ p: UnsafePointer<UInt8>, _ s0: Int, _ e0: Int) -> String {
        let (s, e) = trim(p, s0, e0)
        return String(decoding: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self).lowercased()
    }

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        let p = cur.base
        var columnNames: [String]
        var timeIndex = 0, streamIndex: Int?, tinIndex: Int?, toutIndex: Int?
        if isHeaderless(p, h.start, h.end) {
            columnNames = ["time"]
            cur.rereadLastLine()  // the first line is data
        } else {
            var fields = [(Int, Int)]()
            splitFields(p, h.start, h.end, into: &fields)
            columnNames = fields.map { f in
                let (s, e) = trim(p, f.0, f.1)
                return cur.string(s, e)
            }
            guard let t = timeColumn(inHeader: p, h.start, h.end) else {
                throw ctx.error(line: 1, expected: "a header with a column named timestamp, time or arrival",
                                found: cur.shown(h.start, h.end),
                                hint: "a file without a header must have a single column of times")
            }
            timeIndex = t
            let lower = columnNames.map { $0.lowercased() }
            try checkColumns(columnNames, ctx: ctx)
            streamIndex = lower.firstIndex(of: "stream")
            tinIndex = lower.firstIndex(of: "tokens_in")
            toutIndex = lower.firstIndex(of: "tokens_out")
        }
        let columns = columnNames.count
        let unit = ctx.options.timeUnit
        let maxRequests = ctx.options.maxRequests
        let capacity = min(cur.bufferedNewlines() + 1, maxRequests)
        var arrivals = [Int64]()
        arrivals.reserveCapacity(capacity)
        var ids = [UInt32]()
        ids.reserveCapacity(capacity)
        var tokensIn = [Int32]()
        var tokensOut = [Int32]()
        if tinIndex != nil { tokensIn.reserveCapacity(capacity) }
        if toutIndex != nil { tokensOut.reserveCapacity(capacity) }
        var streams = [TraceStream]()
        var streamBytes = 0
        var streamIDs = [String: UInt32]()
        var lastStream: (s: Int, e: Int, id: UInt32, shifts: Int)?
        var isoTimes: Bool?
        var firstDataLine = 0
        var cache = DateCache()
        var prev = Int64.min
        var unsorted = false
        var fields = [(Int, Int)]()
        let limit = Int64(Int32.max)
        func tokens(_ ci: Int) throws -> Int32 {
            let (fs, fe) = trim(p, fields[ci].0, fields[ci].1)
            guard case .value(let v) = parseCount(p, fs, fe, limit: limit) else {
                throw ctx.error(line: cur.line, column: columnNames[ci],
                                expected: "a non-negative integer token count (at most 2147483647)",
                                found: cur.shown(fs, fe))
            }
            return Int32(v)
        }

        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            splitFields(p, s, e, into: &fields)
            guard fields.count == columns else {
                throw ctx.error(line: cur.line,
                                expected: "\(columns) column\(columns == 1 ? "" : "s") (\(columnNames.joined(separator: ",")))",
                                found: "\(fields.count) column\(fields.count == 1 ? "" : "s")")
            }
            let (ts, te) = trim(p, fields[timeIndex].0, fields[timeIndex].1)
            if isoTimes == nil {
                isoTimes = te - ts >= 10 && p[ts + 4] == 0x2D && p[ts + 7] == 0x2D
                firstDataLine = cur.line
            }
            let t: Int64?
            if isoTimes! {
                t = parseDateTime(p, ts, te, cache: &cache)
            } else {
                t = parseDecimalMicros(p, ts, te, unitMicros: unit.microseconds)
            }
            guard let t else {
                let what = isoTimes! ? "an ISO 8601 time YYYY-MM-DD[T ]HH:MM:SS[.f][Z|+HH:MM]"
                    : "a number of \(unitName(unit)) (--time-unit \(unit.rawValue))"
                let same = cur.line == firstDataLine ? "" : " like line \(firstDataLine)"
                throw ctx.error(line: cur.line, column: columnNames[timeIndex], expected: what + same,
                                found: cur.shown(ts, te),
                                hint: cur.line == firstDataLine
                                    ? "times are numbers (with --time-unit) or ISO 8601 times" : nil)
            }
            if t < prev {
                if !ctx.options.sort {
                    throw ctx.error(line: cur.line, column: columnNames[timeIndex],
                                    expected: "a time at or after the previous row's", found: cur.shown(ts, te),
                                    hint: "import with --sort (TraceImportOptions.sort) to sort the rows by time")
                }
                unsorted = true
            }
            prev = t
            if arrivals.count == maxRequests { throw ctx.tooMany(line: cur.line) }
            arrivals.append(t)

            if let si = streamIndex {
                let (ss, se) = trim(p, fields[si].0, fields[si].1)
                if let last = lastStream, last.shifts == cur.shifts, last.e - last.s == se - ss, memcmp(p + last.s, p + ss, se - ss) == 0 {
                    ids.append(last.id)
                } else {
                    let name = cur.string(ss, se)
                    let id: UInt32
                    if let known = streamIDs[name] {
                        id = known
                    } else {
                        id = UInt32(streams.count)
                        streamIDs[name] = id
                        streams.append(TraceStream(name: name, kind: ""))
                        try ctx.addStream(streams, bytes: &streamBytes, line: cur.line)
                    }
                    ids.append(id)
                    lastStream = (ss, se, id, cur.shifts)
                }
            }
            if let ci = tinIndex { tokensIn.append(try tokens(ci)) }
            if let ci = toutIndex { tokensOut.append(try tokens(ci)) }
        }
        guard !arrivals.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one data row after the header", found: "none")
        }
        if streamIndex == nil {
            streams = [TraceStream(name: "default", kind: "")]
            ids = [UInt32](repeating: 0, count: arrivals.count)
        }
        if unsorted {
            let perm = stableOrder(arrivals)
            arrivals = perm.map { arrivals[$0] }
            ids = perm.map { ids[$0] }
            if tinIndex != nil { tokensIn = perm.map { tokensIn[$0] } }
            if toutIndex != nil { tokensOut = perm.map { tokensOut[$0] } }
        }
        let start = arrivals[0]
        rebase(&arrivals, by: start)
        let iso = isoTimes ?? false
        var params = "{\"time_column\":\(jsonString(columnNames[timeIndex])),"
        params += iso ? "\"time_values\":\"iso8601\"," : "\"time_values\":\"numeric\",\"time_unit\":\"\(unit.rawValue)\",\"first_time_us\":\(start),"
        params += "\"sorted\":\(unsorted),\"duration\":\"last arrival + 1 us\"}"
        let meta = TraceMetadata(sourceFile: "", sourceFormat: TraceFormat.timestamps.rawValue,
                                 startTime: iso ? formatISO8601(microseconds: start) : "", seed: 0, parameters: params)
        return Trace(arrivals: arrivals, streamIDs: ids, tokensIn: tinIndex == nil ? nil : tokensIn,
                     tokensOut: toutIndex == nil ? nil : tokensOut, streams: streams,
                     duration: arrivals[arrivals.count - 1] + 1, metadata: meta)
    }

    static func unitName(_ u: TimeUnit) -> String {
        switch u {
        case .seconds: return "seconds"
        case .milliseconds: return "milliseconds"
        case .microseconds: return "microseconds"
        }
    }
}
