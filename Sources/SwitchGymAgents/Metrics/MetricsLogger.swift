import Foundation
import SwitchGymIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a run's scalar metrics to its folder, twice:
///
/// - `metrics.csv`, tidy long format `step,tag,value,wall_time` (one row per scalar;
///   values and wall times in Swift's shortest round-trip notation, `nan`/`inf`/`-inf`
///   for non-finite values);
/// - a TensorBoard event file `events.out.tfevents.<unix seconds>.<hostname>` (a `.<n>`
///   suffix is added if that name exists): a `file_version` event, then one event per
///   scalar with `summary.value[0] = {tag, simple_value}` (float32).
///
/// Tags follow CleanRL's namespaces: `charts/episodic_return`, `charts/episodic_length`,
/// `charts/SPS`, `charts/learning_rate`, `losses/policy_loss`, `losses/value_loss`,
/// `losses/entropy`, `losses/approx_kl`, ...
///
/// `log` only appends to memory buffers; they are written when they exceed 64 KiB, every
/// two seconds, on ``flush()`` and on ``close()`` (which also fsyncs). `log` never throws:
/// the first write error is kept and thrown by the next `flush()` or `close()`.
///
/// Resuming (`start: .resume(fromStep: s)`) keeps the rows of `metrics.csv` with
/// `step <= s` (so a resumed run's CSV equals an uninterrupted one's, apart from wall
/// times) and starts a new event file whose second event is `SessionLog START` at step
/// `s + 1`, which makes TensorBoard's accumulator drop the older files' events at steps
/// after `s`. (So a trainer should log an update's metrics before saving the checkpoint of
/// that step.) A fresh start in a folder that already holds event files writes
/// `SessionLog START` at step 0 instead, hiding the older run in TensorBoard.
///
/// `metrics.csv.sha256` holds the `sha256sum` line of `metrics.csv` as of the last explicit
/// ``flush()`` (a checkpoint's) or ``close()``; rows appended after it are the unchecked tail
/// of a run killed meanwhile. Resuming checks the file against it
/// (``ContentChecksum/verifiedPrefix(of:path:)``) before keeping its rows.
///
/// Not thread-safe: log from one thread (the training loop).
public final class MetricsLogger {
    /// How a run folder is opened.
    public enum Start: Sendable, Equatable {
        /// A new run: `metrics.csv` is (re)created with only its header.
        case fresh
        /// A run resumed from the checkpoint at `step`: rows after it are dropped.
        case resume(fromStep: Int)
    }

    /// The CSV header.
    public static let csvHeader = "step,tag,value,wall_time"
    /// The CSV file name.
    public static let csvFileName = "metrics.csv"

    /// The run folder.
    public let directory: URL
    /// `directory/metrics.csv`.
    public let csvURL: URL
    /// The event file this logger writes.
    public let eventFileURL: URL

    private var csvFD: Int32
    private var eventFD: Int32
    private var csvBuffer: [UInt8] = []
    /// The SHA-256 of everything written to `metrics.csv` so far.
    private var csvHash = SHA256()
    private var eventBuffer: [UInt8] = []
    private var pendingError: (any Error)?
    private var lastWallTime: Double = 0
    private var lastFlush: Double
    private var closed = false
    private let clock: () -> Double

    /// Flush when a buffer grows past this many bytes.
    private static let flushBytes = 1 << 16
    /// ... or when this many seconds passed since the last flush.
    private static let flushSeconds = 2.0

    /// Opens (creating when missing) the run folder.
    ///
    /// - Parameters:
    ///   - hostname: the event file name's last part (default: this machine's name).
    ///   - clock: wall time in seconds since 1970 (tests inject one); values are made
    ///     non-decreasing.
    /// - Throws: `SwitchGymIOError` when the folder or files cannot be created;
    ///   ``MetricsError`` when an existing `metrics.csv` to resume is malformed.
    public init(directory: URL, start: Start = .fresh, hostname: String? = nil,
                clock: @escaping () -> Double = MetricsLogger.wallClock) throws {
        self.directory = directory
        self.clock = clock
        csvURL = directory.appendingPathComponent(Self.csvFileName)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw SwitchGymIOError(.system, "cannot create the run folder", path: directory.path,
                                   libraryMessage: error.localizedDescription)
        }
        let header = Array((Self.csvHeader + "\n").utf8)
        var written = header
        switch start {
        case .fresh:
            break
        case .resume(let step):
            if FileSystem.exists(csvURL.path) {
                let bytes = try FileSystem.readAll(csvURL.path)
                // The rows up to the last recorded checksum must be intact; a tail after it
                // (written after the last checkpoint) is not covered, and is cut by step.
                _ = try ContentChecksum.verifiedPrefix(of: bytes, path: csvURL.path)
                written = try Self.truncatedCSV(bytes, keepingThrough: step, path: csvURL.path)
            }
        }
        try AtomicOutput.write(bytes: written, to: csvURL.path)
        csvHash.update(written)
        var digest = csvHash
        try ContentChecksum.writeSidecar(for: csvURL.path, hex: digest.finalizeHex())
        csvFD = try Self.openForAppend(csvURL.path, create: false)

