import Foundation
import Testing
import SwitchGymIO

/// The checksums of our text artifacts: a JSON document's first key, a `sha256sum` sidecar, a
/// folder's `SHA256SUMS`, and the checked prefix of an append-only file.
@Suite("Text artifacts carry SHA-256 checksums that readers verify")
struct ContentChecksumTests {
    private func checksumError(_ body: () throws -> Void) -> SwitchGymIOError? {
        do { try body(); return nil } catch let e as SwitchGymIOError { return e } catch { Issue.record("\(error)"); return nil }
    }

    @Test("a signed JSON document reads back to the signed bytes, pretty, compact or empty, and stays JSON",
          arguments: ["{\n  \"a\" : 1,\n  \"b\" : [\n    2\n  ]\n}\n", "{\"a\":1,\"b\":\"x\"}", "{}\n", "{\n}"])
    func jsonRoundTrip(_ doc: String) throws {
        let signed = ContentChecksum.signJSON(doc)
        #expect(signed.hasPrefix("{\n  \"sha256\" : \"\(SHA256.hex(of: Array(doc.utf8)))\""))
        let back = try ContentChecksum.verifyJSON(Array(signed.utf8), path: "x.json")
        #expect(back.signed && back.unsigned == Array(doc.utf8))
        // Still a JSON object, with the checksum as one more key.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(signed.utf8)) as? [String: Any])
        #expect(object["sha256"] as? String == SHA256.hex(of: Array(doc.utf8)))
    }

    @Test("a changed value, a changed checksum or a malformed checksum is an error naming the file")
    func jsonTampered() throws {
        let signed = ContentChecksum.signJSON("{\n  \"gamma\" : 0.98,\n  \"seed\" : 0\n}\n")
        for bad in [signed.replacingOccurrences(of: "0.98", with: "0.5"),
                    signed.replacingOccurrences(of: "\"seed\" : 0", with: "\"seed\" : 1"),
                    String(signed.prefix(20)) + (signed.dropFirst(20).first == "0" ? "1" : "0") + signed.dropFirst(21)] {
            let e = checksumError { _ = try ContentChecksum.verifyJSON(Array(bad.utf8), path: "run/config.json") }
            #expect(e?.description.contains("run/config.json") == true)
            #expect(e?.description.contains("SHA-256") == true)
        }
        let short = signed.replacingOccurrences(of: "\" : \"", with: "\" : \"zz", options: [], range: signed.range(of: "\" : \""))
        #expect(checksumError { _ = try ContentChecksum.verifyJSON(Array(short.utf8), path: "c.json") }?.description.contains("64 lowercase hex") == true)
        // A document written before checksums existed reads as it is, marked unsigned.
        let old = try ContentChecksum.verifyJSON(Array("{\"gamma\":0.98}".utf8), path: "c.json")
        #expect(!old.signed && old.unsigned == Array("{\"gamma\":0.98}".utf8))
    }

    @Test("a sidecar is one sha256sum line; a changed file is named, a missing sidecar is reported as none")
    func sidecar() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let file = dir + "/requests.csv"
        let bytes = Array("arrival_s,stream\n0.5,chat\n".utf8)
        try AtomicOutput.write(bytes: bytes, to: file)
        #expect(try ContentChecksum.verifySidecar(for: file) == false)
        try ContentChecksum.writeSidecar(for: file, bytes: bytes)
        #expect(try String(contentsOfFile: file + ".sha256", encoding: .utf8) == "\(SHA256.hex(of: bytes))  requests.csv\n")
        #expect(try ContentChecksum.verifySidecar(for: file))
        try AtomicOutput.write(text: "arrival_s,stream\n0.6,chat\n", to: file)
        #expect(checksumError { try ContentChecksum.verifySidecar(for: file) }?.description.contains(file) == true)
    }

    @Test("SHA256SUMS lists the folder's files; a changed, missing or outside file is refused, naming it")
    func manifest() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        try AtomicOutput.write(text: "a\n", to: dir + "/a.csv")
        try AtomicOutput.write(text: "<svg/>", to: dir + "/b.svg")
        try ContentChecksum.writeManifest(folder: dir, names: ["a.csv", "b.svg"])
        #expect(try ContentChecksum.verifyManifest(folder: dir) == ["a.csv", "b.svg"])
        try AtomicOutput.write(text: "<svg />", to: dir + "/b.svg")
        #expect(checksumError { try ContentChecksum.verifyManifest(folder: dir) }?.description.contains(dir + "/b.svg") == true)
        try FileManager.default.removeItem(atPath: dir + "/b.svg")
        #expect(checksumError { try ContentChecksum.verifyManifest(folder: dir) }?.description.contains("missing") == true)
        try AtomicOutput.write(text: SHA256.hex(of: [UInt8]()) + "  ../x\n", to: dir + "/SHA256SUMS")
        #expect(checksumError { try ContentChecksum.verifyManifest(folder: dir) }?.description.contains("inside the folder") == true)
        try AtomicOutput.write(text: "not a sum line\n", to: dir + "/SHA256SUMS")
        #expect(checksumError { try ContentChecksum.verifyManifest(folder: dir) }?.description.contains("line 1") == true)
    }

    @Test("sha256sum -c accepts our sidecars and manifests", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum")))
    func coreutils() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        try AtomicOutput.write(text: "x,y\n1,2\n", to: dir + "/t.csv")
        try ContentChecksum.writeSidecar(for: dir + "/t.csv", bytes: Array("x,y\n1,2\n".utf8))
        try ContentChecksum.writeManifest(folder: dir, names: ["t.csv"])
        for list in ["t.csv.sha256", "SHA256SUMS"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            p.arguments = ["--check", "--strict", "--quiet", list]
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0, "sha256sum -c \(list)")
        }
    }

    @Test("an append-only file: the prefix its sidecar covers is found past an unchecked tail; a change inside it is not")
    func appendOnlyPrefix() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let file = dir + "/metrics.csv"
        let checked = Array("step,tag,value,wall_time\n1,a,0.5,10\n2,a,0.25,11\n".utf8)
        try ContentChecksum.writeSidecar(for: file, bytes: checked)
        #expect(try ContentChecksum.verifiedPrefix(of: checked, path: file) == checked.count)
        let tail = checked + Array("3,a,0.125,12\n4,a,0.1".utf8)
        #expect(try ContentChecksum.verifiedPrefix(of: tail, path: file) == checked.count)
        var flipped = tail
        flipped[30] ^= 1
        #expect(checksumError { _ = try ContentChecksum.verifiedPrefix(of: flipped, path: file) }?.description.contains(file) == true)
        #expect(checksumError { _ = try ContentChecksum.verifiedPrefix(of: Array(checked.dropLast(3)), path: file) } != nil)
        #expect(try ContentChecksum.verifiedPrefix(of: tail, path: dir + "/no-sidecar.csv") == nil)
    }
}
