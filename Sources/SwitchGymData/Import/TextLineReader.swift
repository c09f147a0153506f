/// The lines of a text file read as a stream, for commands that process one line at a time
/// (`switchgym act`): a regular file, a pipe, a FIFO or a device alike, plain or zstd/gzip
/// compressed, through the importer's fixed window (``LineCursor``), so memory does not grow
/// with the input. Lines end at `\n` (a `\r` before it is dropped); a line longer than
/// `maxLineBytes` is an error naming the file and the line.
public final class TextLineReader {
    private let source: ImportSource
    private var cursor: LineCursor

    /// The path named in errors.
    public var path: String { source.path }
    /// The 1-based number of the line last returned by ``next()``.
    public var line: Int { cursor.line }

    /// Opens `path`.
    /// - Throws: `SwitchGymIOError` naming the path when it cannot be opened or is a folder.
    public init(path: String, maxLineBytes: Int = 1 << 20) throws {
        source = try ImportSource(path: path)
        cursor = try LineCursor(source, maxLineBytes: maxLineBytes)
    }

    /// The next line without its terminator (invalid UTF-8 repaired), or `nil` at the end.
    /// - Throws: `TraceImportError` naming the line when it is too long; read errors.
    public func next() throws -> String? {
        guard let (s, e) = try cursor.next() else { return nil }
        return String(decoding: UnsafeBufferPointer(start: cursor.base + s, count: e - s), as: UTF8.self)
    }
}
