/// A streaming decoder of a compressed byte stream (``ZstdDecompressor``,
/// ``GzipDecompressor``): feed pieces, then check that the stream ended cleanly.
public protocol StreamDecompressor: AnyObject {
    /// Decompresses all of `input`, appending the output to `output`.
    func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws
    /// Throws a `.truncated` error when the input stopped in the middle of a frame or member.
    func finish() throws
}

extension StreamDecompressor {
    /// Decompresses a whole buffer in pieces of `piece` bytes and checks its end.
    ///
    /// - Parameter limit: the most output bytes accepted, checked after each piece (so the
    ///   output may pass it by what one piece expands to: a compression bomb stops early).
    /// - Throws: `.invalidArgument` naming `path` and the limit when the output passes it.
    public func decompressAll(_ input: UnsafeRawBufferPointer, into output: inout [UInt8],
                              piece: Int = 1 << 20, limit: Int = .max, path: String? = nil) throws {
        var i = 0
        while i < input.count {
            let j = min(input.count, i + piece)
            try decompress(UnsafeRawBufferPointer(rebasing: input[i..<j]), into: &output)
            if output.count > limit {
                throw SwitchGymIOError(.invalidArgument, "decompresses to more than \(limit) bytes", path: path,
                                       hint: "raise the limit if the source really is this large")
            }
            i = j
        }
        try finish()
    }
}

extension ZstdDecompressor: StreamDecompressor {}
extension GzipDecompressor: StreamDecompressor {}
