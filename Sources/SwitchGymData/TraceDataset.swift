import SwitchGymIO

/// The canonical on-disk form of a ``Trace``: one HDF5 file.
///
/// Layout (documented for users in `datasets/FORMAT.md`):
/// - `/arrivals` int64 `[N]`: microseconds from the trace start, non-decreasing
/// - `/stream_ids` uint32 `[N]`: index into `/streams/*`
/// - `/tokens_in`, `/tokens_out` int32 `[N]`: optional per-request sizes
/// - `/streams/name`, `/streams/kind`: variable-length UTF-8 strings `[S]`
/// - root attributes: `format` = `switchgym-trace`, `format_version`, `duration_us`,
///   `num_requests`, `source_file`, `source_sha256`, `source_format`, `created_at`,
///   `start_time`, `seed`, `parameters`, and `content_sha256`: the SHA-256 of every
///   column and attribute (see `HDF5File+Checksums.swift`), checked on every read.
///   Version 1 files (before checksums) are read unverified, with a warning.
/// Columns are chunked (`chunkElements`) and, by default, byte-shuffled and
/// compressed with zstd (filter 32015).
public enum TraceDataset {
    /// The value of the root `format` attribute.
    public static let formatName = "switchgym-trace"
    /// The layout version this code writes.
    public static let formatVersion: Int64 = 2
    /// The first layout version whose files carry content checksums; older ones are read
    /// unverified, with a warning.
    public static let firstChecksummedVersion: Int64 = 2
    /// Elements per chunk.
    public static let chunkElements = 1 << 18

    /// Writes `trace` to `path` atomically (temporary file, fsync, rename).
    ///
    /// - Throws: ``TraceError`` if the trace is invalid (nothing is written);
    ///   ``SwitchGymIOError`` if the file cannot be written.
    public static func write(_ trace: Trace, to path: String, compression: HDF5Compression = .standard) throws {
        try trace.validate()
        try AtomicOutput.write(to: path) { tmp in
            let f = try HDF5File.create(path: tmp)
            try f.write("/arrivals", trace.arrivals, chunk: chunkElements, compression: compression)
            try f.write("/stream_ids", trace.streamIDs, chunk: chunkElements, compression: compression)
            if let t = trace.tokensIn { try f.write("/tokens_in", t, chunk: chunkElements, compression: compression) }
            if let t = trace.tokensOut { try f.write("/tokens_out", t, chunk: chunkElements, compression: compression) }
            try f.createGroup("/streams")
            try f.writeStrings("/streams/name", trace.streams.map(\.name))
            try f.writeStrings("/streams/kind", trace.streams.map(\.kind))
            let m = trace.metadata
            try f.setAttribute("format", formatName)
            try f.setAttribute("format_version", formatVersion)
            try f.setAttribute("duration_us", trace.duration)
            try f.setAttribute("num_requests", Int64(trace.count))
            try f.setAttribute("source_file", m.sourceFile)
            try f.setAttribute("source_sha256", m.sourceSHA256)
            try f.setAttribute("source_format", m.sourceFormat)
            try f.setAttribute("created_at", m.createdAt)
            try f.setAttribute("start_time", m.startTime)
            try f.setAttribute("seed", m.seed)
            try f.setAttribute("parameters", m.parameters)
            try f.close()
        }
    }

