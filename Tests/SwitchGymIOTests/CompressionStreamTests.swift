import Foundation
import Testing
@testable import SwitchGymIO

@Suite("zstd and gzip streams")
struct CompressionStreamTests {
    static func sample(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { i in i % 5 == 0 ? UInt8.random(in: 0...255, using: &g) : UInt8(i % 13 + 48) }
    }

    @Test("zstd frames round-trip and the stream decoder accepts any piece size", arguments: [1, 7, 4096, 1 << 20])
    func zstdStream(piece: Int) throws {
        let data = Self.sample(300_000)
        let frame = try data.withUnsafeBytes { try Zstd.compress($0) }
        #expect(try frame.withUnsafeBytes { try Zstd.decompressFrame($0) } == data)
        var out = [UInt8]()
        try frame.withUnsafeBytes { try ZstdDecompressor(path: "x.zst").decompressAll($0, into: &out, piece: piece) }
        #expect(out == data)
    }

    @Test("a truncated zstd stream is detected at finish")
    func zstdTruncated() throws {
        let data = Self.sample(100_000)
        let frame = try data.withUnsafeBytes { try Zstd.compress($0) }
        let d = ZstdDecompressor(path: "cut.zst")
        var out = [UInt8]()
        try frame[0..<(frame.count / 2)].withUnsafeBytes { try d.decompress($0, into: &out) }
        let e = #expect(throws: SwitchGymIOError.self) { try d.finish() }
        #expect(e?.kind == .truncated)
        #expect(e?.description.contains("cut.zst") == true)
    }

    @Test("garbage fed to the zstd decoder throws with zstd's message")
    func zstdGarbage() throws {
        let d = ZstdDecompressor(path: "bad.zst")
        var out = [UInt8]()
        let junk: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD] + Array(repeating: 0xFF, count: 64)
        let e = #expect(throws: SwitchGymIOError.self) { try junk.withUnsafeBytes { try d.decompress($0, into: &out) } }
        #expect(e?.kind == .zstd)
        #expect(e?.function == "ZSTD_decompressStream")
        #expect(e?.libraryMessage?.isEmpty == false)
    }

    @Test("gzip round-trips, including concatenated members, in any piece size", arguments: [1, 100, 65_536])
    func gzipStream(piece: Int) throws {
        let a = Self.sample(50_000), b = Self.sample(20_000)
        let gz = try GzipDecompressor.compress(a) + GzipDecompressor.compress(b)
        var out = [UInt8]()
        try gz.withUnsafeBytes { try GzipDecompressor(path: "x.gz").decompressAll($0, into: &out, piece: piece) }
        #expect(out == a + b)
    }

    @Test("a truncated or corrupt gzip stream throws")
    func gzipBad() throws {
        let gz = try GzipDecompressor.compress(Self.sample(50_000))
        let d = try GzipDecompressor(path: "cut.gz")
        var out = [UInt8]()
        try gz[0..<(gz.count - 10)].withUnsafeBytes { try d.decompress($0, into: &out) }
        let e = #expect(throws: SwitchGymIOError.self) { try d.finish() }
        #expect(e?.kind == .truncated)
        #expect(e?.description.contains("cut.gz") == true)

        var bad = gz
        for i in 20..<60 { bad[i] ^= 0xA5 }
        let d2 = try GzipDecompressor(path: "bad.gz")
        var out2 = [UInt8]()
        let e2 = #expect(throws: SwitchGymIOError.self) {
            try bad.withUnsafeBytes { try d2.decompress($0, into: &out2) }
            try d2.finish()
        }
        #expect(e2 != nil)
    }
}
