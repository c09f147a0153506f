import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SwitchGymIO

@Suite("HDF5File")
struct HDF5FileTests {
    @Test("numeric datasets round-trip under every compression", arguments: [
        HDF5Compression.none, .zstd(level: 3), .zstd(level: 19), .deflate(level: 6),
    ])
    func roundTrip(compression: HDF5Compression) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/a.h5"
        var g = SystemRandomNumberGenerator()
        let a: [Int64] = (0..<100_003).map { _ in Int64.random(in: -1_000_000...1_000_000_000, using: &g) }
        let b: [UInt32] = (0..<100_003).map { UInt32($0 % 7) }
        let c: [Double] = (0..<17).map { Double($0) * 0.25 - 1 }
        do {
            let f = try HDF5File.create(path: path)
            try f.write("/a", a, chunk: 4096, compression: compression)
            try f.createGroup("/g/h")
            try f.write("/g/h/b", b, chunk: 1000, compression: compression)
            try f.write("/c", c, compression: compression)
            try f.write("/empty", [Float](), compression: compression)
            try f.close()
        }
        let f = try HDF5File.open(path: path)
        #expect(try f.read("/a", as: Int64.self) == a)
        #expect(try f.read("/g/h/b", as: UInt32.self) == b)
        #expect(try f.read("/c", as: Double.self) == c)
        #expect(try f.read("/empty", as: Float.self).isEmpty)
        #expect(try f.length(of: "/a") == a.count)
        // HDF5 converts on read: uint32 values read back as int64.
        #expect(try f.read("/g/h/b", as: Int64.self) == b.map(Int64.init))
        let filters = try f.filters(of: "/a")
        switch compression {
        case .none: #expect(filters.isEmpty)
        case .zstd: #expect(filters == [2, 32015])  // shuffle, then zstd
        case .deflate: #expect(filters == [2, 1])  // shuffle, then deflate
        }
    }

    /// CI saw a checkpoint that could not be read back ("unable to lock file, errno = 11"):
    /// a CLI test spawned a child while the checkpoint was open for writing, the child
    /// inherited HDF5's descriptor and its `flock`, and the renamed file stayed locked.
    /// An exclusive `flock` held on another descriptor stands in for that child here.
    @Test("a file another descriptor holds an flock on still opens, for reading and writing")
    func opensDespiteAnInheritedLock() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/locked.h5"
        do {
            let f = try HDF5File.create(path: path)
            try f.write("/x", [1.5, 2.5], compression: .none)
            try f.close()
        }
        let fd = Glibc.open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { Glibc.close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let r = try HDF5File.open(path: path)
        #expect(try r.read("/x", as: Double.self) == [1.5, 2.5])
        try r.close()
        let w = try HDF5File.open(path: path, writable: true)
        try w.write("/y", [Int64(7)], compression: .none)
        try w.close()
        #expect(try HDF5File.open(path: path).read("/y", as: Int64.self) == [7])
        // A file created while another descriptor locks the name's old inode.
        let again = try HDF5File.create(path: dir + "/fresh.h5")
        try again.close()
    }

    @Test("zstd chunks make sorted timestamps much smaller than raw")
    func zstdCompresses() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let values = (0..<1_000_000).map { Int64($0) * 1234 + Int64($0 % 97) }
        for (name, c) in [("raw", HDF5Compression.none), ("zstd", .zstd(level: 3))] {
            let f = try HDF5File.create(path: dir + "/\(name).h5")
            try f.write("/t", values, compression: c)
            try f.close()
        }
        let raw = try FileSystem.size(of: dir + "/raw.h5")
        let z = try FileSystem.size(of: dir + "/zstd.h5")
        #expect(raw > 8_000_000)
        #expect(z * 4 < raw, "zstd file \(z) B vs raw \(raw) B")
    }

    @Test("string datasets and attributes round-trip, including UTF-8")
    func stringsAndAttributes() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/s.h5"
        let names = ["alpha", "", "β-stream", String(repeating: "x", count: 300)]
        do {
            let f = try HDF5File.create(path: path)
            try f.writeStrings("/names", names)
            try f.write("/d", [Int32(1), 2, 3])
            try f.setAttribute("title", "héllo")
            try f.setAttribute("count", Int64(-42))
            try f.setAttribute("seed", UInt64.max)
            try f.setAttribute("ratio", 0.125)
            try f.setAttribute("unit", "us", on: "/d")
            try f.setAttribute("title", "replaced")
            try f.close()
        }
        let f = try HDF5File.open(path: path)
        #expect(try f.readStrings("/names") == names)
        #expect(try f.stringAttribute("title") == "replaced")
        #expect(try f.attribute("count", as: Int64.self) == -42)
        #expect(try f.attribute("seed", as: UInt64.self) == UInt64.max)
        #expect(try f.attribute("ratio", as: Double.self) == 0.125)
        #expect(try f.stringAttribute("unit", on: "/d") == "us")
        #expect(f.hasAttribute("title"))
        #expect(!f.hasAttribute("nope"))
        #expect(f.exists("/d"))
        #expect(!f.exists("/missing/deeper"))
    }

    @Test("missing objects give notFound errors naming the file and object")
    func missingObjects() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/m.h5"
        let w = try HDF5File.create(path: path)
        try w.write("/x", [Int64(1)])
        try w.close()
        let f = try HDF5File.open(path: path)
        let e1 = #expect(throws: SwitchGymIOError.self) { try f.read("/nope", as: Int64.self) }
        #expect(e1?.kind == .notFound)
        #expect(e1?.description.contains(path) == true)
        #expect(e1?.description.contains("/nope") == true)
        let e2 = #expect(throws: SwitchGymIOError.self) { try f.stringAttribute("absent") }
        #expect(e2?.kind == .notFound)
        let e3 = #expect(throws: SwitchGymIOError.self) { try f.stringAttribute("absent", on: "/x") }
        #expect(e3?.description.contains("absent") == true)
    }

    @Test("opening a file that is not HDF5, missing, or truncated fails clearly")
    func badFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let missing = #expect(throws: SwitchGymIOError.self) { try HDF5File.open(path: dir + "/none.h5") }
        #expect(missing?.kind == .notFound)

        try "time,stream\n1,a\n".write(toFile: dir + "/text.h5", atomically: false, encoding: .utf8)
        let notH5 = #expect(throws: SwitchGymIOError.self) { try HDF5File.open(path: dir + "/text.h5") }
        #expect(notH5?.kind == .format)
        #expect(notH5?.description.contains("text.h5") == true)
        #expect(notH5?.description.contains("not an HDF5 file") == true)

        // A valid file cut at several points: either open fails or reading the data fails,
        // always with an error (never a crash, never silently wrong data).
        let path = dir + "/full.h5"
        let values = (0..<200_000).map { Int64($0) * 3 }
        let w = try HDF5File.create(path: path)
        try w.write("/v", values, chunk: 16_384)
        try w.close()
        let bytes = try FileSystem.readAll(path)
        for cut in [bytes.count / 2, bytes.count - 100, 900, 100] {
            let t = dir + "/cut\(cut).h5"
            try AtomicOutput.write(bytes: Array(bytes[0..<cut]), to: t)
            let err = #expect(throws: SwitchGymIOError.self, "cut at \(cut) of \(bytes.count)") {
                let f = try HDF5File.open(path: t)
                _ = try f.read("/v", as: Int64.self)
            }
            #expect(err?.description.contains("cut\(cut).h5") == true)
        }
    }

    @Test("a corrupted zstd chunk is reported by H5Dread, not decoded into garbage")
    func corruptChunk() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/c.h5"
        let values = (0..<300_000).map { Int64($0) }
        let w = try HDF5File.create(path: path)
        try w.write("/v", values, chunk: 65_536, compression: .zstd(level: 3), shuffle: false)
        try w.close()
        var bytes = try FileSystem.readAll(path)
        // Find a zstd frame magic number (28 B5 2F FD) and damage the bytes after it.
        let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        let at = (0..<(bytes.count - 64)).first { Array(bytes[$0..<$0 + 4]) == magic }
        let frame = try #require(at)
        for i in (frame + 6)..<(frame + 40) { bytes[i] ^= 0x5A }
        try AtomicOutput.write(bytes: bytes, to: path)
        let f = try HDF5File.open(path: path)
        let err = #expect(throws: SwitchGymIOError.self) { try f.read("/v", as: Int64.self) }
        #expect(err?.function == "H5Dread")
        #expect(err?.kind == .hdf5)
    }

    @Test("compression settings parse from the command-line spelling")
    func compressionParsing() {
        #expect(HDF5Compression(parsing: "zstd") == .zstd(level: 3))
        #expect(HDF5Compression(parsing: "zstd:19") == .zstd(level: 19))
        #expect(HDF5Compression(parsing: "deflate:9") == .deflate(level: 9))
        #expect(HDF5Compression(parsing: "gzip") == .deflate(level: 6))
        #expect(HDF5Compression(parsing: "none") == HDF5Compression.none)
        #expect(HDF5Compression(parsing: "zstd:0") == nil)
        #expect(HDF5Compression(parsing: "deflate:10") == nil)
        #expect(HDF5Compression(parsing: "lz4") == nil)
        #expect(HDF5Compression(parsing: "zstd:x") == nil)
    }
}
