#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymIO

/// Reads public trace formats (CSV, optionally zstd- or gzip-compressed) into a ``Trace``.
///
/// - `azure-llm`: one request per row, arrival 0 at the earliest timestamp; the
///   absolute time of arrival 0 goes to `metadata.startTime`. Timestamps keep
///   microseconds; a 7th fraction digit (100 ns) is truncated.
/// - `azure-functions`: per-minute invocation counts expanded into arrival times
///   as documented in `datasets/FORMAT.md` ("Azure Functions expansion");
///   arrival 0 is the start of the first minute column.
/// - `timestamps`: one request per row, arrival 0 at the earliest time.
/// - `mooncake`, `burstgpt`: one request per line or row, arrival 0 at the earliest time.
/// - `azure-functions-2021`: one invocation per row, arriving at `end_timestamp -
///   duration`; arrival 0 at the earliest arrival; rows are sorted by arrival.
/// - `servegen`: arrivals generated per 600 s window from the fitted inter-arrival
///   distribution at the stated rate, seeded (`datasets/FORMAT.md`, "ServeGen generation").
///
/// For event traces (`azure-llm`, `timestamps`, `mooncake`, `burstgpt`,
/// `azure-functions-2021`) the duration is the last arrival plus 1 µs (the shortest
/// span that contains every arrival); for `azure-functions` it is the number of
/// minute columns times 60 s, for `servegen` the span of the windows.
///
/// Any source is read once, from start to end, through a fixed window of
/// ``TraceImportOptions/maxLineBytes`` + 1 MiB and parsed as it arrives: a regular file, a
/// pipe, a FIFO and a device alike, so memory grows only with the parsed requests (stored
/// as numbers), which ``TraceImportOptions/maxRequests`` caps. Compressed input is
/// recognised by its magic bytes (zstd `28 B5 2F FD`, gzip `1F 8B`), not by its name, and
/// decompressed as a stream. The SHA-256 of the bytes as read is computed along the way.
public enum TraceImporter {
    /// Reads and imports the file at `path` (any file that can be read from start to end:
    /// `/dev/stdin` and FIFOs included).
    ///
    /// - Throws: ``TraceImportError`` for content problems (naming `path`, the
    ///   line and column, and what was expected), a line longer than
    ///   ``TraceImportOptions/maxLineBytes`` or more requests than
    ///   ``TraceImportOptions/maxRequests``; ``SwitchGymIOError`` when the file cannot be
    ///   read or its compression is corrupt or truncated (`.truncated`).
    public static func importFile(_ path: String, options: TraceImportOptions = .init()) throws -> Trace {
        try importSource(ImportSource(path: path), options: options)
    }

    /// Imports the content of a file already in memory (plain, zstd or gzip).
    ///
    /// - Parameter name: the path used in error messages; its base name becomes
    ///   `metadata.sourceFile`.
    /// - Throws: as ``importFile(_:options:)``.
    public static func importBytes(_ bytes: [UInt8], name: String, options: TraceImportOptions = .init()) throws -> Trace {
        try bytes.withUnsafeBytes { try importSource(ImportSource(bytes: $0, name: name), options: options) }
    }

    static func importSource(_ source: ImportSource, options: TraceImportOptions) throws -> Trace {
        let name = source.path
        var cursor = try LineCursor(source, maxLineBytes: options.maxLineBytes, limitName: "TraceImportOptions.maxLineBytes")
        let trace = try parse(&cursor, ctx: ImportContext(path: name, options: options))
        // A time column's values can span far more than any trace (a year 9999 row): the
        // dataset could not be written or binned.
        if Trace.durationBounds.violation(Int(trace.duration)) != nil {
            throw TraceImportError(path: name, expected: "a trace spanning at most \(Trace.durationBounds) (366 days)",
                                   found: "\(trace.duration) us from the first to the last arrival",
                                   hint: "check the time column and --time-unit")
        }
        var result = trace
        result.metadata.sourceFile = FileSystem.baseName(of: name)
        // Every parser reads on to the end of the input: the digest covers all of it.
        result.metadata.sourceSHA256 = source.digest()
        result.metadata.createdAt = options.createdAt ?? currentTimeISO8601()
        return result
    }

