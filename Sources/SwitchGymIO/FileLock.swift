#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a file (`flock`), held until the value is released.
///
/// The lock belongs to the open file, so it is released when the process ends, however
/// it ends; a lock file left behind by a killed process does not block the next one.
/// The corresponding C functions are `open` and `flock`.
public final class FileLock {
    /// The lock file.
    public let path: String
    private let fd: Int32

    /// Takes the lock on `path` (creating the file), without waiting.
    ///
    /// - Returns: nil when another open file (in this or another process) holds it.
    /// - Throws: `SwitchGymIOError` when the file cannot be opened or locked.
    public static func tryLock(_ path: String) throws -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystem.systemError("open", path: path) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let busy = errno == EWOULDBLOCK
            let error = FileSystem.systemError("flock", path: path)
            _ = close(fd)
            if busy { return nil }
            throw error
        }
        return FileLock(path: path, fd: fd)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { _ = close(fd) }
}
