import SwitchGymCore
import SwitchGymIO

/// A checkpoint read back from disk: the state, the global step it was taken at and
/// what wrote it.
public struct Checkpoint: Sendable, Equatable {
    /// Everything the run saved.
    public var state: StateDict
    /// The global step (environment steps) when it was saved.
    public var step: Int
    /// The writer's `created_by` attribute (program and version).
    public var createdBy: String
}

/// One checkpoint as an HDF5 file.
///
/// Layout: every ``StateDict`` entry is one one-dimensional dataset whose path is its key
/// (`policy/layer0/weight` → dataset `/policy/layer0/weight` in group `/policy/layer0`):
/// `floats` as float32, `doubles` as float64, `integers` as uint64, `strings` as a
/// one-element variable-length UTF-8 string dataset. Values are written and read without
/// conversion, so every bit (NaN payloads, infinities, `-0`) survives. The root group
/// carries the attributes `format = "switchgym-checkpoint"`, `format_version = 2` (int64),
/// `step` (int64), `created_by` (string) and `content_sha256`, the SHA-256 of every dataset
/// and attribute (see `HDF5File+Checksums.swift`), which ``read(_:warn:)`` checks entry by
/// entry. h5py reads it directly (no filters are used).
///
/// Version 1 files (written before checksums) are still read, with a warning that their
/// content is unverified; a version 2 file without checksums is refused.
///
/// Files are written atomically (temporary file in the same folder, fsync, rename, fsync
/// of the folder), so a crash or a failed write leaves any previous file untouched.
public enum CheckpointFile {
    /// The value of the root `format` attribute.
    public static let format = "switchgym-checkpoint"
    /// The layout version this code writes.
    public static let formatVersion = 2
    /// The first layout version whose files carry content checksums; older ones are read
    /// unverified, with a warning.
    public static let firstChecksummedVersion = 2
    /// The default `created_by` attribute.
    public static let defaultCreator = "switchgym (SwitchGymAgents.CheckpointFile)"

    /// Writes `state` to `path` atomically.
    ///
    /// - Throws: ``CheckpointError`` for keys that cannot be stored (empty, `.`/`..` or
    ///   empty components, a key that is also another key's group, a key used by two
    ///   kinds, a string containing NUL); `SwitchGymIOError` when the file cannot be
    ///   written (the previous file at `path`, if any, is left as it was).
    public static func write(_ state: StateDict, step: Int, to path: String,
                             createdBy: String = defaultCreator) throws {
        try write(state, step: step, to: path, createdBy: createdBy, beforeCommit: { _ in })
    }

    /// `beforeCommit` runs on the complete temporary file just before it is renamed into
    /// place; tests use it to make a write fail at the last moment.
    static func write(_ state: StateDict, step: Int, to path: String, createdBy: String,
                      beforeCommit: (String) throws -> Void) throws {
        let entries = try plan(state, path: path)
        try AtomicOutput.write(to: path) { tmp in
            let f = try HDF5File.create(path: tmp)
            for group in entries.groups { try f.createGroup(group) }
            // Sorted, so the same state gives the same bytes (HDF5 object times are off).
            for (key, v) in state.floats.sorted(by: { $0.key < $1.key }) { try f.write("/" + key, v, compression: .none) }
            for (key, v) in state.doubles.sorted(by: { $0.key < $1.key }) { try f.write("/" + key, v, compression: .none) }
            for (key, v) in state.integers.sorted(by: { $0.key < $1.key }) { try f.write("/" + key, v, compression: .none) }
            for (key, v) in state.strings.sorted(by: { $0.key < $1.key }) { try f.writeStrings("/" + key, [v]) }
            try f.setAttribute("format", format)
            try f.setAttribute("format_version", Int64(formatVersion))
            try f.setAttribute("step", Int64(step))
            try f.setAttribute("created_by", createdBy)
            try f.close()
            try beforeCommit(tmp)
        }
    }

