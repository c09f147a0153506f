import Foundation
import Testing
@testable import SwitchGymIO

@Suite("SHA-256 and atomic output")
struct FileUtilityTests {
    @Test("SHA-256 matches the FIPS 180-4 test vectors")
    func sha256Vectors() {
        #expect(SHA256.hex(of: Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("incremental SHA-256 equals one-shot for every split point")
    func sha256Incremental() {
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let whole = SHA256.hex(of: data)
        for cut in [0, 1, 55, 56, 63, 64, 65, 128, 299, 300] {
            var s = SHA256()
            s.update(Array(data[0..<cut]))
            s.update(Array(data[cut...]))
            #expect(s.finalizeHex() == whole, "split at \(cut)")
        }
    }

    @Test("sha256 agrees with the system sha256sum on a file")
    func sha256System() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let data = (0..<123_457).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        try AtomicOutput.write(bytes: data, to: dir + "/f.bin")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [dir + "/f.bin"]
        let pipe = Pipe()
        p.standardOutput = pipe
        guard (try? p.run()) != nil else { return }  // no sha256sum: the vectors above still hold
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(out.hasPrefix(SHA256.hex(of: data)))
    }

    @Test("readAll with a limit reads a file up to it and refuses a larger file or an endless device, naming the limit")
    func boundedReadAll() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        try AtomicOutput.write(text: "0123456789", to: dir + "/ten")
        #expect(try FileSystem.readAll(dir + "/ten", limit: 10, what: "x") == Array("0123456789".utf8))
        for path in [dir + "/ten", "/dev/zero"] {
            do {
                _ = try FileSystem.readAll(path, limit: 9, what: "a small file")
                Issue.record("\(path) read past the limit")
            } catch let e as SwitchGymIOError {
                #expect(e.description.contains(path) && e.description.contains("larger than 9 bytes; expected a small file"), "\(e)")
            }
        }
    }

    @Test("atomic output replaces the file and leaves no temporary behind")
    func atomicReplace() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/out.txt"
        try AtomicOutput.write(text: "first", to: path)
        try AtomicOutput.write(text: "second", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        #expect(listDirectory(dir) == ["out.txt"])
    }

    @Test("a failing writer leaves the previous file intact and no temporary file")
    func atomicFailure() throws {
        struct Boom: Error {}
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/keep.txt"
        try AtomicOutput.write(text: "precious", to: path)
        #expect(throws: Boom.self) {
            try AtomicOutput.write(to: path) { tmp in
                try "half".write(toFile: tmp, atomically: false, encoding: .utf8)
                throw Boom()
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
        #expect(listDirectory(dir) == ["keep.txt"])
    }

    @Test("writing into a missing folder names the folder")
    func atomicMissingFolder() throws {
        let e = #expect(throws: SwitchGymIOError.self) {
            try AtomicOutput.write(text: "x", to: "/nonexistent-switchgym-dir/sub/out.h5")
        }
        #expect(e?.kind == .notFound)
        #expect(e?.hint?.contains("/nonexistent-switchgym-dir/sub") == true)
    }
}
