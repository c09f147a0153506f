import CHDF5
#if canImport(Glibc)
import Glibc
#endif

/// An open HDF5 file. Owns its `hid_t` and closes it in `deinit`.
///
/// Paths of objects inside the file are absolute HDF5 paths such as `/arrivals`
/// or `/streams/name`. Every failing call throws a ``SwitchGymIOError`` naming the
/// C function, the file and the object.
///
/// Files carry SHA-256 checksums of their content, written on ``close()`` and checked on
/// every read (see `HDF5File+Checksums.swift`).
public final class HDF5File {
    let id: hid_t
    /// The file's path on disk.
    public let path: String
    private var closed = false
    /// The digests of the entries written so far, stored on ``close()``; nil for a file
    /// opened read-only, or writable without a manifest.
    var pendingChecksums: [String: String]?
    /// The manifest read at open, against which every read is checked; nil when none.
    var verifiedChecksums: [String: String]?

    private init(id: hid_t, path: String) {
        self.id = id
        self.path = path
    }

    deinit { if !closed { H5Fclose(id) } }

    /// Creates (or truncates) a file.
    ///
    /// The corresponding C function is `H5Fcreate`.
    public static func create(path: String) throws -> HDF5File {
        HDF5Library.ensureInitialized()
        let id = H5Fcreate(path, CHDF5_F_ACC_TRUNC(), CHDF5_P_DEFAULT(), HDF5Library.fileAccess)
        try HDF5Library.check(id, "H5Fcreate", path: path, summary: "cannot create HDF5 file",
                              hint: "check that the folder exists and is writable")
        let f = HDF5File(id: id, path: path)
        f.pendingChecksums = [:]
        return f
    }

    /// Opens an existing file.
    ///
    /// The corresponding C function is `H5Fopen`.
    /// - Throws: `.notFound` when the file does not exist; `.format` when it is
    ///   not an HDF5 file or is truncated; `.checksum` when its checksum manifest is malformed.
    public static func open(path: String, writable: Bool = false) throws -> HDF5File {
        HDF5Library.ensureInitialized()
        guard FileSystem.exists(path) else {
            throw SwitchGymIOError(.notFound, "no such file", path: path)
        }
        if H5Fis_hdf5(path) <= 0 {
            _ = HDF5Library.error("H5Fis_hdf5", path: path)
            throw SwitchGymIOError(.format, "not an HDF5 file (no HDF5 signature found)", path: path,
                                   function: "H5Fis_hdf5",
                                   hint: "pass a dataset written by `switchgym traces import` or `traces synth`")
        }
        let id = H5Fopen(path, writable ? CHDF5_F_ACC_RDWR() : CHDF5_F_ACC_RDONLY(), HDF5Library.fileAccess)
        try HDF5Library.check(id, "H5Fopen", path: path, summary: "cannot open HDF5 file (truncated or damaged?)",
                              hint: "the file may have been cut short by an interrupted copy; re-create it")
        let f = HDF5File(id: id, path: path)
        f.verifiedChecksums = try f.loadManifest()
        if writable { f.pendingChecksums = f.verifiedChecksums }
        return f
    }

    /// Flushes and closes the file, reporting errors that `deinit` would swallow.
    ///
    /// The corresponding C function is `H5Fclose`.
    /// Stores the checksum manifest first (files created, or opened writable with one).
    public func close() throws {
        guard !closed else { return }
        if let pending = pendingChecksums {
            pendingChecksums = nil
            do {
                try setAttribute(Self.checksumAttribute, Self.formatManifest(pending))
            } catch {
                closed = true
                H5Fclose(id)
                throw error
            }
        }
        closed = true
        try HDF5Library.check(H5Fclose(id), "H5Fclose", path: path)
    }

    // MARK: - Objects

