import CHDF5

/// Content checksums of HDF5 files.
///
/// Every file made with ``HDF5File/create(path:)`` carries, in the root attribute
/// `content_sha256`, the SHA-256 of each dataset and attribute written through this type,
/// one `<64 hex digits>  <entry>` line per entry, sorted by entry, where an entry is
/// `dataset /path` or `attribute name` (`attribute /object@name` off the root). The digest
/// covers the values as stored:
/// - a numeric dataset or attribute: its elements' bytes in the stored type, little-endian
///   (`hashlib.sha256(f["arrivals"][()].tobytes())` in h5py);
/// - a string dataset: each string's UTF-8 bytes followed by one zero byte;
/// - a string attribute: its UTF-8 bytes.
///
/// ``HDF5File/open(path:writable:)`` loads the manifest when the file has one, and from then
/// on every read of a dataset or attribute checks its digest and throws a `.checksum` error
/// naming the file and the entry on a mismatch, or when the entry has no digest. Whether a
/// file must carry a manifest is its format's decision (``HDF5File/requireChecksums(format:version:since:warn:)``).
/// A file opened writable that has a manifest keeps it up to date on ``HDF5File/close()``.
extension HDF5File {
    /// The root attribute that holds the manifest.
    public static let checksumAttribute = "content_sha256"

    /// Whether the file carries a checksum manifest (so every read is verified).
    public var hasChecksums: Bool { verifiedChecksums != nil }

    /// Checks that a file of a format that records checksums from version `since` on carries
    /// them; a file of an older version is accepted, with a warning that its content cannot
    /// be verified.
    ///
    /// - Parameters:
    ///   - format: the format's name, for messages (`checkpoint`, `trace dataset`).
    ///   - version: the file's `format_version`.
    ///   - since: the first version whose files carry checksums.
    ///   - warn: receives the warning for an older file.
    /// - Throws: `.checksum` when a file of version `since` or later has no manifest.
    public func requireChecksums(format: String, version: Int64, since: Int64, warn: (String) -> Void) throws {
        if hasChecksums { return }
        guard version < since else {
            throw SwitchGymIOError(.checksum, "the \(format) has no '\(Self.checksumAttribute)' attribute, which "
                                   + "format_version \(version) files carry, so its content cannot be verified",
                                   path: path, location: "attribute \(Self.checksumAttribute)",
                                   hint: "the file was modified or damaged; restore it from a copy or re-create it")
        }
        warn("warning: \(path): this \(format) (format_version \(version)) predates content checksums; "
             + "its content is read unverified. Re-create it to add them.")
    }

    // MARK: - Entries and digests

    static func datasetEntry(_ name: String) -> String { "dataset \(name)" }

    static func attributeEntry(_ name: String, on object: String) -> String {
        "attribute \(object == "/" ? "" : object + "@")\(name)"
    }

    static func digest(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256()
        h.update(bytes)
        return h.finalizeHex()
    }

    static func digest(strings: [String]) -> String {
        var h = SHA256()
        for s in strings {
            h.update(Array(s.utf8))
            h.update([0])
        }
        return h.finalizeHex()
    }

    static func digest(string: String) -> String { SHA256.hex(of: Array(string.utf8)) }

    /// Records the digest of an entry being written (no-op for files opened read-only).
    func record(_ entry: String, _ digest: @autoclosure () -> String) {
        if pendingChecksums != nil { pendingChecksums![entry] = digest() }
    }

    /// Checks the digest of an entry just read (no-op for files without a manifest).
    func verify(_ entry: String, _ digest: @autoclosure () -> String) throws {
        guard let manifest = verifiedChecksums else { return }
        guard let expected = manifest[entry] else {
            throw SwitchGymIOError(.checksum, "no SHA-256 is recorded for this entry in '\(Self.checksumAttribute)'; "
                                   + "the file was modified or damaged", path: path, location: entry,
                                   hint: "restore the file from a copy or re-create it")
        }
        let actual = digest()
        guard actual == expected else {
            throw SwitchGymIOError(.checksum, "content does not match its SHA-256 checksum (recorded \(expected.prefix(12))…, "
                                   + "found \(actual.prefix(12))…): the file is damaged", path: path, location: entry,
                                   hint: "restore the file from a copy or re-create it")
        }
    }

    // MARK: - The manifest

    static func formatManifest(_ entries: [String: String]) -> String {
        entries.sorted { $0.key < $1.key }.map { "\($0.value)  \($0.key)\n" }.joined()
    }

    func parseManifest(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            let hex = line.prefix(64)
            let rest = line.dropFirst(64)
            guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }), rest.hasPrefix("  "),
                  rest.count > 2 else {
                throw SwitchGymIOError(.checksum, "malformed line '\(line.prefix(80))'; expected '<64 hex digits>  <entry>'",
                                       path: path, location: "attribute \(Self.checksumAttribute)",
                                       hint: "the file was modified or damaged; restore it from a copy or re-create it")
            }
            out[String(rest.dropFirst(2))] = String(hex)
        }
        return out
    }

    /// Reads the manifest, when the file has one.
    func loadManifest() throws -> [String: String]? {
        guard hasAttribute(Self.checksumAttribute) else { return nil }
        return try parseManifest(try stringAttribute(Self.checksumAttribute, verifying: false))
    }

    /// Reads an attribute's value as stored (its native type's bytes), for its digest.
    func storedBytes(ofAttribute attr: hid_t, location: String) throws -> [UInt8] {
        let ftype = try HDF5Library.check(H5Aget_type(attr), "H5Aget_type", path: path, location: location)
        defer { H5Tclose(ftype) }
        let ntype = try HDF5Library.check(H5Tget_native_type(ftype, H5T_DIR_ASCEND), "H5Tget_native_type",
                                          path: path, location: location)
        defer { H5Tclose(ntype) }
        var bytes = [UInt8](repeating: 0, count: H5Tget_size(ntype))
        try HDF5Library.check(H5Aread(attr, ntype, &bytes), "H5Aread", path: path, location: location)
        return bytes
    }

    /// Reads a dataset's elements as stored (its native type's bytes), for its digest.
    func storedBytes(ofDataset ds: hid_t, count: Int, location: String) throws -> [UInt8] {
        let ftype = try HDF5Library.check(H5Dget_type(ds), "H5Dget_type", path: path, location: location)
        defer { H5Tclose(ftype) }
        let ntype = try HDF5Library.check(H5Tget_native_type(ftype, H5T_DIR_ASCEND), "H5Tget_native_type",
                                          path: path, location: location)
        defer { H5Tclose(ntype) }
        var bytes = [UInt8](repeating: 0, count: H5Tget_size(ntype) * count)
        if count > 0 {
            try HDF5Library.check(H5Dread(ds, ntype, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(), &bytes), "H5Dread",
                                  path: path, location: location, summary: "cannot read dataset (truncated or damaged file?)")
        }
        return bytes
    }

    /// Whether a dataset is stored in exactly the native type `type` (so its values' bytes
    /// are its stored bytes).
    func isStored(_ ds: hid_t, as type: hid_t) -> Bool {
        let ftype = H5Dget_type(ds)
        guard ftype >= 0 else { CHDF5_clear_errors(); return false }
        defer { H5Tclose(ftype) }
        let ntype = H5Tget_native_type(ftype, H5T_DIR_ASCEND)
        guard ntype >= 0 else { CHDF5_clear_errors(); return false }
        defer { H5Tclose(ntype) }
        return H5Tequal(ntype, type) > 0
    }
}
