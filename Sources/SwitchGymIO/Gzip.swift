import CZlib

/// A streaming gzip (RFC 1952) decompressor that owns its zlib `z_stream`.
///
/// Concatenated gzip members are decoded one after another, as `gzip -d` does.
public final class GzipDecompressor {
    private var stream = z_stream()
    private var ended = true
    private var sawAny = false
    /// The path used in error messages.
    public let path: String?

    public init(path: String? = nil) throws {
        self.path = path
        try begin()
    }
    /// Output scratch for `inflate`, allocated once: feeding one byte at a time must not
    /// cost a 128 KiB buffer per call.
    private let scratch = UnsafeMutablePointer<Bytef>.allocate(capacity: GzipDecompressor.scratchSize)
    private static let scratchSize = 1 << 17
    deinit {
        if !ended { inflateEnd(&stream) }
        scratch.deallocate()
    }

    private func begin() throws {
        stream = z_stream()
        // 15 + 16: a gzip wrapper around a 32 KiB-window deflate stream.
        let rc = CZlib_inflateInit2(&stream, 15 + 16)
        guard rc == Z_OK else {
            throw SwitchGymIOError(.zlib, "cannot start gzip decoder", path: path, function: "inflateInit2",
                                   libraryMessage: "code \(rc)")
        }
        ended = false
    }

    /// Decompresses all of `input`, appending the output to `output`.
    ///
    /// The corresponding C function is `inflate`.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard input.count > 0 else { return }
        sawAny = true
        let base = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        var offset = 0
        let chunk = Self.scratchSize
        while offset < input.count {
            if ended { try begin() }
            stream.next_in = base + offset
            stream.avail_in = uInt(input.count - offset)
            var rc: Int32 = Z_OK
            repeat {
                stream.next_out = scratch
                stream.avail_out = uInt(chunk)
                rc = inflate(&stream, Z_NO_FLUSH)
                output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: chunk - Int(stream.avail_out)))
                if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR {
                    let msg = stream.msg.map { String(cString: $0) } ?? "code \(rc)"
                    throw SwitchGymIOError(.zlib, "corrupt gzip data", path: path, function: "inflate",
                                           libraryMessage: msg)
                }
            } while rc == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
            offset = input.count - Int(stream.avail_in)
            if rc == Z_STREAM_END {
                inflateEnd(&stream)
                ended = true
            } else if rc == Z_BUF_ERROR || stream.avail_in == 0 {
                break
            }
        }
    }

    /// Checks that the input ended at the end of a gzip member.
    /// - Throws: ``SwitchGymIOError/Kind/truncated`` when the last member is incomplete.
    public func finish() throws {
        if !ended && (sawAny) {
            throw SwitchGymIOError(.truncated, "gzip stream ends before its end-of-member marker", path: path,
                                   function: "inflate", hint: "the file was cut short; re-download or re-compress it")
        }
    }

    /// Compresses `input` as one gzip member (used by tests and fixtures).
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var s = z_stream()
        guard CZlib_deflateInit2(&s, level, 15 + 16) == Z_OK else {
            throw SwitchGymIOError(.zlib, "cannot start gzip encoder", function: "deflateInit2")
        }
        defer { deflateEnd(&s) }
        let bound = Int(deflateBound(&s, uLong(input.count))) + 32
        var out = [UInt8](repeating: 0, count: bound)
        var input = input
        let rc = input.withUnsafeMutableBytes { src in
            out.withUnsafeMutableBytes { dst -> Int32 in
                s.next_in = src.baseAddress?.assumingMemoryBound(to: Bytef.self)
                s.avail_in = uInt(src.count)
                s.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
                s.avail_out = uInt(dst.count)
                return deflate(&s, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else {
            throw SwitchGymIOError(.zlib, "gzip compression failed", function: "deflate", libraryMessage: "code \(rc)")
        }
        out.removeSubrange(Int(s.total_out)...)
        return out
    }
}
