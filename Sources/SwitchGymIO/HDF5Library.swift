import CHDF5
import CZstd

/// Process-wide HDF5 set-up: opens the library once, silences its own stderr
/// printer (SwitchGym reports errors itself) and registers the zstd filter.
enum HDF5Library {
    /// The registered id of the zstd filter (HDF Group filter registry: 32015),
    /// the id hdf5plugin and the HDF5Plugin-Zstandard filter use.
    static let zstdFilterID: H5Z_filter_t = 32015

    private static let initialized: Bool = {
        H5open()
        CHDF5_silence_errors()
        let rc = CHDF5_register_filter(zstdFilterID, zstdFilterCallback)
        precondition(rc >= 0, "H5Zregister failed for the zstd filter")
        return true
    }()

    /// The file-access property list every open and create uses: HDF5's own file locking
    /// off. HDF5 takes an `flock` on each file it opens, on a descriptor opened without
    /// close-on-exec; a child process spawned while a file is being written inherits that
    /// descriptor, and the lock with it, so a later open of the renamed file fails with
    /// EAGAIN for as long as the child lives (seen in CI: a checkpoint written while a
    /// parallel test ran the CLI). SwitchGym never shares a file between a writer and a
    /// reader: writes go to a temporary name and are renamed into place complete, and
    /// every read is checked against the file's checksums, so the lock protects nothing.
    static let fileAccess: hid_t = {
        _ = initialized
        let fapl = H5Pcreate(CHDF5_P_FILE_ACCESS())
        precondition(fapl >= 0, "H5Pcreate(H5P_FILE_ACCESS) failed")
        precondition(H5Pset_file_locking(fapl, false, true) >= 0, "H5Pset_file_locking failed")
        return fapl
    }()

    /// The library is built thread-safe on Debian, where the automatic error printer is
    /// a per-thread setting: silence it on every thread that opens or creates a file, not
    /// only on the first one (otherwise `HDF5-DIAG` dumps reach stderr from other threads).
    static func ensureInitialized() {
        _ = initialized
        CHDF5_silence_errors()
    }

    /// Turns a negative HDF5 status into an error that carries the function,
    /// the path and HDF5's own innermost message.
    @discardableResult
    static func check<T: BinaryInteger>(_ status: T, _ function: String, path: String?,
                                        location: String? = nil, summary: String? = nil,
                                        hint: String? = nil) throws -> T {
        if status < 0 {
            throw error(function, path: path, location: location, summary: summary, hint: hint)
        }
        return status
    }

    static func error(_ function: String, path: String?, location: String? = nil, summary: String? = nil,
                      hint: String? = nil) -> SwitchGymIOError {
        var buf = [CChar](repeating: 0, count: 512)
        _ = CHDF5_last_error_message(&buf, buf.count)
        let msg = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return SwitchGymIOError(.hdf5, summary ?? "HDF5 call failed", path: path, location: location,
                                function: function, libraryMessage: msg, hint: hint)
    }
}

/// The zstd HDF5 filter (id 32015): each chunk is one zstd frame with its
/// content size in the header, so any reader of the registered filter decodes it.
/// `cd_values[0]`, when present, is the compression level.
///
/// Returns the size of the new buffer, or 0 on failure as HDF5 requires.
private let zstdFilterCallback: H5Z_func_t = { flags, cdNelmts, cdValues, nbytes, bufSize, buf in
    guard let buf, let bufSize, let input = buf.pointee else { return 0 }
    if flags & CHDF5_Z_FLAG_REVERSE() != 0 {
        let size = ZSTD_getFrameContentSize(input, nbytes)
        if size == CZstd_CONTENTSIZE_ERROR() || size == CZstd_CONTENTSIZE_UNKNOWN() { return 0 }
        guard let out = H5allocate_memory(Int(size), false) else { return 0 }
        let n = ZSTD_decompress(out, Int(size), input, nbytes)
        if ZSTD_isError(n) != 0 || n != Int(size) {
            H5free_memory(out)
            return 0
        }
        H5free_memory(input)
        buf.pointee = out
        bufSize.pointee = Int(size)
        return n
    } else {
        let level: Int32 = (cdNelmts > 0 && cdValues != nil) ? Int32(bitPattern: cdValues![0]) : Zstd.defaultLevel
        let bound = ZSTD_compressBound(nbytes)
        guard let out = H5allocate_memory(bound, false) else { return 0 }
        let n = ZSTD_compress(out, bound, input, nbytes, level)
        if ZSTD_isError(n) != 0 {
            H5free_memory(out)
            return 0
        }
        H5free_memory(input)
        buf.pointee = out
        bufSize.pointee = bound
        return n
    }
}