    /// The format a header line (the first line of a file) belongs to, or nil.
    ///
    /// In this order: `TIMESTAMP,ContextTokens,GeneratedTokens` is `azure-llm`; a
    /// header starting `HashOwner,HashApp,HashFunction,Trigger,` is `azure-functions`;
    /// a line starting with `{` is `mooncake`; a header-less ServeGen window line
    /// (six fields, the first an integer, the second a number) is `servegen`; a header
    /// sharing at least two column names, and at least half of them (any case), with a
    /// fixed header (`azure-llm`,
    /// `burstgpt`, `azure-functions-2021`, `servegen`) is the format it shares most
    /// with, so that a misspelled column is reported by that format's parser rather
    /// than the file being read as another format; a header with a column named
    /// `timestamp`, `time` or `arrival` (any case), or a single number (a
    /// header-less list of times), is `timestamps`.
    public static func detectFormat(header: String) -> TraceFormat? {
        var bytes = Array(header.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        return bytes.withUnsafeBufferPointer { b -> TraceFormat? in
            guard let base = b.baseAddress else { return nil }
            return detect(base, 0, b.count)
        }
    }

    // MARK: - Internals

    static func detect(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> TraceFormat? {
        let line = UnsafeBufferPointer(start: p + s, count: e - s)
        if line.elementsEqual(AzureLLMImporter.header.utf8) { return .azureLLM }
        if line.starts(with: AzureFunctionsImporter.headerPrefix.utf8) { return .azureFunctions }
        if MooncakeImporter.isObjectLine(p, s, e) { return .mooncake }
        if ServeGenImporter.isWindowLine(p, s, e) { return .serveGen }
        if let f = CSVHeader.closest(p, s, e) { return f }
        if TimestampsImporter.timeColumn(inHeader: p, s, e) != nil || TimestampsImporter.isHeaderless(p, s, e) {
            return .timestamps
        }
        return nil
    }

    static func parse(_ cursor: inout LineCursor, ctx: ImportContext) throws -> Trace {
        guard let header = try cursor.next() else {
            throw ctx.error(line: nil, expected: "a header line followed by data rows", found: "an empty file")
        }
        let (hs, he) = TimestampsImporter.trim(cursor.base, header.start, header.end)
        if hs == he {
            // A blank first line: the file is empty when the rest is blank too.
            let shown = cursor.shown(header.start, header.end)
            if try cursor.restIsBlank() {
                throw ctx.error(line: nil, expected: "a header line followed by data rows", found: "an empty file")
            }
            throw unknownHeader(found: shown, ctx: ctx)
        }
        let format: TraceFormat
        if let f = ctx.options.format {
            format = f
        } else if let f = detect(cursor.base, header.start, header.end) {
            format = f
        } else {
            throw unknownHeader(found: cursor.shown(header.start, header.end), ctx: ctx)
        }
        switch format {
        case .azureLLM: return try AzureLLMImporter.parse(&cursor, header: header, ctx: ctx)
        case .azureFunctions: return try AzureFunctionsImporter.parse(&cursor, header: header, ctx: ctx)
        case .timestamps: return try TimestampsImporter.parse(&cursor, header: header, ctx: ctx)
        case .mooncake: return try MooncakeImporter.parse(&cursor, header: header, ctx: ctx)
        case .burstGPT: return try BurstGPTImporter.parse(&cursor, header: header, ctx: ctx)
        case .azureFunctions2021: return try AzureFunctions2021Importer.parse(&cursor, header: header, ctx: ctx)
        case .serveGen: return try ServeGenImporter.parse(&cursor, header: header, ctx: ctx)
        }
    }

    /// The error for a first line that is no known format's.
    static func unknownHeader(found: String, ctx: ImportContext) -> TraceImportError {
        ctx.error(
            line: 1,
            expected: "the header of a known format: "
                + TraceFormat.allCases.map { "\($0.rawValue) (\(firstLine(of: $0)))" }.joined(separator: ", "),
            found: found,
            hint: "pass --format \(TraceFormat.allCases.map(\.rawValue).joined(separator: "|")) if the file is one "
                + "of these; compressed files must be zstd or gzip")
    }

    /// What the first line of a format looks like, for error messages.
    static func firstLine(of format: TraceFormat) -> String {
        switch format {
        case .azureLLM: return AzureLLMImporter.header
        case .azureFunctions: return AzureFunctionsImporter.headerPrefix + "480,481,..."
        case .timestamps: return "a column named timestamp, time or arrival"
        case .mooncake: return "a JSON object {\"timestamp\": ..., ...} per line"
        case .burstGPT: return BurstGPTImporter.csvHeader.line
        case .azureFunctions2021: return AzureFunctions2021Importer.csvHeader.line
        case .serveGen: return "no header; lines " + ServeGenImporter.csvHeader.line
        }
    }
}

/// What every format parser needs: the name for errors and the options.
struct ImportContext {
    let path: String
    let options: TraceImportOptions

    func error(line: Int?, column: String? = nil, expected: String, found: String? = nil,
               hint: String? = nil) -> TraceImportError {
        TraceImportError(path: path, line: line, column: column, expected: expected, found: found, hint: hint)
    }

    func tooMany(line: Int) -> TraceImportError {
        error(line: line, expected: "at most \(options.maxRequests) requests",
              found: "more", hint: "raise --max-requests (TraceImportOptions.maxRequests) if the machine has the memory")
    }

    /// Counts a new stream of `streams` (the last one) against ``TraceImportOptions/maxStreamBytes``.
    ///
    /// - Throws: ``TraceImportError`` on `line` once the stream table passes the limit.
    func addStream(_ streams: [TraceStream], bytes: inout Int, line: Int) throws {
        guard let s = streams.last else { return }
        // The name is held twice (the stream and the parser's lookup table), plus each String's
        // and entry's overhead.
        bytes += 2 * s.name.utf8.count + s.kind.utf8.count + 96
        guard bytes > options.maxStreamBytes else { return }
        throw error(line: line, expected: "a stream table of at most \(options.maxStreamBytes) bytes (TraceImportOptions.maxStreamBytes)",
                    found: "\(streams.count) streams taking more",
                    hint: "stream names come from the trace's name columns; are they that many and that long?")
    }

    func emptyLine(line: Int) -> TraceImportError {
        error(line: line, expected: "a data row", found: "an empty line",
              hint: "only blank lines at the end of the file are ignored")
    }
}
