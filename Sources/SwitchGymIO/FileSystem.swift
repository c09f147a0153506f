#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX helpers shared by the readers and writers.
public enum FileSystem {
    /// Whether a file or folder exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// The size of a regular file in bytes.
    public static func size(of path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw systemError("stat", path: path) }
        return Int(st.st_size)
    }

    /// Reads a whole file of at most `limit` bytes (`what` it should be, for the message): a
    /// larger file, or a pipe or device that goes on past the limit, is refused once the limit
    /// is passed, without reading the rest.
    /// - Throws: `SwitchGymIOError` (`.invalidArgument`) naming the path and the limit.
    public static func readAll(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        try readAll(path, upTo: limit, what: what)
    }

    /// Reads a whole file.
    /// The corresponding C functions are `open` and `read`.
    public static func readAll(_ path: String) throws -> [UInt8] {
        try readAll(path, upTo: Int.max, what: nil)
    }

    private static func readAll(_ path: String, upTo limit: Int, what: String?) throws -> [UInt8] {
        func tooLarge() -> SwitchGymIOError {
            SwitchGymIOError(.invalidArgument, "larger than \(limit) bytes" + (what.map { "; expected \($0)" } ?? ""), path: path)
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw systemError("open", path: path) }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError("fstat", path: path) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw SwitchGymIOError(.invalidArgument, "is a folder, expected a file", path: path)
        }
        // Read straight into uninitialised storage sized from fstat (+1 byte to see
        // end of file without a second allocation); keep reading in chunks when the
        // file is longer than reported (special files report 0).
        if Int(st.st_size) > limit { throw tooLarge() }
        var readError: Int32 = 0
        var atEnd = false
        var out = [UInt8](unsafeUninitializedCapacity: max(Int(st.st_size), 0) + 1) { buf, count in
            count = 0
            while count < buf.count {
                let n = Glibc.read(fd, buf.baseAddress! + count, buf.count - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if n == 0 { atEnd = true; return }
                count += n
            }
        }
        if readError != 0 {
            errno = readError
            throw systemError("read", path: path)
        }
        if !atEnd {
            let chunk = 1 << 20
            try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { tmp in
                while true {
                    let n = Glibc.read(fd, tmp.baseAddress!, chunk)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw systemError("read", path: path)
                    }
                    if n == 0 { break }
                    if out.count + n > limit { throw tooLarge() }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: tmp[0..<n]))
                }
            }
        }
        return out
    }

    /// Removes a file if it exists, ignoring errors.
    public static func removeIfPresent(_ path: String) { unlink(path) }

    /// The folder part of a path (`.` when there is none).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of a path.
    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Writes a warning line to standard error (the default `warn` of the readers).
    public static func printWarning(_ message: String) {
        let line = Array((message + "\n").utf8)
        line.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                off += n
            }
        }
    }

    static func systemError(_ function: String, path: String?) -> SwitchGymIOError {
        let code = errno
        let msg = String(cString: strerror(code))
        let kind: SwitchGymIOError.Kind = code == ENOENT ? .notFound : .system
        let summary = code == ENOENT ? "no such file or folder" : "system call failed"
        return SwitchGymIOError(kind, summary, path: path, function: function, libraryMessage: msg)
    }
}