    /// Whether an object (group or dataset) exists at `name`.
    public func exists(_ name: String) -> Bool {
        // H5Lexists fails on a missing intermediate group, so walk the path.
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, CHDF5_P_DEFAULT()) <= 0 { CHDF5_clear_errors(); return false }
        }
        return true
    }

    /// Creates a group (and any missing parents).
    public func createGroup(_ name: String) throws {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, CHDF5_P_DEFAULT()) > 0 { continue }
            // No modification times: the same content gives the same bytes.
            let gcpl = try HDF5Library.check(H5Pcreate(CHDF5_P_GROUP_CREATE()), "H5Pcreate", path: path)
            defer { H5Pclose(gcpl) }
            H5Pset_obj_track_times(gcpl, false)
            let g = H5Gcreate2(id, prefix, CHDF5_P_DEFAULT(), gcpl, CHDF5_P_DEFAULT())
            try HDF5Library.check(g, "H5Gcreate2", path: path, location: "group \(prefix)")
            H5Gclose(g)
        }
    }

    // MARK: - Numeric datasets

    /// Writes a one-dimensional chunked dataset.
    ///
    /// - Parameters:
    ///   - name: absolute path of the dataset.
    ///   - values: the elements.
    ///   - chunk: elements per chunk (clamped to at least 1).
    ///   - compression: the filter applied to each chunk.
    ///   - shuffle: apply HDF5's byte-shuffle filter before compression; it groups
    ///     the bytes of equal significance and helps integer columns compress.
    /// The corresponding C functions are `H5Dcreate2` and `H5Dwrite`.
    public func write<T: HDF5Scalar>(_ name: String, _ values: [T], chunk: Int = 1 << 18,
                                     compression: HDF5Compression = .standard, shuffle: Bool = true) throws {
        let loc = "dataset \(name)"
        var dims: [hsize_t] = [hsize_t(values.count)]
        var maxDims: [hsize_t] = [CHDF5_S_UNLIMITED()]
        let space = try HDF5Library.check(H5Screate_simple(1, &dims, &maxDims), "H5Screate_simple", path: path, location: loc)
        defer { H5Sclose(space) }
        let dcpl = try HDF5Library.check(H5Pcreate(CHDF5_P_DATASET_CREATE()), "H5Pcreate", path: path, location: loc)
        defer { H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)  // reproducible bytes: no object timestamps
        var chunkDims: [hsize_t] = [hsize_t(max(1, min(chunk, max(values.count, 1))))]
        try HDF5Library.check(H5Pset_chunk(dcpl, 1, &chunkDims), "H5Pset_chunk", path: path, location: loc)
        if compression != .none && shuffle {
            try HDF5Library.check(H5Pset_shuffle(dcpl), "H5Pset_shuffle", path: path, location: loc)
        }
        switch compression {
        case .none: break
        case .deflate(let level):
            try HDF5Library.check(H5Pset_deflate(dcpl, UInt32(level)), "H5Pset_deflate", path: path, location: loc)
        case .zstd(let level):
            var cd: [UInt32] = [UInt32(bitPattern: level)]
            try HDF5Library.check(H5Pset_filter(dcpl, HDF5Library.zstdFilterID, CHDF5_Z_FLAG_MANDATORY(), 1, &cd),
                                  "H5Pset_filter", path: path, location: loc)
        }
        let ds = H5Dcreate2(id, name, T._hdf5NativeType, space, CHDF5_P_DEFAULT(), dcpl, CHDF5_P_DEFAULT())
        try HDF5Library.check(ds, "H5Dcreate2", path: path, location: loc)
        defer { H5Dclose(ds) }
        record(Self.datasetEntry(name), values.withUnsafeBytes { Self.digest($0) })
        if values.isEmpty { return }
        _ = try values.withUnsafeBytes { raw in
            try HDF5Library.check(H5Dwrite(ds, T._hdf5NativeType, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(),
                                           raw.baseAddress), "H5Dwrite", path: path, location: loc)
        }
    }

    /// The number of elements of a one-dimensional dataset.
    public func length(of name: String) throws -> Int {
        let ds = try openDataset(name)
        defer { H5Dclose(ds) }
        return try length(ds, name)
    }

    /// Reads a whole one-dimensional dataset, converting to `T` as HDF5 does.
    ///
    /// The corresponding C function is `H5Dread`.
    /// - Throws: `.notFound` for a missing dataset; `.hdf5` when a chunk cannot
    ///   be read or decompressed (a truncated or damaged file); `.checksum` when the
    ///   content does not match the file's checksum manifest.
    public func read<T: HDF5Scalar>(_ name: String, as type: T.Type = T.self) throws -> [T] {
        let ds = try openDataset(name)
        defer { H5Dclose(ds) }
        let n = try length(ds, name)
        let entry = Self.datasetEntry(name)
        let values = n == 0 ? [] : try [T](unsafeUninitializedCapacity: n) { buf, count in
            try HDF5Library.check(H5Dread(ds, T._hdf5NativeType, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(),
                                          buf.baseAddress), "H5Dread", path: path, location: entry,
                                  summary: "cannot read dataset (truncated or damaged file?)")
            count = n
        }
        if hasChecksums {
            if isStored(ds, as: T._hdf5NativeType) {
                try verify(entry, values.withUnsafeBytes { Self.digest($0) })
            } else {
                let stored = try storedBytes(ofDataset: ds, count: n, location: entry)
                try verify(entry, stored.withUnsafeBytes { Self.digest($0) })
            }
        }
        return values
    }

    /// The filter ids applied to a dataset's chunks, in pipeline order.
    public func filters(of name: String) throws -> [Int] {
        let ds = try openDataset(name)
        defer { H5Dclose(ds) }
        let dcpl = try HDF5Library.check(H5Dget_create_plist(ds), "H5Dget_create_plist", path: path)
        defer { H5Pclose(dcpl) }
        let n = H5Pget_nfilters(dcpl)
        var ids: [Int] = []
        for i in 0..<max(n, 0) {
            var flags: UInt32 = 0
            var nelmts = 0
            var cd = [UInt32](repeating: 0, count: 8)
            var nameBuf = [CChar](repeating: 0, count: 64)
            var config: UInt32 = 0
            nelmts = cd.count
            let f = H5Pget_filter2(dcpl, UInt32(i), &flags, &nelmts, &cd, 64, &nameBuf, &config)
            ids.append(Int(f))
        }
        return ids
    }

    // MARK: - String datasets

    /// Writes a one-dimensional dataset of variable-length UTF-8 strings.
    public func writeStrings(_ name: String, _ values: [String]) throws {
        let loc = "dataset \(name)"
        let type = try stringType()
        defer { H5Tclose(type) }
        var dims: [hsize_t] = [hsize_t(values.count)]
        let space = try HDF5Library.check(H5Screate_simple(1, &dims, nil), "H5Screate_simple", path: path, location: loc)
        defer { H5Sclose(space) }
        let dcpl = try HDF5Library.check(H5Pcreate(CHDF5_P_DATASET_CREATE()), "H5Pcreate", path: path, location: loc)
        defer { H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)
        let ds = H5Dcreate2(id, name, type, space, CHDF5_P_DEFAULT(), dcpl, CHDF5_P_DEFAULT())
        try HDF5Library.check(ds, "H5Dcreate2", path: path, location: loc)
        defer { H5Dclose(ds) }
        record(Self.datasetEntry(name), Self.digest(strings: values))
        if values.isEmpty { return }
        let cstrings = values.map { strdup($0) }
        defer { cstrings.forEach { free($0) } }
        var ptrs: [UnsafePointer<CChar>?] = cstrings.map { UnsafePointer($0) }
        try HDF5Library.check(H5Dwrite(ds, type, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(), &ptrs),
                              "H5Dwrite", path: path, location: loc)
    }

    /// Reads a one-dimensional dataset of variable-length strings.
    public func readStrings(_ name: String) throws -> [String] {
        let values = try readStringsUnverified(name)
        try verify(Self.datasetEntry(name), Self.digest(strings: values))
        return values
    }

    private func readStringsUnverified(_ name: String) throws -> [String] {
        let ds = try openDataset(name)
        defer { H5Dclose(ds) }
        let n = try length(ds, name)
        if n == 0 { return [] }
        let type = try stringType()
        defer { H5Tclose(type) }
        var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        try HDF5Library.check(H5Dread(ds, type, CHDF5_S_ALL(), CHDF5_S_ALL(), CHDF5_P_DEFAULT(), &ptrs),
                              "H5Dread", path: path, location: "dataset \(name)",
                              summary: "cannot read string dataset (expected variable-length strings)")
        defer { ptrs.forEach { H5free_memory($0) } }
        return ptrs.map { $0.map { String(cString: $0) } ?? "" }
    }

    // MARK: - Attributes

    /// Sets (or replaces) a scalar attribute on the object at `object`.
    public func setAttribute<T: HDF5Scalar>(_ name: String, _ value: T, on object: String = "/") throws {
        record(Self.attributeEntry(name, on: object), withUnsafeBytes(of: value) { Self.digest($0) })
        try withUnsafeBytes(of: value) { raw in
            try writeAttribute(name, on: object, type: T._hdf5NativeType) { attr, type in
                H5Awrite(attr, type, raw.baseAddress)
            }
        }
    }

    /// Sets (or replaces) a variable-length UTF-8 string attribute.
    public func setAttribute(_ name: String, _ value: String, on object: String = "/") throws {
        if !(object == "/" && name == Self.checksumAttribute) {
            record(Self.attributeEntry(name, on: object), Self.digest(string: value))
        }
        let type = try stringType()
        defer { H5Tclose(type) }
        try value.withCString { cstr in
            var p: UnsafePointer<CChar>? = cstr
            try writeAttribute(name, on: object, type: type) { attr, type in H5Awrite(attr, type, &p) }
        }
    }

    /// Whether the attribute exists.
    public func hasAttribute(_ name: String, on object: String = "/") -> Bool {
        let r = H5Aexists_by_name(id, object, name, CHDF5_P_DEFAULT())
        if r < 0 { CHDF5_clear_errors() }
        return r > 0
    }

    /// Reads a scalar numeric attribute, converting to `T`.
    public func attribute<T: HDF5Scalar>(_ name: String, on object: String = "/", as: T.Type = T.self) throws -> T {
        let attr = try openAttribute(name, on: object)
        defer { H5Aclose(attr) }
        let entry = Self.attributeEntry(name, on: object)
        var v: T = 0
        try withUnsafeMutableBytes(of: &v) { raw in
            _ = try HDF5Library.check(H5Aread(attr, T._hdf5NativeType, raw.baseAddress), "H5Aread", path: path,
                                      location: entry, summary: "attribute is not a number")
        }
        if hasChecksums {
            let stored = try storedBytes(ofAttribute: attr, location: entry)
            try verify(entry, stored.withUnsafeBytes { Self.digest($0) })
        }
        return v
    }

    /// Reads a string attribute (variable- or fixed-length).
    public func stringAttribute(_ name: String, on object: String = "/") throws -> String {
        try stringAttribute(name, on: object, verifying: true)
    }

    func stringAttribute(_ name: String, on object: String = "/", verifying: Bool) throws -> String {
        let value = try stringAttributeUnverified(name, on: object)
        if verifying { try verify(Self.attributeEntry(name, on: object), Self.digest(string: value)) }
        return value
    }

    private func stringAttributeUnverified(_ name: String, on object: String) throws -> String {
        let attr = try openAttribute(name, on: object)
        defer { H5Aclose(attr) }
        let loc = "attribute \(object == "/" ? "" : object + "@")\(name)"
        let ftype = try HDF5Library.check(H5Aget_type(attr), "H5Aget_type", path: path, location: loc)
        defer { H5Tclose(ftype) }
        guard H5Tget_class(ftype) == H5T_STRING else {
            throw SwitchGymIOError(.format, "attribute is not a string", path: path, location: loc)
        }
        if H5Tis_variable_str(ftype) > 0 {
            let type = try stringType()
            defer { H5Tclose(type) }
            var p: UnsafeMutablePointer<CChar>? = nil
            try HDF5Library.check(H5Aread(attr, type, &p), "H5Aread", path: path, location: loc)
            defer { H5free_memory(p) }
            return p.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(ftype)
        var buf = [CChar](repeating: 0, count: size + 1)
        try HDF5Library.check(H5Aread(attr, ftype, &buf), "H5Aread", path: path, location: loc)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Internals

    private func openDataset(_ name: String) throws -> hid_t {
        guard exists(name) else {
            throw SwitchGymIOError(.notFound, "dataset is missing", path: path, location: "dataset \(name)")
        }
        let ds = H5Dopen2(id, name, CHDF5_P_DEFAULT())
        return try HDF5Library.check(ds, "H5Dopen2", path: path, location: "dataset \(name)")
    }

    private func length(_ ds: hid_t, _ name: String) throws -> Int {
        let space = try HDF5Library.check(H5Dget_space(ds), "H5Dget_space", path: path, location: "dataset \(name)")
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank == 1 else {
            throw SwitchGymIOError(.format, "expected a one-dimensional dataset, found rank \(rank)", path: path,
                                   location: "dataset \(name)")
        }
        var dims: [hsize_t] = [0]
        try HDF5Library.check(H5Sget_simple_extent_dims(space, &dims, nil), "H5Sget_simple_extent_dims", path: path)
        return Int(dims[0])
    }

    private func stringType() throws -> hid_t {
        let type = try HDF5Library.check(H5Tcopy(CHDF5_T_C_S1()), "H5Tcopy", path: path)
        H5Tset_size(type, CHDF5_T_VARIABLE())
        H5Tset_cset(type, H5T_CSET_UTF8)
        return type
    }

    private func openAttribute(_ name: String, on object: String) throws -> hid_t {
        let loc = "attribute \(object == "/" ? "" : object + "@")\(name)"
        guard hasAttribute(name, on: object) else {
            throw SwitchGymIOError(.notFound, "attribute is missing", path: path, location: loc)
        }
        return try HDF5Library.check(H5Aopen_by_name(id, object, name, CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT()),
                                     "H5Aopen_by_name", path: path, location: loc)
    }

    private func writeAttribute(_ name: String, on object: String, type: hid_t,
                                _ write: (hid_t, hid_t) -> herr_t) throws {
        let loc = "attribute \(name)"
        if hasAttribute(name, on: object) {
            try HDF5Library.check(H5Adelete_by_name(id, object, name, CHDF5_P_DEFAULT()), "H5Adelete_by_name",
                                  path: path, location: loc)
        }
        let space = try HDF5Library.check(H5Screate(H5S_SCALAR), "H5Screate", path: path, location: loc)
        defer { H5Sclose(space) }
        let attr = H5Acreate_by_name(id, object, name, type, space, CHDF5_P_DEFAULT(), CHDF5_P_DEFAULT(),
                                     CHDF5_P_DEFAULT())
        try HDF5Library.check(attr, "H5Acreate_by_name", path: path, location: loc)
        defer { H5Aclose(attr) }
        try HDF5Library.check(write(attr, type), "H5Awrite", path: path, location: loc)
    }
}

// MARK: - Walking the file and describing datasets

/// The element type of a dataset, as stored in the file.
public enum HDF5ElementType: Sendable, Equatable, CustomStringConvertible {
    /// IEEE floating point with this many bits (32, 64).
    case float(bits: Int)
    /// Signed integer with this many bits.
    case signedInteger(bits: Int)
    /// Unsigned integer with this many bits.
    case unsignedInteger(bits: Int)
    /// Variable-length string.
    case variableString
    /// Fixed-length string of this many bytes.
    case fixedString(bytes: Int)
    /// Anything else (compound, enum, array, reference, ...), with HDF5's class number.
    case other(typeClass: Int)

    public var description: String {
        switch self {
        case .float(let b): return "float\(b)"
        case .signedInteger(let b): return "int\(b)"
        case .unsignedInteger(let b): return "uint\(b)"
        case .variableString: return "variable-length string"
        case .fixedString(let n): return "fixed-length string (\(n) bytes)"
        case .other(let c): return "HDF5 type class \(c)"
        }
    }
}

/// What kind of object a link in a group points to.
public enum HDF5ObjectKind: Sendable, Equatable {
    case group, dataset, other
}

extension HDF5File {
    /// The names (not paths) and kinds of the objects in a group, sorted by name.
    ///
    /// Uses only calls whose signatures are the same in HDF5 1.10, 1.12 and 1.14
    /// (`H5Gget_info_by_name`, `H5Lget_name_by_idx`, `H5Oopen`, `H5Iget_type`).
    public func children(of group: String = "/") throws -> [(name: String, kind: HDF5ObjectKind)] {
        let loc = "group \(group)"
        var info = H5G_info_t()
        try HDF5Library.check(H5Gget_info_by_name(id, group, &info, CHDF5_P_DEFAULT()), "H5Gget_info_by_name",
                              path: path, location: loc, summary: "cannot list group (truncated or damaged file?)")
        var out: [(name: String, kind: HDF5ObjectKind)] = []
        for i in 0..<info.nlinks {
            let n = H5Lget_name_by_idx(id, group, H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, CHDF5_P_DEFAULT())
            try HDF5Library.check(n, "H5Lget_name_by_idx", path: path, location: loc)
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            try HDF5Library.check(H5Lget_name_by_idx(id, group, H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count,
                                                     CHDF5_P_DEFAULT()), "H5Lget_name_by_idx", path: path, location: loc)
            let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let child = group.hasSuffix("/") ? group + name : group + "/" + name
            let obj = H5Oopen(id, child, CHDF5_P_DEFAULT())
            try HDF5Library.check(obj, "H5Oopen", path: path, location: "object \(child)",
                                  summary: "cannot open object (dangling link, or a truncated or damaged file?)")
            let type = H5Iget_type(obj)
            H5Oclose(obj)
            let kind: HDF5ObjectKind = type == H5I_GROUP ? .group : type == H5I_DATASET ? .dataset : .other
            out.append((name, kind))
        }
        return out
    }

    /// The absolute paths of every dataset in the file (depth first, sorted by name
    /// within each group).
    ///
    /// - Throws: `.format` when groups nest deeper than ``maxGroupDepth`` or the walk meets
    ///   more than ``maxWalkedObjects`` objects: a damaged file whose links form a cycle (a
    ///   group holding a link to itself or to a parent) would otherwise recurse until the
    ///   stack overflows, or for ever (found by fuzzing checkpoints).
    public func datasetPaths(under group: String = "/") throws -> [String] {
        var out: [String] = []
        var walked = 0
        try walkDatasets(under: group, depth: 0, walked: &walked, into: &out)
        return out
    }

    /// The deepest group nesting ``datasetPaths(under:)`` follows (our files nest 4 deep).
    public static let maxGroupDepth = 32
    /// The most objects ``datasetPaths(under:)`` visits.
    public static let maxWalkedObjects = 1 << 20

    private func walkDatasets(under group: String, depth: Int, walked: inout Int, into out: inout [String]) throws {
        guard depth < Self.maxGroupDepth else {
            throw SwitchGymIOError(.format, "groups nest more than \(Self.maxGroupDepth) deep (a cycle of links?)",
                                   path: path, location: "group \(group.prefix(200))")
        }
        for (name, kind) in try children(of: group) {
            walked += 1
            guard walked <= Self.maxWalkedObjects else {
                throw SwitchGymIOError(.format, "more than \(Self.maxWalkedObjects) objects in the file's groups (a cycle of links?)",
                                       path: path, location: "group \(group.prefix(200))")
            }
            let child = group.hasSuffix("/") ? group + name : group + "/" + name
            switch kind {
            case .group: try walkDatasets(under: child, depth: depth + 1, walked: &walked, into: &out)
            case .dataset: out.append(child)
            case .other: break
            }
        }
    }

    /// The element type of a dataset as stored in the file (before any conversion
    /// that ``read(_:as:)`` would apply).
    public func elementType(of name: String) throws -> HDF5ElementType {
        let loc = "dataset \(name)"
        guard exists(name) else {
            throw SwitchGymIOError(.notFound, "dataset is missing", path: path, location: loc)
        }
        let ds = try HDF5Library.check(H5Dopen2(id, name, CHDF5_P_DEFAULT()), "H5Dopen2", path: path, location: loc)
        defer { H5Dclose(ds) }
        let type = try HDF5Library.check(H5Dget_type(ds), "H5Dget_type", path: path, location: loc)
        defer { H5Tclose(type) }
        let bits = Int(H5Tget_size(type)) * 8
        let cls = H5Tget_class(type)
        switch cls {
        case H5T_FLOAT: return .float(bits: bits)
        case H5T_INTEGER:
            return H5Tget_sign(type) == H5T_SGN_NONE ? .unsignedInteger(bits: bits) : .signedInteger(bits: bits)
        case H5T_STRING:
            return H5Tis_variable_str(type) > 0 ? .variableString : .fixedString(bytes: bits / 8)
        default:
            return .other(typeClass: Int(cls.rawValue))
        }
    }
}
