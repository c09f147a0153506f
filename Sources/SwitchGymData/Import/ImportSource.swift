#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymIO

/// The bytes of a source trace, read once from the start to the end in pieces: a regular
/// file, a pipe, a FIFO or a device alike (or bytes already in memory), decompressed on
/// the fly when they start with a zstd (`28 B5 2F FD`) or gzip (`1F 8B`) magic number.
///
/// Nothing is kept but the current piece: memory does not grow with the input. The
/// SHA-256 of the bytes as read (compressed, when they are) is computed along the way.
/// A compressed source is fed to its decoder ``compressedPiece`` bytes at a time, so one
/// step cannot expand far (a zstd block of 128 KiB needs at least 4 bytes: at most
/// 32 MiB per step, whatever the file).
final class ImportSource {
    /// The path named in errors.
    let path: String
    private let fd: Int32
    private let memory: UnsafeRawBufferPointer?
    private var memoryPos = 0
    private var hasher = SHA256()
    private var started = false
    private var decoder: (any StreamDecompressor)?
    private var finished = false
    /// Compressed bytes read and not yet decoded: `raw[rawPos..<rawCount]`.
    private var raw: UnsafeMutableRawPointer?
    private var rawPos = 0
    private var rawCount = 0
    private var rawEnded = false
    /// Decoded bytes not yet handed out: `pending[pendingPos...]`.
    private var pending = [UInt8]()
    private var pendingPos = 0
    /// The buffer of ``LineCursor``, freed with this source.
    private var window: UnsafeMutablePointer<UInt8>?

    static let rawPiece = 1 << 16
    static let compressedPiece = 1 << 10

    /// Opens `path` for reading (once: a FIFO's data would be gone on a second open).
    ///
    /// - Throws: ``SwitchGymIOError`` naming the path when it cannot be opened or is a folder.
    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            _ = try FileSystem.readAll(path)  // reports why it cannot be opened (the path and errno)
            throw SwitchGymIOError(.system, "cannot open the file", path: path)
        }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw SwitchGymIOError(.invalidArgument, "is a folder, expected a file", path: path)
        }
        self.fd = fd
        self.path = path
        memory = nil
    }

    /// Reads `bytes`, which the caller keeps alive and unchanged while this source is used.
    init(bytes: UnsafeRawBufferPointer, name: String) {
        fd = -1
        path = name
        memory = bytes
    }

    deinit {
        if fd >= 0 { close(fd) }
        raw?.deallocate()
        window?.deallocate()
    }

    /// A buffer of `capacity` bytes that lives as long as this source (one per source).
    func makeWindow(capacity: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(window == nil, "one window per source")
        let w = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        window = w
        return w
    }

    /// The SHA-256 (hex) of the bytes read so far: of the whole source once ``fill(_:_:)``
    /// has returned 0.
    func digest() -> String {
        var h = hasher
        return h.finalizeHex()
    }

    /// Writes up to `n` (at least 4) bytes of the (decompressed) content to `dst`.
    ///
    /// - Returns: the number of bytes written; 0 at the end of the content, and only then.
    /// - Throws: ``SwitchGymIOError`` when reading fails, or the compressed data is corrupt
    ///   or ends in the middle of a frame (`.truncated`).
    func fill(_ dst: UnsafeMutablePointer<UInt8>, _ n: Int) throws -> Int {
        if !started {
            started = true
            var got = 0
            while got < 4 {
                let r = try readRaw(UnsafeMutableRawPointer(dst + got), n - got)
                if r == 0 { break }
                got += r
            }
            let isZstd = got >= 4 && dst[0] == 0x28 && dst[1] == 0xB5 && dst[2] == 0x2F && dst[3] == 0xFD
            let isGzip = got >= 2 && dst[0] == 0x1F && dst[1] == 0x8B
            guard isZstd || isGzip else { return got }
            decoder = isZstd ? ZstdDecompressor(path: path) : try GzipDecompressor(path: path)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(Self.rawPiece, got), alignment: 16)
            buffer.copyMemory(from: dst, byteCount: got)
            raw = buffer
            rawCount = got
        }
        guard let decoder else { return try readRaw(UnsafeMutableRawPointer(dst), n) }
        while pendingPos == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingPos = 0
            if rawPos == rawCount {
                if rawEnded {
                    if !finished {
                        finished = true
                        try decoder.finish()
                    }
                    return 0
                }
                rawPos = 0
                rawCount = try readRaw(raw!, Self.rawPiece)
                if rawCount == 0 { rawEnded = true }
                continue
            }
            let k = min(Self.compressedPiece, rawCount - rawPos)
            try decoder.decompress(UnsafeRawBufferPointer(start: raw! + rawPos, count: k), into: &pending)
            rawPos += k
        }
        let k = min(n, pending.count - pendingPos)
        pending.withUnsafeBufferPointer { p in dst.update(from: p.baseAddress! + pendingPos, count: k) }
        pendingPos += k
        return k
    }

    /// Reads up to `n` bytes of the source as stored, adding them to the digest.
    private func readRaw(_ dst: UnsafeMutableRawPointer, _ n: Int) throws -> Int {
        if let memory {
            let k = min(n, memory.count - memoryPos)
            if k > 0 { dst.copyMemory(from: memory.baseAddress! + memoryPos, byteCount: k) }
            memoryPos += k
            hasher.update(UnsafeRawBufferPointer(start: dst, count: k))
            return k
        }
        while true {
            let r = read(fd, dst, n)
            if r < 0 && errno == EINTR { continue }
            if r < 0 {
                _ = try FileSystem.readAll(path)  // reports the read error with the path
                throw SwitchGymIOError(.system, "cannot read the file", path: path, function: "read")
            }
            hasher.update(UnsafeRawBufferPointer(start: dst, count: r))
            return r
        }
    }
}