        let now = clock()
        lastWallTime = now
        lastFlush = now
        let previousEventFiles = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .contains { $0.hasPrefix("events.out.tfevents.") }
        let host = (hostname ?? Self.hostName()).map { $0 == "/" ? "_" : $0 }
        let base = "events.out.tfevents.\(Int(now.rounded(.down))).\(String(host))"
        var name = base
        var n = 0
        while FileSystem.exists(directory.appendingPathComponent(name).path) {
            n += 1
            name = base + ".\(n)"
        }
        eventFileURL = directory.appendingPathComponent(name)
        do {
            eventFD = try Self.openForAppend(eventFileURL.path, create: true)
        } catch {
            _ = Glibc.close(csvFD)
            throw error
        }
        TensorBoardEvents.appendRecord(TensorBoardEvents.fileVersionEvent(wallTime: now), to: &eventBuffer)
        switch start {
        case .resume(let step):
            TensorBoardEvents.appendRecord(TensorBoardEvents.sessionStartEvent(wallTime: now, step: Int64(step) + 1),
                                           to: &eventBuffer)
        case .fresh where previousEventFiles:
            // A new run in a folder that holds an older run's event files: START at step 0
            // makes TensorBoard drop everything it read before this file.
            TensorBoardEvents.appendRecord(TensorBoardEvents.sessionStartEvent(wallTime: now, step: 0), to: &eventBuffer)
        case .fresh:
            break
        }
        try flush()
    }

    deinit {
        if !closed {
            try? flush()
            _ = Glibc.close(csvFD)
            _ = Glibc.close(eventFD)
        }
    }

    /// Records one scalar at a global step.
    public func log(tag: String, value: Double, step: Int) {
        precondition(!closed, "MetricsLogger.log after close()")
        var now = clock()
        if now < lastWallTime { now = lastWallTime }
        lastWallTime = now

        csvBuffer.append(contentsOf: String(step).utf8)
        csvBuffer.append(UInt8(ascii: ","))
        Self.appendCSVField(tag, to: &csvBuffer)
        csvBuffer.append(UInt8(ascii: ","))
        csvBuffer.append(contentsOf: value.description.utf8)
        csvBuffer.append(UInt8(ascii: ","))
        csvBuffer.append(contentsOf: now.description.utf8)
        csvBuffer.append(UInt8(ascii: "\n"))

        TensorBoardEvents.appendRecord(
            TensorBoardEvents.scalarEvent(wallTime: now, step: Int64(step), tag: tag, value: Float(value)),
            to: &eventBuffer)

        if csvBuffer.count >= Self.flushBytes || eventBuffer.count >= Self.flushBytes
            || now - lastFlush >= Self.flushSeconds {
            do { try writeBuffers() } catch { if pendingError == nil { pendingError = error } }
        }
    }

    /// Writes the buffered rows and events to the files, and records `metrics.csv`'s
    /// checksum in `metrics.csv.sha256`.
    ///
    /// - Throws: the first write error since the last call (including one met by `log`).
    public func flush() throws {
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        guard !closed else { return }
        try writeBuffers()
        var h = csvHash
        try ContentChecksum.writeSidecar(for: csvURL.path, hex: h.finalizeHex())
    }

    /// Writes the buffered rows and events to the files.
    private func writeBuffers() throws {
        lastFlush = lastWallTime
        if !csvBuffer.isEmpty {
            try Self.writeAll(csvFD, csvBuffer, path: csvURL.path)
            csvHash.update(csvBuffer)
            csvBuffer.removeAll(keepingCapacity: true)
        }
        if !eventBuffer.isEmpty {
            try Self.writeAll(eventFD, eventBuffer, path: eventFileURL.path)
            eventBuffer.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes, fsyncs and closes both files. Further `log` calls are a programming error.
    public func close() throws {
        guard !closed else { return }
        defer {
            closed = true
            _ = Glibc.close(csvFD)
            _ = Glibc.close(eventFD)
        }
        try flush()
        guard fsync(csvFD) == 0 else { throw Self.systemError("fsync", csvURL.path) }
        guard fsync(eventFD) == 0 else { throw Self.systemError("fsync", eventFileURL.path) }
    }

    // MARK: - Helpers

    /// Seconds since 1970 from the system clock.
    public static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.isEmpty ? "localhost" : s
    }

    /// RFC 4180: quote a field holding a comma, a quote or a line break.
    static func appendCSVField(_ s: String, to out: inout [UInt8]) {
        let needsQuotes = s.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }
        guard needsQuotes else { out.append(contentsOf: s.utf8); return }
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            if b == UInt8(ascii: "\"") { out.append(b) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The CSV with only the header and the complete rows whose step is `<= step`. A last
    /// line without its newline (a run killed mid-write) is dropped.
    static func truncatedCSV(_ bytes: [UInt8], keepingThrough step: Int, path: String) throws -> [UInt8] {
        let header = Array((csvHeader + "\n").utf8)
        guard bytes.starts(with: header) else {
            throw MetricsError(path: path, line: 1, "expected the header '\(csvHeader)'")
        }
        var out = header
        var start = header.count
        var line = 2
        while start < bytes.count {
            guard let nl = bytes[start...].firstIndex(of: 10) else { break }  // partial last row
            let row = bytes[start..<nl]
            guard let comma = row.firstIndex(of: UInt8(ascii: ",")),
                  let s = Int(String(decoding: row[start..<comma], as: UTF8.self)) else {
                throw MetricsError(path: path, line: line, "expected a row starting with an integer step")
            }
            if s <= step { out.append(contentsOf: bytes[start...nl]) }
            start = nl + 1
            line += 1
        }
        return out
    }

    static func openForAppend(_ path: String, create: Bool) throws -> Int32 {
        let flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw systemError("open", path) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw systemError("write", path)
                }
                off += n
            }
        }
    }

    static func systemError(_ function: String, _ path: String) -> SwitchGymIOError {
        SwitchGymIOError(.system, "cannot write metrics", path: path, function: function,
                         libraryMessage: String(cString: strerror(errno)))
    }
}

/// A malformed `metrics.csv` met while resuming.
public struct MetricsError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var line: Int
    public var message: String
    public init(path: String, line: Int, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }
    public var description: String { "\(path):line \(line): \(message)" }
}
