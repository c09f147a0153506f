/// SHA-256 checksums of the text artifacts we write (run configs, metrics, report folders,
/// per-request CSVs), in forms the tools users already have can check:
///
/// - a JSON document carries its checksum as its first key, `"sha256"`: the SHA-256 of the
///   document's bytes without that key's text (``signJSON(_:)``, ``verifyJSON(_:path:)``);
/// - any other file gets a sidecar `FILE.sha256` holding the line `sha256sum` writes
///   (`<hex>  <name>`), so `sha256sum -c FILE.sha256` checks it (``writeSidecar(for:bytes:)``);
/// - a folder of files gets one `SHA256SUMS` in the same format (``writeManifest(folder:names:)``,
///   ``verifyManifest(folder:)``; `cd FOLDER && sha256sum -c SHA256SUMS`).
public enum ContentChecksum {
    /// The key a signed JSON document carries.
    public static let jsonKey = "sha256"
    /// The manifest file of a folder.
    public static let manifestName = "SHA256SUMS"
    /// A sidecar's suffix.
    public static let sidecarSuffix = ".sha256"

    /// The line `sha256sum` writes for `name`: `<hex>  <name>\n`.
    public static func sumLine(hex: String, name: String) -> String { "\(hex)  \(name)\n" }

    // MARK: - JSON documents

    /// `json` (an object) with `"sha256" : "<hex>"` inserted as its first key, where `<hex>`
    /// is the SHA-256 of `json` as given. A pretty-printed document gets the key on its own
    /// line (`{\n  "sha256" : "…",\n  …`).
    /// - Precondition: `json` starts with `{` (after no whitespace).
    public static func signJSON(_ json: String) -> String {
        let bytes = Array(json.utf8)
        precondition(bytes.first == UInt8(ascii: "{"), "signJSON: not a JSON object")
        let empty = bytes.dropFirst().first { !isSpace($0) } == UInt8(ascii: "}")
        let insert = "\n  \"\(jsonKey)\" : \"\(SHA256.hex(of: bytes))\"" + (empty ? "" : ",")
        return "{" + insert + String(decoding: bytes.dropFirst(), as: UTF8.self)
    }

    /// Checks a document written by ``signJSON(_:)`` and returns it without the checksum key
    /// (the bytes that were signed). A document without the key is returned as it is, with
    /// `signed == false` (files written before checksums existed).
    /// - Throws: `SwitchGymIOError` (`.checksum`) naming `path` when the document does not
    ///   match its checksum.
    public static func verifyJSON(_ bytes: [UInt8], path: String) throws -> (unsigned: [UInt8], signed: Bool) {
        let prefix = Array("{\n  \"\(jsonKey)\" : \"".utf8)
        guard bytes.count >= prefix.count + 65, Array(bytes.prefix(prefix.count)) == prefix else {
            return (bytes, false)
        }
        let hexStart = prefix.count, hexEnd = hexStart + 64
        let recorded = String(decoding: bytes[hexStart..<hexEnd], as: UTF8.self)
        guard bytes[hexEnd] == UInt8(ascii: "\""), recorded.utf8.allSatisfy(isLowerHex) else {
            throw SwitchGymIOError(.checksum, "key '\(jsonKey)': expected 64 lowercase hex digits", path: path,
                                   hint: "restore the file from a copy or re-create it")
        }
        var end = hexEnd + 1
        if end < bytes.count && bytes[end] == UInt8(ascii: ",") { end += 1 }
        let unsigned = [UInt8(ascii: "{")] + Array(bytes[end...])
        let actual = SHA256.hex(of: unsigned)
        guard actual == recorded else {
            throw SwitchGymIOError(.checksum, "content does not match its SHA-256 checksum (key '\(jsonKey)': recorded "
                                   + "\(recorded.prefix(12))…, found \(actual.prefix(12))…): the file was changed or damaged",
                                   path: path, hint: "restore the file from a copy or re-create it")
        }
        return (unsigned, true)
    }

    // MARK: - Sidecars and manifests

    /// Writes `path.sha256` (atomically): the `sha256sum` line of `bytes` under `path`'s name.
    public static func writeSidecar(for path: String, bytes: [UInt8]) throws {
        try writeSidecar(for: path, hex: SHA256.hex(of: bytes))
    }

    /// Writes `path.sha256` (atomically): the `sha256sum` line of a SHA-256 already computed.
    public static func writeSidecar(for path: String, hex: String) throws {
        try AtomicOutput.write(text: sumLine(hex: hex, name: FileSystem.baseName(of: path)), to: path + sidecarSuffix)
    }

