import SwitchGymCore

/// The `azure-functions` format: per-function, per-minute invocation counts,
/// expanded into arrival times.
///
/// Expansion (also in `datasets/FORMAT.md`): minute columns are numbered
/// `c = 0, 1, ...` from the first one (arrival 0 is the start of the first minute
/// column, whose name is stored as `first_minute` in the parameters). A count `k`
/// of function row `r` in column `c` becomes `k` offsets, each the high 64 bits
/// of `next() * 60_000_000` (a uniform integer in `[0, 60 s)` in microseconds),
/// drawn from `SeededGenerator.substream(seed: seed, index: key(r) ^ UInt64(c))`,
/// added to `c * 60 s`. `key(r)` is the 64-bit FNV-1a hash of the stream name
/// `HashOwner/HashApp/HashFunction` (of `NAME#n` for the n-th repeat, n >= 1, of a
/// name seen before), so the result depends on the rows' contents, not on their
/// order in the file. All arrivals are then sorted by (time, stream id).
enum AzureFunctionsImporter {
    static let headerPrefix = "HashOwner,HashApp,HashFunction,Trigger,"
    static let fixedColumns = ["HashOwner", "HashApp", "HashFunction", "Trigger"]
    static let minuteMicros: Int64 = 60_000_000

    struct Entry {
        var column: UInt32
        var row: UInt32
        var count: UInt32
    }

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        let p = cur.base
        var header = [(Int, Int)]()
        splitFields(p, h.start, h.end, into: &header)
        for (i, name) in fixedColumns.enumerated() {
            guard i < header.count,
                  UnsafeBufferPointer(start: p + header[i].0, count: header[i].1 - header[i].0).elementsEqual(name.utf8)
            else {
                throw ctx.error(line: 1, expected: "the azure-functions header \(headerPrefix)<minute>,<minute+1>,...",
                                found: cur.shown(h.start, h.end), hint: "check --format")
            }
        }
        let minutes = header.count - fixedColumns.count
        guard minutes > 0, header[4].1 > header[4].0 else {
            throw ctx.error(line: 1, expected: "at least one minute column after Trigger", found: cur.shown(h.start, h.end))
        }
        // Copied: the header line's bytes do not outlive the next line read.
        let columnNames = (0..<minutes).map { cur.string(header[4 + $0].0, header[4 + $0].1) }
        func columnName(_ j: Int) -> String { columnNames[j] }
        guard let firstMinute = parseInteger(p, header[4].0, header[4].1) else {
            throw ctx.error(line: 1, column: columnName(0), expected: "an integer minute number",
                            found: cur.shown(header[4].0, header[4].1))
        }
        for j in 1..<minutes {
            let (s, e) = header[4 + j]
            guard let m = parseInteger(p, s, e), m == firstMinute + Int64(j) else {
                throw ctx.error(line: 1, column: columnName(j),
                                expected: "minute \(firstMinute + Int64(j)) (minute columns must be consecutive integers)",
                                found: cur.shown(s, e))
            }
        }
        let columns = fixedColumns.count + minutes
        let maxRequests = ctx.options.maxRequests
        let countLimit = Int64(min(maxRequests, Int(UInt32.max)))

