#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
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
/// Compressed input is recognised by its magic bytes (zstd `28 B5 2F FD`, gzip
/// `1F 8B`), not by its name, and decompressed as a stream. The SHA-256 of the
/// bytes on disk is computed on a second thread while the text is parsed.
public enum TraceImporter {
    /// Reads and imports the file at `path`.
    ///
    /// - Throws: ``TraceImportError`` for content problems (naming `path`, the
    ///   line and column, and what was expected); ``SwitchGymIOError`` when the
    ///   file cannot be read or its compression is corrupt or truncated (`.truncated`).
    public static func importFile(_ path: String, options: TraceImportOptions = .init()) throws -> Trace {
        // Regular files are mapped, not copied: parsing and hashing read the page cache directly.
        if let mapped = try MappedFile(path: path) {
            return try importSource(SourceBytes(mapped.bytes, owner: mapped), name: path, options: options)
        }
        let bytes = try readBounded(path, options: options)
        return try importBytes(bytes, name: path, options: options)
    }

    /// Imports the content of a file already in memory (plain, zstd or gzip).
    ///
    /// - Parameter name: the path used in error messages; its base name becomes
    ///   `metadata.sourceFile`.
    /// - Throws: as ``importFile(_:options:)``.
    public static func importBytes(_ bytes: [UInt8], name: String, options: TraceImportOptions = .init()) throws -> Trace {
        // `importSource` waits for the digest thread on every path, so the
        // pointer is not used after this closure returns.
        try bytes.withUnsafeBufferPointer { buffer in
            try importSource(SourceBytes(buffer, owner: ArrayOwner(bytes)), name: name, options: options)
        }
    }

    static func importSource(_ source: SourceBytes, name: String, options: TraceImportOptions) throws -> Trace {
        let digest = BackgroundDigest(source)
        // The digest thread reads `source` until it finishes: wait for it on every path.
        let trace: Trace
        do {
            trace = try parseSource(source.buffer, name: name, options: options)
        } catch {
            _ = digest.wait()
            throw error
        }
        // A time column's values can span far more than any trace (a year 9999 row): the
        // dataset could not be written or binned.
        if Trace.durationBounds.violation(Int(trace.duration)) != nil {
            _ = digest.wait()
            throw TraceImportError(path: name, expected: "a trace spanning at most \(Trace.durationBounds) (366 days)",
                                   found: "\(trace.duration) us from the first to the last arrival",
                                   hint: "check the time column and --time-unit")
        }
        var result = trace
        result.metadata.sourceFile = FileSystem.baseName(of: name)
        result.metadata.sourceSHA256 = digest.wait()
        result.metadata.createdAt = options.createdAt ?? currentTimeISO8601()
        return result
    }

    static func parseSource(_ buffer: UnsafeBufferPointer<UInt8>, name: String, options: TraceImportOptions) throws -> Trace {
        let ctx = ImportContext(path: name, options: options)
        if let text = try decompressIfNeeded(buffer, name: name, limit: options.maxInputBytes) {
            return try text.withUnsafeBufferPointer { try parseChecked($0, ctx: ctx) }
        }
        return try parseChecked(buffer, ctx: ctx)
    }