    /// For an append-only file (rows ending in a newline) whose sidecar was written at some
    /// earlier length: the length of the prefix of `bytes` that ends at a line end (or at the
    /// end) and matches the sidecar's checksum; `nil` when `path` has no sidecar.
    /// - Throws: `SwitchGymIOError` (`.checksum`) naming `path` when no such prefix matches.
    public static func verifiedPrefix(of bytes: [UInt8], path: String) throws -> Int? {
        guard let recorded = try sidecarSum(for: path) else { return nil }
        let sidecar = path + sidecarSuffix
        var h = SHA256()
        var start = 0
        func matches() -> Bool { var c = h; return c.finalizeHex() == recorded }
        if bytes.isEmpty && matches() { return 0 }
        while start < bytes.count {
            let end = (bytes[start...].firstIndex(of: 10) ?? (bytes.count - 1)) + 1
            bytes.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            start = end
            if matches() { return end }
        }
        throw SwitchGymIOError(.checksum, "no part of the file from its start matches the SHA-256 checksum in "
                               + "\(FileSystem.baseName(of: sidecar)) (recorded \(recorded.prefix(12))…): the file was changed or damaged",
                               path: path, hint: "restore it from a copy, or move it and its \(sidecarSuffix) file aside to go on without them")
    }

    /// Checks `path` against its sidecar `path.sha256`; returns `false` when there is none.
    /// - Throws: `SwitchGymIOError` (`.checksum`) naming `path` when the content differs, or
    ///   the sidecar is not one `sha256sum` line for `path`'s name.
    @discardableResult
    public static func verifySidecar(for path: String) throws -> Bool {
        guard let recorded = try sidecarSum(for: path) else { return false }
        try check(path, recorded: recorded, via: path + sidecarSuffix)
        return true
    }

    /// The SHA-256 the sidecar of `path` records, or `nil` when it has none.
    /// - Throws: `SwitchGymIOError` naming the sidecar when it is not one `sha256sum` line
    ///   for `path`'s name.
    static func sidecarSum(for path: String) throws -> String? {
        let sidecar = path + sidecarSuffix
        guard FileSystem.exists(sidecar) else { return nil }
        let lines = try parseSums(try FileSystem.readAll(sidecar), path: sidecar)
        guard lines.count == 1, lines[0].name == FileSystem.baseName(of: path) else {
            throw SwitchGymIOError(.checksum, "expected one line '<sha256>  \(FileSystem.baseName(of: path))'", path: sidecar)
        }
        return lines[0].hex
    }

    /// Writes `folder/SHA256SUMS` (atomically), a `sha256sum` line per file of `names` (in
    /// that order), hashing each file as it is now.
    public static func writeManifest(folder: String, names: [String]) throws {
        var text = ""
        for name in names {
            text += sumLine(hex: SHA256.hex(of: try FileSystem.readAll(folder + "/" + name)), name: name)
        }
        try AtomicOutput.write(text: text, to: folder + "/" + manifestName)
    }

    /// Checks every file `folder/SHA256SUMS` lists; returns the names checked.
    /// - Throws: `SwitchGymIOError` naming the first file that is missing or differs.
    @discardableResult
    public static func verifyManifest(folder: String) throws -> [String] {
        let manifest = folder + "/" + manifestName
        let lines = try parseSums(try FileSystem.readAll(manifest), path: manifest)
        for l in lines {
            guard !l.name.hasPrefix("/"), !l.name.split(separator: "/").contains("..") else {
                throw SwitchGymIOError(.format, "'\(l.name)': expected a name inside the folder", path: manifest)
            }
            let file = folder + "/" + l.name
            guard FileSystem.exists(file) else {
                throw SwitchGymIOError(.notFound, "listed in \(manifestName) but missing", path: file)
            }
            try check(file, recorded: l.hex, via: manifest)
        }
        return lines.map(\.name)
    }

    static func check(_ path: String, recorded: String, via list: String) throws {
        let actual = SHA256.hex(of: try FileSystem.readAll(path))
        guard actual == recorded else {
            throw SwitchGymIOError(.checksum, "content does not match its SHA-256 checksum in \(FileSystem.baseName(of: list)) "
                                   + "(recorded \(recorded.prefix(12))…, found \(actual.prefix(12))…): the file was changed or damaged",
                                   path: path, hint: "restore the file from a copy or re-create it")
        }
    }

    /// The lines of a `sha256sum` file (`<64 hex>  <name>` or `<64 hex> *<name>`).
    static func parseSums(_ bytes: [UInt8], path: String) throws -> [(hex: String, name: String)] {
        var out: [(hex: String, name: String)] = []
        for (i, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            let l = Array(line)
            guard l.count > 66, l[..<64].allSatisfy(isLowerHex), l[64] == UInt8(ascii: " "),
                  l[65] == UInt8(ascii: " ") || l[65] == UInt8(ascii: "*") else {
                throw SwitchGymIOError(.format, "line \(i + 1): expected '<sha256 in lowercase hex>  <file name>'", path: path)
            }
            out.append((String(decoding: l[..<64], as: UTF8.self), String(decoding: l[66...], as: UTF8.self)))
        }
        return out
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
    static func isLowerHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
}
