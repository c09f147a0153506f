import Foundation
import Testing
@testable import SwitchGymIO

/// Flips the first byte of the only occurrence of `pattern` in the file.
func flipByte(in path: String, at pattern: [UInt8]) throws {
    var bytes = try FileSystem.readAll(path)
    let hits = (0...(bytes.count - pattern.count)).filter { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
    try #require(hits.count == 1, "the pattern occurs \(hits.count) times")
    bytes[hits[0]] ^= 0x01
    try AtomicOutput.write(bytes: bytes, to: path)
}

func littleEndianBytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

/// Every file HDF5File creates carries SHA-256 checksums of its datasets and attributes;
/// every read checks them and names the damaged entry.
@Suite("HDF5 content checksums")
struct HDF5ChecksumTests {
    private let weights: [Float] = [0.125, 3.75, -1.5e-3, 42.5, 7, 8, 9, 10]
    private let stepValue = Int64(0x1122_3344_5566_7788)

    private func makeFile(_ path: String, compression: HDF5Compression = .none) throws {
        let f = try HDF5File.create(path: path)
        try f.createGroup("/policy")
        try f.write("/policy/w", weights, compression: compression)
        try f.writeStrings("/names", ["alpha-stream-name", "beta"])
        try f.setAttribute("step", stepValue)
        try f.setAttribute("created_by", "checksum test writer")
        try f.close()
    }

    @Test("a clean file reads back; the manifest lists every entry with h5py-computable digests")
    func cleanFile() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let path = dir + "/c.h5"
        try makeFile(path)
        let f = try HDF5File.open(path: path)
        #expect(f.hasChecksums)
        #expect(try f.read("/policy/w", as: Float.self) == weights)
        #expect(try f.read("/policy/w", as: Double.self) == weights.map(Double.init))  // converted reads verify too
        #expect(try f.readStrings("/names") == ["alpha-stream-name", "beta"])
        #expect(try f.attribute("step", as: Int64.self) == stepValue)
        #expect(try f.attribute("step", as: Double.self) == Double(stepValue))
        #expect(try f.stringAttribute("created_by") == "checksum test writer")
        let manifest = try f.stringAttribute(HDF5File.checksumAttribute, verifying: false)
        #expect(manifest.split(separator: "\n").map { String($0.dropFirst(66)) }
                == ["attribute created_by", "attribute step", "dataset /names", "dataset /policy/w"])
        #expect(manifest.contains(SHA256.hex(of: littleEndianBytes(weights)) + "  dataset /policy/w"))
        #expect(manifest.contains(SHA256.hex(of: Array("alpha-stream-name\0beta\0".utf8)) + "  dataset /names"))
        #expect(manifest.contains(SHA256.hex(of: Array("checksum test writer".utf8)) + "  attribute created_by"))
    }

    @Test("one flipped byte in a dataset, a string dataset or an attribute is refused naming the file and entry",
          arguments: ["dataset /policy/w", "dataset /names", "attribute step", "attribute created_by"])
    func flippedByte(_ entry: String) throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let path = dir + "/c.h5"
        try makeFile(path)
        let pattern: [UInt8]
        switch entry {
        case "dataset /policy/w": pattern = littleEndianBytes(Array(weights[1...4]))
        case "dataset /names": pattern = Array("alpha-stream-name".utf8)
        case "attribute step": pattern = littleEndianBytes([stepValue])
        default: pattern = Array("checksum test writer".utf8)
        }
        try flipByte(in: path, at: pattern)
        let f = try HDF5File.open(path: path)
        let e = #expect(throws: SwitchGymIOError.self) {
            switch entry {
            case "dataset /policy/w": _ = try f.read("/policy/w", as: Float.self)
            case "dataset /names": _ = try f.readStrings("/names")
            case "attribute step": _ = try f.attribute("step", as: Int64.self)
            default: _ = try f.stringAttribute("created_by")
            }
        }
        #expect(e?.kind == .checksum)
        #expect(e?.path == path && e?.location == entry, "\(String(describing: e))")
        #expect(e?.description.contains("does not match its SHA-256") == true)
    }

    @Test("an entry added behind the writer's back has no checksum and is refused")
    func unrecordedEntry() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let path = dir + "/c.h5"
        try makeFile(path)
        let w = try HDF5File.open(path: path, writable: true)
        w.pendingChecksums = nil  // as a foreign tool would: no manifest update
        try w.write("/extra", [Int32(1)], compression: .none)
        try w.close()
        let e = #expect(throws: SwitchGymIOError.self) { _ = try HDF5File.open(path: path).read("/extra", as: Int32.self) }
        #expect(e?.kind == .checksum && e?.location == "dataset /extra")
    }

    @Test("edits through a writable HDF5File keep the manifest valid")
    func writableEdits() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let path = dir + "/c.h5"
        try makeFile(path)
        let w = try HDF5File.open(path: path, writable: true)
        try w.setAttribute("step", Int64(5))
        try w.write("/extra", [Int32(1)], compression: .none)
        try w.close()
        let f = try HDF5File.open(path: path)
        #expect(try f.attribute("step", as: Int64.self) == 5)
        #expect(try f.read("/extra", as: Int32.self) == [1])
    }

    @Test("requireChecksums: a file of a checksummed version without a manifest is refused; an older one warns")
    func requireChecksums() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let path = dir + "/old.h5"
        let w = try HDF5File.create(path: path)
        w.pendingChecksums = nil  // as files written before checksums
        try w.write("/w", [Float(1)], compression: .none)
        try w.close()
        let f = try HDF5File.open(path: path)
        #expect(!f.hasChecksums)
        #expect(try f.read("/w", as: Float.self) == [1])
        var warnings: [String] = []
        try f.requireChecksums(format: "test file", version: 1, since: 2) { warnings.append($0) }
        #expect(warnings.count == 1 && warnings[0].contains(path) && warnings[0].contains("predates content checksums"))
        let e = #expect(throws: SwitchGymIOError.self) {
            try f.requireChecksums(format: "test file", version: 2, since: 2) { _ in }
        }
        #expect(e?.kind == .checksum && e?.description.contains(path) == true)
    }
}