    /// Checks every key and returns the groups to create, parents first.
    private static func plan(_ state: StateDict, path: String) throws -> (groups: [String], keys: Set<String>) {
        var keys = Set<String>()
        var groups = Set<String>()
        func add(_ key: String, _ kind: String) throws {
            let parts = key.split(separator: "/", omittingEmptySubsequences: false)
            if key.isEmpty || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
                throw CheckpointError(path: path, "state key '\(key)' (\(kind)) is not a '/'-separated path of non-empty names")
            }
            guard keys.insert(key).inserted else {
                throw CheckpointError(path: path, "state key '\(key)' is used by more than one kind of value (\(kind) and another)")
            }
            var prefix = ""
            for p in parts.dropLast() {
                prefix += "/" + p
                groups.insert(prefix)
            }
        }
        for k in state.floats.keys { try add(k, "float32 array") }
        for k in state.doubles.keys { try add(k, "float64 array") }
        for k in state.integers.keys { try add(k, "uint64 array") }
        for (k, v) in state.strings {
            try add(k, "string")
            if v.utf8.contains(0) {
                throw CheckpointError(path: path, "state string '\(k)' contains a NUL character, which HDF5 strings cannot hold")
            }
        }
        for k in keys where groups.contains("/" + k) {
            throw CheckpointError(path: path, "state key '\(k)' is both a value and the group of other keys ('\(k)/...')")
        }
        return (groups.sorted(), keys)
    }

    /// Reads a checkpoint written by ``write(_:step:to:createdBy:)``.
    ///
    /// - Parameter warn: receives the warning for a version 1 file (no checksums).
    /// - Throws: ``CheckpointError`` naming the file when it does not exist, is not an
    ///   HDF5 file, is truncated or damaged, has no `format = "switchgym-checkpoint"`
    ///   attribute, has a `format_version` this code does not read, lacks its checksums,
    ///   holds a dataset or attribute whose content does not match its checksum (the
    ///   message names the entry), or holds a dataset of a type a checkpoint never contains.
    public static func read(_ path: String, warn: (String) -> Void = FileSystem.printWarning) throws -> Checkpoint {
        let f: HDF5File
        do {
            f = try HDF5File.open(path: path)
        } catch let e as SwitchGymIOError {
            switch e.kind {
            case .notFound: throw CheckpointError(path: path, "no such checkpoint file", kind: .notFound)
            case .checksum:
                throw CheckpointError(path: path, "cannot read the checkpoint: \(e.location.map { $0 + ": " } ?? "")\(e.summary)",
                                      hint: "the file is damaged; use an earlier checkpoint")
            case .format where e.function == "H5Fis_hdf5":
                throw CheckpointError(path: path, "not an HDF5 file, so not a SwitchGym checkpoint (no HDF5 signature)",
                                      hint: "pass a ckpt-*.h5 file written by `switchgym train`")
            default:
                throw CheckpointError(path: path, "cannot open the checkpoint: the file is truncated or damaged"
                                      + (e.libraryMessage.map { " (\($0))" } ?? ""),
                                      hint: "it may have been cut short by a copy; use an earlier checkpoint")
            }
        }
        guard f.hasAttribute("format") else {
            throw CheckpointError(path: path, "not a SwitchGym checkpoint: the root group has no 'format' attribute",
                                  hint: "checkpoints have format = \"\(format)\"; this HDF5 file was written by something else")
        }
        let fmt = try wrap(path) { try f.stringAttribute("format") }
        guard fmt == format else {
            throw CheckpointError(path: path, "not a SwitchGym checkpoint: format is '\(fmt)', expected '\(format)'")
        }
        guard f.hasAttribute("format_version") else {
            throw CheckpointError(path: path, "checkpoint has no 'format_version' attribute")
        }
        let version = try wrap(path) { try f.attribute("format_version", as: Int64.self) }
        guard (1...Int64(formatVersion)).contains(version) else {
            throw CheckpointError(path: path, "checkpoint format_version is \(version); this build reads versions 1 to \(formatVersion)",
                                  hint: version > Int64(formatVersion)
                                      ? "it was written by a newer SwitchGym; upgrade to read it" : nil)
        }
        try wrap(path) {
            try f.requireChecksums(format: "checkpoint", version: version, since: Int64(firstChecksummedVersion), warn: warn)
        }
        guard f.hasAttribute("step") else {
            throw CheckpointError(path: path, "checkpoint has no 'step' attribute")
        }
        let step = try wrap(path) { try f.attribute("step", as: Int64.self) }
        let createdBy = f.hasAttribute("created_by") ? (try wrap(path) { try f.stringAttribute("created_by") }) : ""
        var state = StateDict()
        for name in try wrap(path, { try f.datasetPaths() }) {
            let key = String(name.dropFirst())
            let type = try wrap(path) { try f.elementType(of: name) }
            switch type {
            case .float(bits: 32): state.floats[key] = try wrap(path) { try f.read(name, as: Float.self) }
            case .float(bits: 64): state.doubles[key] = try wrap(path) { try f.read(name, as: Double.self) }
            case .unsignedInteger(bits: 64): state.integers[key] = try wrap(path) { try f.read(name, as: UInt64.self) }
            case .variableString:
                let s = try wrap(path) { try f.readStrings(name) }
                guard s.count == 1 else {
                    throw CheckpointError(path: path, "dataset \(name) holds \(s.count) strings, expected exactly 1")
                }
                state.strings[key] = s[0]
            default:
                throw CheckpointError(path: path, "dataset \(name) has type \(type); a checkpoint holds only float32, float64, "
                                      + "uint64 and variable-length string datasets")
            }
        }
        try wrap(path) { try f.close() }
        return Checkpoint(state: state, step: Int(step), createdBy: createdBy)
    }

    /// Re-throws HDF5 errors met while reading as checkpoint errors that name the file
    /// and keep HDF5's location and message.
    private static func wrap<R>(_ path: String, _ body: () throws -> R) throws -> R {
        do { return try body() } catch let e as SwitchGymIOError {
            var msg = e.summary
            if let loc = e.location { msg = "\(loc): " + msg }
            if let lib = e.libraryMessage, !lib.isEmpty { msg += " (\(lib))" }
            throw CheckpointError(path: path, "cannot read the checkpoint: " + msg,
                                  hint: "the file may be truncated or damaged; use an earlier checkpoint")
        }
    }
}

/// Why a checkpoint could not be written or read. The description starts with the file.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file does not exist.
        case notFound
        /// The file exists but is not a readable checkpoint of this version, or the state
        /// cannot be stored.
        case invalid
    }
    public var kind: Kind
    /// The checkpoint file.
    public var path: String
    /// What is wrong, in one sentence.
    public var message: String
    /// How to fix it, when known.
    public var hint: String?

    public init(path: String, _ message: String, kind: Kind = .invalid, hint: String? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(path): \(message)" + (hint.map { "\n  - help: \($0)" } ?? "")
    }
}