    /// Reads a whole dataset and checks it.
    ///
    /// - Parameter warn: receives the warning for a version 1 file (no checksums).
    /// - Throws: ``SwitchGymIOError`` with kind `.format` when the file is HDF5
    ///   but not a SwitchGym trace, or its columns disagree; `.hdf5` when a chunk
    ///   cannot be read (truncated or damaged file); `.checksum` when a column or
    ///   attribute does not match its checksum (the error names it).
    public static func read(_ path: String, warn: (String) -> Void = FileSystem.printWarning) throws -> Trace {
        let f = try open(path, warn: warn)
        // Sizes first, from the attributes and the dataset's shape: nothing is allocated for
        // a file whose numbers are out of range (a file with valid checksums may still hold
        // extreme values when another tool wrote it).
        let expected: Int64 = try f.attribute("num_requests")
        let duration: Int64 = try f.attribute("duration_us")
        for (name, value, bounds) in [("num_requests", expected, Trace.requestBounds), ("duration_us", duration, Trace.durationBounds)] {
            if let m = bounds.violation(Int(value)) {
                throw SwitchGymIOError(.format, m, path: path, location: "attribute \(name)",
                                       hint: "re-import or re-synthesise the trace with switchgym")
            }
        }
        let n = try f.length(of: "/arrivals")
        guard Int64(n) == expected else {
            throw SwitchGymIOError(.format, "dataset has \(n) arrivals but attribute num_requests says \(expected)",
                                   path: path, location: "dataset /arrivals")
        }
        let arrivals: [Int64] = try f.read("/arrivals")
        func column<T: HDF5Scalar>(_ name: String, _ t: T.Type) throws -> [T] {
            let v: [T] = try f.read(name)
            guard v.count == n else {
                throw SwitchGymIOError(.format, "has \(v.count) elements, expected \(n) (one per arrival)",
                                       path: path, location: "dataset \(name)")
            }
            return v
        }
        let ids = try column("/stream_ids", UInt32.self)
        let tin = f.exists("/tokens_in") ? try column("/tokens_in", Int32.self) : nil
        let tout = f.exists("/tokens_out") ? try column("/tokens_out", Int32.self) : nil
        // A file with valid checksums may still hold values the importers refuse (another tool wrote it).
        for (name, values) in [("/tokens_in", tin), ("/tokens_out", tout)] {
            if let v = values, let bad = v.firstIndex(where: { $0 < 0 }) {
                throw SwitchGymIOError(.format, "request \(bad) has \(v[bad]) tokens; expected a count >= 0",
                                       path: path, location: "dataset \(name)",
                                       hint: "re-import or re-synthesise the trace with switchgym")
            }
        }
        let names = try f.readStrings("/streams/name")
        let kinds = f.exists("/streams/kind") ? try f.readStrings("/streams/kind") : Array(repeating: "", count: names.count)
        guard kinds.count == names.count else {
            throw SwitchGymIOError(.format, "has \(kinds.count) entries, expected \(names.count) (one per stream)",
                                   path: path, location: "dataset /streams/kind")
        }
        let meta = TraceMetadata(
            sourceFile: try f.stringAttribute("source_file"),
            sourceSHA256: try f.stringAttribute("source_sha256"),
            sourceFormat: try f.stringAttribute("source_format"),
            createdAt: try f.stringAttribute("created_at"),
            startTime: try f.stringAttribute("start_time"),
            seed: try f.attribute("seed"),
            parameters: try f.stringAttribute("parameters"))
        let trace = Trace(arrivals: arrivals, streamIDs: ids, tokensIn: tin, tokensOut: tout,
                          streams: zip(names, kinds).map { TraceStream(name: $0, kind: $1) },
                          duration: duration, metadata: meta)
        do { try trace.validate() } catch let e as TraceError {
            throw SwitchGymIOError(.format, e.message, path: path)
        }
        return trace
    }

    /// Reads only the arrival times (the fast path for replay and benchmarks).
    public static func readArrivals(_ path: String, warn: (String) -> Void = FileSystem.printWarning) throws -> [Int64] {
        try open(path, warn: warn).read("/arrivals")
    }

    /// Opens a file and checks that it is a SwitchGym trace of a version this code reads.
    static func open(_ path: String, warn: (String) -> Void) throws -> HDF5File {
        let f = try HDF5File.open(path: path)
        let hint = "pass a dataset written by `switchgym traces import` or `switchgym traces synth`"
        guard f.hasAttribute("format"), (try? f.stringAttribute("format")) == formatName else {
            throw SwitchGymIOError(.format, "HDF5 file is not a SwitchGym trace (root attribute format != \"\(formatName)\")",
                                   path: path, location: "attribute format", hint: hint)
        }
        let version: Int64 = try f.attribute("format_version")
        guard (1...formatVersion).contains(version) else {
            throw SwitchGymIOError(.format, "trace format version \(version) is not supported (expected 1 to \(formatVersion))",
                                   path: path, location: "attribute format_version",
                                   hint: "re-import the source with this version of switchgym")
        }
        try f.requireChecksums(format: "trace dataset", version: version, since: firstChecksummedVersion, warn: warn)
        return f
    }
}