    /// ``parse(_:ctx:)`` after checking that no line is longer than `maxLineBytes`.
    static func parseChecked(_ buffer: UnsafeBufferPointer<UInt8>, ctx: ImportContext) throws -> Trace {
        var lines = LineLengthGuard(limit: ctx.options.maxLineBytes)
        try lines.feed(UnsafeRawBufferPointer(buffer), ctx: ctx)
        return try parse(buffer, ctx: ctx)
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

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, ctx: ImportContext) throws -> Trace {
        var cursor = LineCursor(buffer)
        guard !cursor.restIsBlank(), let header = cursor.next() else {
            throw ctx.error(line: nil, expected: "a header line followed by data rows", found: "an empty file")
        }
        let format: TraceFormat
        if let f = ctx.options.format {
            format = f
        } else if let f = detect(cursor.base, header.start, header.end) {
            format = f
        } else {
            throw ctx.error(
                line: 1,
                expected: "the header of a known format: "
                    + TraceFormat.allCases.map { "\($0.rawValue) (\(firstLine(of: $0)))" }.joined(separator: ", "),
                found: cursor.shown(header.start, header.end),
                hint: "pass --format \(TraceFormat.allCases.map(\.rawValue).joined(separator: "|")) if the file is one "
                    + "of these; compressed files must be zstd or gzip")
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

    /// The decompressed content when `bytes` starts with a zstd or gzip magic
    /// number, else nil (the caller uses `bytes` as is).
    static func decompressIfNeeded(_ bytes: UnsafeBufferPointer<UInt8>, name: String, limit: Int = .max) throws -> [UInt8]? {
        let isZstd = bytes.count >= 4 && bytes[0] == 0x28 && bytes[1] == 0xB5 && bytes[2] == 0x2F && bytes[3] == 0xFD
        let isGzip = bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
        guard isZstd || isGzip else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(min(bytes.count * 4, 1 << 30) + (1 << 16))
        let decoder: any StreamDecompressor = isZstd ? ZstdDecompressor(path: name) : try GzipDecompressor(path: name)
        // Small pieces when limited: one piece of a compression bomb cannot expand far past the limit.
        try decoder.decompressAll(UnsafeRawBufferPointer(bytes), into: &out, piece: limit == .max ? 1 << 20 : 1 << 14,
                                  limit: limit, path: name)
        return out
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

    func emptyLine(line: Int) -> TraceImportError {
        error(line: line, expected: "a data row", found: "an empty line",
              hint: "only blank lines at the end of the file are ignored")
    }
}

/// Reads a source that cannot be mapped (a pipe, a device) in pieces, stopping at the first
/// line longer than `maxLineBytes` or once more than `maxInputBytes` have arrived: memory
/// stays bounded on any input, /dev/zero and endless pipes included.
func readBounded(_ path: String, options: TraceImportOptions) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    // FileSystem.readAll reports why the file cannot be opened (with the path and errno).
    guard fd >= 0 else { return try FileSystem.readAll(path) }
    defer { close(fd) }
    let ctx = ImportContext(path: path, options: options)
    var lines = LineLengthGuard(limit: options.maxLineBytes)
    var out: [UInt8] = []
    let piece = 1 << 20
    while true {
        let before = out.count
        var readError: Int32 = 0
        out.append(contentsOf: repeatElement(0, count: piece))
        let n = out.withUnsafeMutableBytes { b -> Int in
            while true {
                let r = read(fd, b.baseAddress! + before, piece)
                if r < 0 && errno == EINTR { continue }
                if r < 0 { readError = errno }
                return r
            }
        }
        out.removeLast(piece - max(n, 0))
        if n < 0 {
            errno = readError
            return try FileSystem.readAll(path)  // reports the read error with the path
        }
        if n == 0 { return out }
        try out.withUnsafeBytes { try lines.feed(UnsafeRawBufferPointer(rebasing: $0[before...]), ctx: ctx) }
        if out.count > options.maxInputBytes {
            throw ctx.error(line: nil, expected: "at most \(options.maxInputBytes) bytes (TraceImportOptions.maxInputBytes)",
                            found: "more", hint: "import a regular file (it is mapped, not read into memory)")
        }
    }
}

/// Tracks line lengths across pieces of input and throws at the first line longer than
/// `limit` bytes.
struct LineLengthGuard {
    let limit: Int
    /// Bytes since the last newline.
    private var current = 0
    /// 1-based number of the line in progress.
    private var line = 1

    init(limit: Int) { self.limit = limit }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, ctx: ImportContext) throws {
        guard let base = bytes.baseAddress else { return }
        var i = 0
        while i < bytes.count {
            if let p = memchr(base + i, 0x0A, bytes.count - i) {
                let e = UnsafeRawPointer(p) - base
                current += e - i
                try check(ctx)
                current = 0
                line += 1
                i = e + 1
            } else {
                current += bytes.count - i
                try check(ctx)
                i = bytes.count
            }
        }
    }

    private func check(_ ctx: ImportContext) throws {
        guard current > limit else { return }
        throw ctx.error(line: line, expected: "a line of at most \(limit) bytes (TraceImportOptions.maxLineBytes)",
                        found: "a longer line", hint: "the source is not a line-based text trace (a binary file or a device such as /dev/zero?)")
    }
}

/// Bytes to import and the object that keeps them alive (a mapping or an array).
struct SourceBytes: @unchecked Sendable {
    // Immutable memory owned by `owner`, only read, by the parser and the digest thread.
    let buffer: UnsafeBufferPointer<UInt8>
    let owner: AnyObject

    init(_ buffer: UnsafeBufferPointer<UInt8>, owner: AnyObject) {
        self.buffer = buffer
        self.owner = owner
    }
}

/// Holds an array at a stable address for ``SourceBytes``.
final class ArrayOwner {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// A read-only private mapping of a whole regular file, unmapped on deinit.
final class MappedFile {
    let bytes: UnsafeBufferPointer<UInt8>
    private let base: UnsafeMutableRawPointer
    private let length: Int

    /// Maps `path`; nil when it is not a non-empty regular file or cannot be mapped
    /// (the caller then reads it, which reports errors with the path).
    init?(path: String) throws {
        // Look before opening: opening a FIFO blocks until a writer comes, and a FIFO's data
        // is gone once this descriptor closes, so only a regular file is opened here (the
        // caller's single open reads anything else).
        var before = stat()
        guard stat(path, &before) == 0, (before.st_mode & S_IFMT) == S_IFREG else { return nil }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        let n = Int(st.st_size)
        guard let p = mmap(nil, n, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
        _ = madvise(p, n, MADV_SEQUENTIAL)
        base = p
        length = n
        bytes = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: n)
    }

    deinit { munmap(base, length) }
}

/// SHA-256 of the source bytes, computed on another thread while the caller parses.
final class BackgroundDigest: @unchecked Sendable {
    private let group = DispatchGroup()
    // Written once by the worker before `leave()`, read after `wait()`.
    private var result = ""

    init(_ source: SourceBytes) {
        if source.buffer.count < 1 << 20 {
            result = Self.digest(source)
            return
        }
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            self.result = Self.digest(source)
            self.group.leave()
        }
    }

    private static func digest(_ source: SourceBytes) -> String {
        var h = SHA256()
        withExtendedLifetime(source.owner) { h.update(UnsafeRawBufferPointer(source.buffer)) }
        return h.finalizeHex()
    }

    func wait() -> String {
        group.wait()
        return result
    }
}
