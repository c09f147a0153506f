import CZstd

/// Thin wrapper over libzstd: one-shot frames and a streaming decompressor.
public enum Zstd {
    /// The default compression level used for datasets.
    public static let defaultLevel: Int32 = 3

    static func check(_ code: Int, _ function: String, path: String?) throws -> Int {
        if ZSTD_isError(code) != 0 {
            let name = String(cString: ZSTD_getErrorName(code))
            throw SwitchGymIOError(.zstd, "zstd failed", path: path, function: function, libraryMessage: name)
        }
        return code
    }

    /// Compresses `input` into one zstd frame that records its content size.
    ///
    /// The corresponding C function is `ZSTD_compress`.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = defaultLevel) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = try out.withUnsafeMutableBytes { dst in
            try check(ZSTD_compress(dst.baseAddress, bound, input.baseAddress, input.count, level),
                      "ZSTD_compress", path: nil)
        }
        out.removeSubrange(n...)
        return out
    }

    /// Decompresses one complete frame whose header states the content size.
    ///
    /// - Throws: ``SwitchGymIOError/Kind/zstd`` when the frame is corrupt, truncated
    ///   or has no content size.
    public static func decompressFrame(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        if size == CZstd_CONTENTSIZE_ERROR() || size == CZstd_CONTENTSIZE_UNKNOWN() {
            throw SwitchGymIOError(.zstd, "zstd frame has no readable content size",
                                   function: "ZSTD_getFrameContentSize")
        }
        var out = [UInt8](repeating: 0, count: Int(size))
        let n = try out.withUnsafeMutableBytes { dst in
            try check(ZSTD_decompress(dst.baseAddress, Int(size), input.baseAddress, input.count),
                      "ZSTD_decompress", path: nil)
        }
        guard n == Int(size) else {
            throw SwitchGymIOError(.zstd, "zstd frame decompressed to \(n) bytes, header said \(size)",
                                   function: "ZSTD_decompress")
        }
        return out
    }
}

/// A streaming zstd decompressor that owns its `ZSTD_DCtx`.
///
/// Feed compressed bytes with ``decompress(_:into:)``; call ``finish()`` at end of
/// input to detect a truncated stream.
public final class ZstdDecompressor {
    private let ctx: OpaquePointer
    private var lastHint = 0
    /// The path used in error messages.
    public let path: String?

    public init(path: String? = nil) {
        guard let c = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx: out of memory") }
        ctx = c
        self.path = path
    }
    deinit { ZSTD_freeDCtx(ctx) }

    /// Decompresses as much of `input` as possible, appending output to `output`.
    ///
    /// The corresponding C function is `ZSTD_decompressStream`.
    /// - Returns: the number of input bytes consumed (always all of them).
    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let chunk = max(ZSTD_DStreamOutSize(), 1 << 17)
        repeat {
            var produced = 0
            var hint = 0
            try withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 16) { tmp in
                var outBuf = ZSTD_outBuffer(dst: tmp.baseAddress, size: chunk, pos: 0)
                hint = try Zstd.check(ZSTD_decompressStream(ctx, &outBuf, &inBuf), "ZSTD_decompressStream", path: path)
                produced = outBuf.pos
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: tmp[0..<produced]))
            }
            lastHint = hint
            if produced < chunk && inBuf.pos == inBuf.size { break }
        } while true
    }

    /// Checks that the stream ended on a frame boundary.
    /// - Throws: ``SwitchGymIOError/Kind/truncated`` when a frame is incomplete.
    public func finish() throws {
        if lastHint != 0 {
            throw SwitchGymIOError(.truncated, "zstd stream ends in the middle of a frame", path: path,
                                   function: "ZSTD_decompressStream",
                                   hint: "the file was cut short; re-download or re-compress it")
        }
    }
}
