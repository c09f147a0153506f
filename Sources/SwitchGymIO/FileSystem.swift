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

    /// Reads a whole file.
    /// The corresponding C functions are `open` and `read`.
    public static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw systemError("open", path: path) }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError("fstat", path: path) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw SwitchGymIOError(.invalidArgument, "is a folder, expected a file", path: path)
        }
        var out = [UInt8]()
        out.reserveCapacity(Int(st.st_size) + 1)
        var chunk = 1 << 20
        while true {
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: chunk))
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + start, chunk) }
            if n < 0 {
                if errno == EINTR { out.removeLast(chunk); continue }
                throw systemError("read", path: path)
            }
            out.removeLast(chunk - n)
            if n == 0 { break }
            chunk = min(chunk * 2, 1 << 26)
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

    static func systemError(_ function: String, path: String?) -> SwitchGymIOError {
        let code = errno
        let msg = String(cString: strerror(code))
        let kind: SwitchGymIOError.Kind = code == ENOENT ? .notFound : .system
        let summary = code == ENOENT ? "no such file or folder" : "system call failed"
        return SwitchGymIOError(kind, summary, path: path, function: function, libraryMessage: msg)
    }
}
