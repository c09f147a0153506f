#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Refuses outputs that would destroy an input or a file that is not a regular file.
///
/// Every file SwitchGym writes goes through ``AtomicOutput``, which calls
/// ``check(output:inputs:)`` with the inputs of the enclosing ``protecting(_:_:)`` scope
/// (the command line wraps each command in one). "The same file" is decided by device
/// and inode (`stat`, following symbolic links), so `./a.csv`, an absolute path, a
/// symbolic link and a hard link to the input are all caught; an output that does not
/// exist yet is compared by its resolved path (``resolvedPath(_:)``).
public enum OutputGuard {
    /// The files the current command reads (a task-local value, set by ``protecting(_:_:)``).
    @TaskLocal public static var inputs: [String] = []

    /// Runs `body` with `inputs` added to the files that no output may replace.
    public static func protecting<R>(_ inputs: [String], _ body: () throws -> R) rethrows -> R {
        try $inputs.withValue(Self.inputs + inputs) { try body() }
    }

    /// Checks that `output` may be replaced by a new regular file.
    ///
    /// - Throws: `SwitchGymIOError` with kind `.invalidArgument` when `output` is the same
    ///   file as one of `inputs` (the message names both), or exists and is not a regular
    ///   file (a folder, a FIFO, a character or block device, a socket), or is empty.
    public static func check(output: String, inputs: [String] = OutputGuard.inputs) throws {
        guard !output.isEmpty else {
            throw SwitchGymIOError(.invalidArgument, "the output path is empty", path: nil,
                                   hint: "pass the path of the file to write (-o/--out PATH)")
        }
        var out = stat()
        if stat(output, &out) == 0 {
            let type = out.st_mode & S_IFMT
            guard type == S_IFREG else {
                throw SwitchGymIOError(.invalidArgument, "the output is \(describe(type)), not a regular file; "
                                       + "refusing to replace it", path: output,
                                       hint: "pass the path of a regular file (or of one that does not exist yet)")
            }
        }
        let resolvedOutput = resolvedPath(output)
        for input in inputs {
            var inp = stat()
            let same = stat(input, &inp) == 0 && stat(output, &out) == 0
                ? inp.st_dev == out.st_dev && inp.st_ino == out.st_ino
                : resolvedPath(input) == resolvedOutput
            if same {
                throw SwitchGymIOError(.invalidArgument, "the output is the same file as the input \(input); "
                                       + "writing it would destroy the input", path: output,
                                       hint: "choose another output path")
            }
        }
    }

    /// Checks that `folder` may be written into as a folder (a run folder, an export folder):
    /// it is a folder or does not exist yet, and no component of its path is a file.
    ///
    /// - Throws: `SwitchGymIOError` with kind `.invalidArgument` naming `folder` when it is
    ///   empty, an existing regular file or another special file, or lies under a file.
    public static func check(folder: String) throws {
        guard !folder.isEmpty else {
            throw SwitchGymIOError(.invalidArgument, "the output folder path is empty", path: nil,
                                   hint: "pass the path of a folder (new or existing)")
        }
        var st = stat()
        if stat(folder, &st) == 0 {
            let type = st.st_mode & S_IFMT
            guard type == S_IFDIR else {
                throw SwitchGymIOError(.invalidArgument, "the output folder is \(type == S_IFREG ? "an existing file" : describe(type)), "
                                       + "not a folder; refusing to replace it", path: folder,
                                       hint: "pass the path of a folder (new or existing), not of a file")
            }
        } else if errno == ENOTDIR {
            throw SwitchGymIOError(.invalidArgument, "a component of the output folder's path is a file, not a folder",
                                   path: folder, hint: "pass the path of a folder (new or existing)")
        }
    }

    /// Whether two paths name the same file: the same device and inode when both exist,
    /// else the same resolved path.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0 && stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        return resolvedPath(a) == resolvedPath(b)
    }

    /// The absolute path with symbolic links resolved (`realpath`), for a path that may
    /// not exist yet: its folder is resolved and its last component appended.
    public static func resolvedPath(_ path: String) -> String {
        if let r = realPath(path) { return r }
        let dir = FileSystem.directory(of: path)
        let base = FileSystem.baseName(of: path)
        if let r = realPath(dir) { return (r == "/" ? "" : r) + "/" + base }
        if path.hasPrefix("/") { return path }
        return (realPath(".") ?? ".") + "/" + path
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    private static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }
}
