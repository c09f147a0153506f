#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old content or the complete new
/// content, never a half-written file.
///
/// The body writes to a temporary file in the same folder (so the final `rename`
/// stays on one file system); the file is then `fsync`ed, renamed over the
/// destination, and the folder is `fsync`ed. If the body throws, the temporary
/// file is removed and any existing destination is left untouched.
///
/// Before anything is written, ``OutputGuard/check(output:inputs:)`` refuses a
/// destination that is one of the current command's inputs or is not a regular file
/// (a FIFO or a device would otherwise be replaced by a regular file).
public enum AtomicOutput {
    /// Runs `body` with a temporary path, then moves the result to `path`.
    ///
    /// - Parameter path: the destination; its folder must exist.
    /// - Returns: what `body` returned.
    /// - Throws: `SwitchGymIOError` (`.invalidArgument`) when ``OutputGuard`` refuses `path`.
    public static func write<R>(to path: String, _ body: (_ temporaryPath: String) throws -> R) throws -> R {
        try OutputGuard.check(output: path)
        let dir = FileSystem.directory(of: path)
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw SwitchGymIOError(.notFound, "output folder does not exist", path: path,
                                   hint: "create the folder \(dir) first")
        }
        let tmp = dir + "/." + FileSystem.baseName(of: path) + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let result: R
        do {
            result = try body(tmp)
            try syncFile(tmp)
            // Again just before the rename: the destination may have changed meanwhile.
            try OutputGuard.check(output: path)
            guard rename(tmp, path) == 0 else { throw FileSystem.systemError("rename", path: path) }
        } catch {
            FileSystem.removeIfPresent(tmp)
            throw error
        }
        syncDirectory(dir)
        return result
    }

    /// Atomically replaces `path` with `bytes`.
    public static func write(bytes: [UInt8], to path: String) throws {
        try write(to: path) { tmp in
            let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw FileSystem.systemError("open", path: tmp) }
            defer { _ = close(fd) }
            var off = 0
            try bytes.withUnsafeBytes { raw in
                while off < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileSystem.systemError("write", path: path)
                    }
                    off += n
                }
            }
        }
    }

    /// Atomically replaces `path` with the UTF-8 text.
    public static func write(text: String, to path: String) throws {
        try write(bytes: Array(text.utf8), to: path)
    }

    static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileSystem.systemError("open", path: path) }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw FileSystem.systemError("fsync", path: path) }
    }

    static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); _ = close(fd) }
    }
}