        var streams = [TraceStream]()
        var streamBytes = 0
        var keys = [UInt64]()
        var seen = [String: Int]()
        var entries = [Entry]()
        var total = 0
        var fields = [(Int, Int)]()
        fields.reserveCapacity(columns)
        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            splitFields(p, s, e, into: &fields)
            guard fields.count == columns else {
                throw ctx.error(line: cur.line,
                                expected: "\(columns) columns (HashOwner,HashApp,HashFunction,Trigger and "
                                    + "\(minutes) minutes \(firstMinute)-\(firstMinute + Int64(minutes) - 1))",
                                found: "\(fields.count) column\(fields.count == 1 ? "" : "s")")
            }
            let row = streams.count
            guard row < Int(UInt32.max) else {
                throw ctx.error(line: cur.line, expected: "fewer than 2^32 function rows", found: "more")
            }
            for j in 0..<minutes {
                let (fs, fe) = fields[4 + j]
                switch parseCount(p, fs, fe, limit: countLimit) {
                case .value(let k):
                    if k > 0 {
                        total += Int(k)
                        if total > maxRequests { throw ctx.tooMany(line: cur.line) }
                        entries.append(Entry(column: UInt32(j), row: UInt32(row), count: UInt32(k)))
                    }
                case .negative, .invalid:
                    throw ctx.error(line: cur.line, column: columnName(j),
                                    expected: "a non-negative integer invocation count (at most \(countLimit))",
                                    found: cur.shown(fs, fe))
                }
            }
            let name = cur.string(fields[0].0, fields[0].1) + "/" + cur.string(fields[1].0, fields[1].1) + "/"
                + cur.string(fields[2].0, fields[2].1)
            streams.append(TraceStream(name: name, kind: cur.string(fields[3].0, fields[3].1)))
            try ctx.addStream(streams, bytes: &streamBytes, line: cur.line)
            let repeats = seen[name, default: 0]
            seen[name] = repeats + 1
            keys.append(fnv1a64((repeats == 0 ? name : "\(name)#\(repeats)").utf8))
        }
        guard !streams.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one function row after the header", found: "none")
        }
        let (arrivals, ids) = expand(entries: entries, keys: keys, minutes: minutes, total: total, seed: ctx.options.seed)
        let meta = TraceMetadata(
            sourceFile: "", sourceFormat: TraceFormat.azureFunctions.rawValue, startTime: "", seed: ctx.options.seed,
            parameters: "{\"first_minute\":\(firstMinute),\"minutes\":\(minutes),"
                + "\"expansion\":\"uniform-within-minute\",\"substream_index\":\"fnv1a64(name) xor column\"}")
        return Trace(arrivals: arrivals, streamIDs: ids, streams: streams,
                     duration: Int64(minutes) * minuteMicros, metadata: meta)
    }

    /// Expands counts into sorted arrivals; see the type's documentation.
    static func expand(entries: [Entry], keys: [UInt64], minutes: Int, total: Int, seed: UInt64) -> ([Int64], [UInt32]) {
        // Group entries by minute column (counting sort), and size each minute.
        var start = [Int](repeating: 0, count: minutes + 1)
        var perMinute = [Int](repeating: 0, count: minutes)
        for en in entries {
            start[Int(en.column) + 1] += 1
            perMinute[Int(en.column)] += Int(en.count)
        }
        for c in 0..<minutes { start[c + 1] += start[c] }
        var order = [Int32](repeating: 0, count: entries.count)
        var next = start
        for (i, en) in entries.enumerated() {
            order[next[Int(en.column)]] = Int32(i)
            next[Int(en.column)] += 1
        }
        var scratch = [UInt64](repeating: 0, count: perMinute.max() ?? 0)
        var arrivals = [Int64](repeating: 0, count: total)
        var ids = [UInt32](repeating: 0, count: total)
        var out = 0
        scratch.withUnsafeMutableBufferPointer { buf in
            for c in 0..<minutes {
                var n = 0
                for o in start[c]..<start[c + 1] {
                    let en = entries[Int(order[o])]
                    var g = SeededGenerator.substream(seed: seed, index: keys[Int(en.row)] ^ UInt64(c))
                    for _ in 0..<en.count {
                        let offset = g.next().multipliedFullWidth(by: UInt64(minuteMicros)).high
                        buf[n] = offset << 32 | UInt64(en.row)
                        n += 1
                    }
                }
                var part = UnsafeMutableBufferPointer(rebasing: buf[0..<n])
                part.sort()
                let base = Int64(c) * minuteMicros
                for v in part {
                    arrivals[out] = base + Int64(v >> 32)
                    ids[out] = UInt32(truncatingIfNeeded: v)
                    out += 1
                }
            }
        }
        return (arrivals, ids)
    }
}
