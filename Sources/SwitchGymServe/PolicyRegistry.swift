import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO

/// One verified, loaded version of a named policy: the immutable snapshot a decide uses.
///
/// Everything a decision needs (the bound network, the frozen normalisation, the action's
/// names) lives here, so a decide that took this snapshot is decided wholly by this version.
/// ``bound`` is not thread-safe: only ``Decider`` uses it, under its lock (and the registry
/// before it publishes the version).
public final class PolicyVersion: @unchecked Sendable {
    public let name: String
    public let version: Int
    /// Lowercase hex SHA-256 of the file's bytes (what `X-Content-SHA256` announces).
    public let sha256: String
    /// The file in the policy directory.
    public let path: String
    public let document: PolicyDocument
    public let normalization: ObservationNormalization
    let bound: BoundPolicy

    init(name: String, version: Int, sha256: String, path: String, document: PolicyDocument,
         normalization: ObservationNormalization, bound: BoundPolicy) {
        self.name = name
        self.version = version
        self.sha256 = sha256
        self.path = path
        self.document = document
        self.normalization = normalization
        self.bound = bound
    }
}

/// The serving daemon's policies: a **policy directory** of immutable, versioned policy files
/// and the active version of each name (docs/serving.md).
///
/// - Files: `NAME.vN.safetensors` (version `N >= 1` of policy `NAME`, a frozen policy file,
///   docs/policy-format.md). A plain `NAME.safetensors` moved into the folder is a drop-in: once
///   it verifies it is renamed to the next version and activated. Hidden files (a leading `.`:
///   temporary files, the state file) and other names are ignored.
/// - State: `.serve-state.json` records the active version and the rollback history of each
///   name, written atomically (temporary file, fsync, rename, fsync of the folder), so the
///   active version survives a restart and a crash.
/// - Every file is verified before it is used ( ``PolicyFile/decode(_:source:)``: checksum,
///   format, self-test; then the daemon's scenario fingerprint and sizes); an invalid file is
///   logged and skipped, and tried again only when its size or modification time changes (a
///   file still being written).
/// - Readers take a snapshot (``active(_:)``); writers (upload, rollback, scan) are serialised
///   and publish a new version only once it is verified, written and warmed up. On any failure
///   the old version stays active.
public final class PolicyRegistry: @unchecked Sendable {
    public let directory: String
    public let scenario: ServingScenario
    /// Where diagnostics go (one line each).
    let log: @Sendable (String) -> Void
    /// Observer of registry events (metrics).
    let events: (any RegistryEvents)?

    /// The state file's name in the policy directory.
    public static let stateFileName = ".serve-state.json"
    /// Policy file names end with this.
    public static let fileExtension = ".safetensors"

    struct Entry {
        var versions: [Int: PolicyVersion] = [:]
        var active: Int?
        /// Versions active before, the most recent last (what rollback returns to).
        var history: [Int] = []
    }

    /// Guards ``entries`` (held briefly: snapshot reads and publishing).
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Serialises writers: uploads, rollbacks, scans.
    private let writer = NSLock()
    /// Files that failed verification, with the size and modification time seen then.
    private var rejectedFiles: [String: FileStamp] = [:]
    /// File names of loaded versions.
    private var loadedFiles: Set<String> = []

    struct FileStamp: Equatable { var size: Int64; var mtime: Double }

    /// Opens the policy directory: loads every valid policy file, restores each name's active
    /// version from the state file (or takes the highest valid version of a name it does not
    /// record), and writes the state back if that changed anything.
    /// - Throws: ``ServeError`` (``ServeError/Reason/storage``) when the folder does not exist.
    public init(directory: String, scenario: ServingScenario, events: (any RegistryEvents)? = nil,
                log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws {
        self.directory = directory
        self.scenario = scenario
        self.log = log
        self.events = events
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw ServeError(.storage, "\(directory): the policy directory does not exist (create it; it may be empty)")
        }
        writer.lock()
        defer { writer.unlock() }
        let state = readState()
        for (file, parsed) in listPolicyFiles() {
            guard let v = parsed.version else { continue }  // drop-ins are handled by the first scan below
            _ = loadFile(file, name: parsed.name, version: v)
        }
        lock.lock()
        for (name, var e) in entries {
            let recorded = state?.policies[name]
            if let want = recorded?.active, e.versions[want] != nil {
                e.active = want
            } else {
                e.active = e.versions.keys.max()
                if let want = recorded?.active {
                    log("policy \(name): the state file's active version \(want) is missing or invalid; serving v\(e.active!) (the highest valid version)")
                }
            }
            e.history = (recorded?.history ?? []).filter { e.versions[$0] != nil }
            entries[name] = e
        }
        lock.unlock()
        if persistedState() != state { try? writeState() }
        for (name, e) in snapshotEntries() { if let a = e.active { events?.activated(name: name, version: a, swap: false) } }
        scanLocked()
    }

    // MARK: Reading

    /// The names that have an active version, sorted.
    public var names: [String] {
        lock.lock(); defer { lock.unlock() }
        return entries.filter { $0.value.active != nil }.keys.sorted()
    }

    /// Whether some policy is active (readiness).
    public var isReady: Bool { !names.isEmpty }

    /// The active version of `name` (default: the only policy, or the first name in sorted
    /// order when there are several): the snapshot a decide uses.
    /// - Throws: ``ServeError`` (``ServeError/Reason/unknownPolicy``, ``ServeError/Reason/notReady``).
    public func active(_ name: String? = nil) throws -> PolicyVersion {
        lock.lock(); defer { lock.unlock() }
        if let name {
            guard let e = entries[name], let a = e.active, let v = e.versions[a] else {
                let known = entries.filter { $0.value.active != nil }.keys.sorted()
                throw ServeError(.unknownPolicy, "no policy named '\(name)' (serving: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
            }
            return v
        }
        for n in entries.keys.sorted() {
            if let e = entries[n], let a = e.active, let v = e.versions[a] { return v }
        }
        throw ServeError(.notReady, "no policy is active yet: upload one (PUT /v1/policies/NAME) or move a policy file into \(directory)")
    }

    /// A description of every policy (`GET /v1/policies`).
    public struct Listing: Codable, Sendable, Equatable {
        public struct Scenario: Codable, Sendable, Equatable { public var name: String; public var fingerprint: String }
        public struct Version: Codable, Sendable, Equatable {
            public var version: Int
            public var sha256: String
            public var file: String
            public var kind: String
            public var checkpoint: String
            public var steps: Int?
        }
        public struct Policy: Codable, Sendable, Equatable {
            public var name: String
            public var active: Int?
            public var activeSha256: String?
            public var history: [Int]
            public var versions: [Version]
        }
        public var scenario: Scenario
        public var policies: [Policy]
    }

    public func listing() -> Listing {
        let all = snapshotEntries()
        let policies = all.keys.sorted().map { name -> Listing.Policy in
            let e = all[name]!
            return .init(name: name, active: e.active, activeSha256: e.active.flatMap { e.versions[$0]?.sha256 }, history: e.history,
                         versions: e.versions.keys.sorted().map { n in
                             let v = e.versions[n]!
                             return .init(version: n, sha256: v.sha256, file: FileSystem.baseName(of: v.path),
                                          kind: v.document.policy.kind.rawValue, checkpoint: v.document.source.checkpoint,
                                          steps: v.document.source.steps)
                         })
        }
        return Listing(scenario: .init(name: scenario.name, fingerprint: scenario.fingerprint), policies: policies)
    }

    func snapshotEntries() -> [String: Entry] {
        lock.lock(); defer { lock.unlock() }
        return entries
    }

    // MARK: Upload, rollback

    /// What an upload or rollback did.
    public struct Activation: Codable, Sendable, Equatable {
        public var policy: String
        public var version: Int
        public var sha256: String
        /// The version active before (nil: none).
        public var previous: Int?
        /// The bytes were those of a version already in the directory, which is active again.
        public var reused: Bool
    }

    /// Names a policy may have.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.unicodeScalars.first,
              ("0"..."9").contains(first) || ("A"..."Z").contains(first) || ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { c in
            ("A"..."Z").contains(c) || ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
        }
    }

    /// Stages, stores and activates an uploaded policy file: checks the body's sha256 against
    /// `sha256` (lowercase hex), decodes and verifies the file (checksum, format, self-test),
    /// checks it serves this scenario, warms it up (its golden cases on the instance that will
    /// serve), writes it as `NAME.vN.safetensors` atomically, then swaps it in and records the
    /// state. Bytes identical to an existing version of `name` activate that version again.
    /// - Throws: ``ServeError``; the active version is unchanged then.
    @discardableResult
    public func upload(name: String, bytes: [UInt8], sha256 announced: String) throws -> Activation {
        do {
            return try uploadChecked(name: name, bytes: bytes, sha256: announced)
        } catch let e as ServeError {
            events?.rejected(reason: e.reason)
            throw e
        }
    }

    private func uploadChecked(name: String, bytes: [UInt8], sha256 announced: String) throws -> Activation {
        guard Self.isValidName(name) else {
            throw ServeError(.badName, "policy name '\(name)': expected 1-64 characters [A-Za-z0-9_-], starting with a letter or digit")
        }
        let want = announced.trimmingCharacters(in: .whitespaces).lowercased()
        guard want.count == 64, want.allSatisfy(\.isHexDigit) else {
            throw ServeError(.missingSHA256, "X-Content-SHA256 '\(announced)': expected the body's SHA-256 as 64 hex digits")
        }
        let got = SHA256.hex(of: bytes)
        guard got == want else {
            throw ServeError(.sha256Mismatch, "the body (\(bytes.count) bytes) has SHA-256 \(got), the request announced \(want): the transfer was truncated or altered; nothing was changed")
        }
        writer.lock()
        defer { writer.unlock() }
        let existing = snapshotEntries()[name]
        if let same = existing?.versions.values.first(where: { $0.sha256 == got }) {
            let previous = try activate(name: name, version: same.version, pushHistory: true)
            log("policy \(name): upload of v\(same.version)'s bytes (sha256 \(got.prefix(12))): v\(same.version) active again")
            return Activation(policy: name, version: same.version, sha256: got, previous: previous, reused: true)
        }
        let version = nextVersion(name)
        let file = "\(name).v\(version)\(Self.fileExtension)"
        let staged = try stage(bytes: bytes, name: name, version: version, sha256: got,
                               path: directory + "/" + file, source: "upload \(name)")
        do { try AtomicOutput.write(bytes: bytes, to: staged.path) } catch {
            throw ServeError(.storage, "cannot write \(staged.path): \(error); v\(existing?.active.map(String.init) ?? "-") keeps serving")
        }
        loadedFiles.insert(file)
        lock.lock()
        entries[name, default: Entry()].versions[version] = staged
        lock.unlock()
        let previous = try activate(name: name, version: version, pushHistory: true)
        log("policy \(name): v\(version) (sha256 \(got.prefix(12)), \(bytes.count) bytes) uploaded and active\(previous.map { "; v\($0) before" } ?? "")")
        return Activation(policy: name, version: version, sha256: got, previous: previous, reused: false)
    }

    /// Makes the version active before the current one active again.
    /// - Throws: ``ServeError`` (unknown policy, nothing to roll back, state not written).
    @discardableResult
    public func rollback(name: String) throws -> Activation {
        writer.lock()
        defer { writer.unlock() }
        guard let e = snapshotEntries()[name], e.active != nil else {
            throw ServeError(.unknownPolicy, "no policy named '\(name)'")
        }
        guard let back = e.history.last(where: { e.versions[$0] != nil && $0 != e.active }) else {
            throw ServeError(.nothingToRollBack, "policy \(name): v\(e.active!) is the only version it has served; nothing to roll back to")
        }
        let previous = try activate(name: name, version: back, pushHistory: false)
        log("policy \(name): rolled back from v\(previous.map(String.init) ?? "-") to v\(back)")
        return Activation(policy: name, version: back, sha256: e.versions[back]!.sha256, previous: previous, reused: true)
    }

    /// Swaps `version` in as `name`'s active version and records the state; on a state write
    /// failure the swap is undone. Returns the version active before. Call with ``writer`` held.
    private func activate(name: String, version: Int, pushHistory: Bool) throws -> Int? {
        lock.lock()
        let before = entries[name] ?? Entry()
        var e = before
        let previous = e.active
        if previous != version {
            if pushHistory {
                if let p = previous { e.history.append(p) }
            } else {
                // Rollback: drop the history back to (and including) the version returned to.
                if let i = e.history.lastIndex(of: version) { e.history.removeSubrange(i...) }
            }
            if e.history.count > 64 { e.history.removeFirst(e.history.count - 64) }
        }
        e.active = version
        entries[name] = e
        lock.unlock()
        do { try writeState() } catch {
            lock.lock()
            entries[name]?.active = before.active
            entries[name]?.history = before.history
            lock.unlock()
            throw ServeError(.storage, "cannot record the active version in \(statePath): \(error); v\(previous.map(String.init) ?? "-") keeps serving")
        }
        if previous != version { events?.activated(name: name, version: version, swap: true) }
        return previous
    }

    /// The next version number of `name`: above every version loaded and every file of the
    /// name in the folder (valid or not), so a new file never overwrites one.
    private func nextVersion(_ name: String) -> Int {
        var top = snapshotEntries()[name]?.versions.keys.max() ?? 0
        for (_, parsed) in listPolicyFiles() where parsed.name == name { top = max(top, parsed.version ?? 0) }
        return top + 1
    }

    /// Decodes, verifies, checks and warms up a policy file. Call with ``writer`` held.
    private func stage(bytes: [UInt8], name: String, version: Int, sha256: String, path: String, source: String) throws -> PolicyVersion {
        let file: PolicyFile
        do { file = try PolicyFile.decode(bytes, source: source) } catch let e as PolicyFile.FileError {
            throw ServeError(e.kind == .incompatible ? .incompatiblePolicy : .corruptPolicy, e.message)
        } catch {
            throw ServeError(.corruptPolicy, "\(source): \(error)")
        }
        let d = file.document
        guard let fp = d.scenario?.fingerprint else {
            throw ServeError(.incompatiblePolicy, "\(source): the policy records no scenario (exported for a registered env, not a serving fleet)")
        }
        guard fp == scenario.fingerprint else {
            throw ServeError(.otherScenario, "\(source): the policy was exported for scenario '\(d.scenario?.name ?? "?")' (fingerprint \(fp.prefix(16))…); this daemon serves '\(scenario.name)' (fingerprint \(scenario.fingerprint.prefix(16))…)")
        }
        let layout = scenario.observationLayout
        guard d.observation.dimension == layout.dimension,
              d.action.components == [Int](repeating: scenario.variants.count, count: scenario.fleet.count) else {
            throw ServeError(.incompatiblePolicy, "\(source): the policy reads \(d.observation.dimension) floats and acts on \(d.action.components); this scenario's observation has \(layout.dimension) and its fleet \(scenario.fleet.count) devices of \(scenario.variants.count) variants")
        }
        guard let normalization = d.observation.normalization, normalization.isValid else {
            throw ServeError(.incompatiblePolicy, "\(source): the policy has no frozen observation normalisation (export it from a checkpoint that records one)")
        }
        let bound: BoundPolicy
        do { bound = try file.bind(source: source) } catch {
            throw ServeError(.corruptPolicy, "\(source): \(error)")
        }
        // Warm-up on the instance that will serve: its golden cases once more (scratch buffers
        // sized, pages touched), each giving the file's action.
        let dim = d.observation.dimension, width = d.action.maskWidth, c = d.action.components.count
        for i in 0..<file.golden.count {
            let obs = Array(file.golden.observations[(i * dim)..<((i + 1) * dim)])
            let mask = file.golden.masks[(i * width)..<((i + 1) * width)].map { $0 != 0 }
            let got = try? bound.decide(observation: obs, mask: mask)
            guard let got, got.map(Int32.init) == Array(file.golden.actions[(i * c)..<((i + 1) * c)]) else {
                throw ServeError(.corruptPolicy, "\(source): warm-up case \(i) did not give the file's action")
            }
        }
        return PolicyVersion(name: name, version: version, sha256: sha256, path: path, document: d,
                             normalization: normalization, bound: bound)
    }

    // MARK: The folder

    struct ParsedName: Equatable { var name: String; var version: Int? }

    /// `NAME.vN.safetensors` → (NAME, N); `NAME.safetensors` → (NAME, nil); anything else nil.
    static func parse(fileName: String) -> ParsedName? {
        guard !fileName.hasPrefix("."), fileName.hasSuffix(fileExtension) else { return nil }
        let stem = String(fileName.dropLast(fileExtension.count))
        if let dot = stem.lastIndex(of: "."), stem[stem.index(after: dot)...].first == "v",
           let n = Int(stem[stem.index(dot, offsetBy: 2)...]), n >= 1,
           String(n) == stem[stem.index(dot, offsetBy: 2)...] {
            let name = String(stem[..<dot])
            return isValidName(name) ? ParsedName(name: name, version: n) : nil
        }
        return isValidName(stem) ? ParsedName(name: stem, version: nil) : nil
    }

    /// The policy files of the folder, sorted by name.
    func listPolicyFiles() -> [(String, ParsedName)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().compactMap { f in Self.parse(fileName: f).map { (f, $0) } }
    }

    func stamp(_ file: String) -> FileStamp? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: directory + "/" + file),
              (a[.type] as? FileAttributeType) == .typeRegular else { return nil }
        return FileStamp(size: (a[.size] as? NSNumber)?.int64Value ?? -1,
                         mtime: (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
    }

    /// Loads a versioned file into ``entries`` (not activated). Returns the version, or nil
    /// (logged, remembered with its stamp) when it does not verify. Call with ``writer`` held.
    private func loadFile(_ file: String, name: String, version: Int) -> PolicyVersion? {
        guard let st = stamp(file) else { return nil }
        let path = directory + "/" + file
        do {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ServeError(.storage, "\(path): cannot read the file")
            }
            let bytes = [UInt8](data)
            let v = try stage(bytes: bytes, name: name, version: version, sha256: SHA256.hex(of: bytes), path: path, source: path)
            lock.lock()
            entries[name, default: Entry()].versions[version] = v
            lock.unlock()
            loadedFiles.insert(file)
            rejectedFiles[file] = nil
            return v
        } catch {
            if rejectedFiles[file] != st {
                log("skipping \(path): \(error) (tried again when the file changes)")
                events?.rejected(reason: (error as? ServeError)?.reason ?? .corruptPolicy)
            }
            rejectedFiles[file] = st
            return nil
        }
    }

    /// Picks up files moved into the folder since the last scan (the daemon calls this every
    /// second): a new valid version above the active one becomes active; a drop-in
    /// `NAME.safetensors` is renamed to the next version and becomes active; an invalid file is
    /// skipped until its size or modification time changes.
    public func scan() {
        writer.lock()
        defer { writer.unlock() }
        scanLocked()
    }

    private func scanLocked() {
        for (file, parsed) in listPolicyFiles() where !loadedFiles.contains(file) {
            guard let st = stamp(file), rejectedFiles[file] != st else { continue }
            if let version = parsed.version {
                guard let v = loadFile(file, name: parsed.name, version: version) else { continue }
                let active = snapshotEntries()[parsed.name]?.active
                if active == nil || version > active! {
                    do {
                        _ = try activate(name: parsed.name, version: version, pushHistory: true)
                        log("policy \(parsed.name): v\(version) (sha256 \(v.sha256.prefix(12))) found in the folder and active")
                    } catch { log("policy \(parsed.name): v\(version) found but not activated: \(error)") }
                } else {
                    log("policy \(parsed.name): v\(version) found in the folder (v\(active!) stays active)")
                }
            } else {
                adoptDropIn(file, name: parsed.name, stamp: st)
            }
        }
    }

    /// A drop-in `NAME.safetensors`: verified, renamed to `NAME.vN.safetensors`, activated.
    private func adoptDropIn(_ file: String, name: String, stamp st: FileStamp) {
        let path = directory + "/" + file
        do {
            guard let data = FileManager.default.contents(atPath: path) else { throw ServeError(.storage, "cannot read the file") }
            let bytes = [UInt8](data)
            let sha = SHA256.hex(of: bytes)
            if let same = snapshotEntries()[name]?.versions.values.first(where: { $0.sha256 == sha }) {
                _ = try activate(name: name, version: same.version, pushHistory: true)
                try FileManager.default.removeItem(atPath: path)
                log("policy \(name): \(file) is v\(same.version)'s file; v\(same.version) active again (\(file) removed)")
                return
            }
            let version = nextVersion(name)
            let target = directory + "/\(name).v\(version)\(Self.fileExtension)"
            let v = try stage(bytes: bytes, name: name, version: version, sha256: sha, path: target, source: path)
            guard rename(path, target) == 0 else { throw ServeError(.storage, "cannot rename \(file) to \(target) (errno \(errno))") }
            loadedFiles.insert(FileSystem.baseName(of: target))
            rejectedFiles[file] = nil
            lock.lock()
            entries[name, default: Entry()].versions[version] = v
            lock.unlock()
            _ = try activate(name: name, version: version, pushHistory: true)
            log("policy \(name): \(file) verified, stored as v\(version) (sha256 \(sha.prefix(12))) and active")
        } catch {
            if rejectedFiles[file] != st {
                log("skipping \(path): \(error) (tried again when the file changes)")
                events?.rejected(reason: (error as? ServeError)?.reason ?? .corruptPolicy)
            }
            rejectedFiles[file] = st
        }
    }

    // MARK: State file

    struct State: Codable, Equatable {
        struct Policy: Codable, Equatable { var active: Int; var history: [Int] }
        var format = "switchgym.serve.state"
        var formatVersion = 1
        var scenarioFingerprint: String
        var policies: [String: Policy]
    }

    public var statePath: String { directory + "/" + Self.stateFileName }

    func persistedState() -> State {
        let all = snapshotEntries()
        var p = [String: State.Policy]()
        for (name, e) in all { if let a = e.active { p[name] = .init(active: a, history: e.history) } }
        return State(scenarioFingerprint: scenario.fingerprint, policies: p)
    }

    private func readState() -> State? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        let unsigned: [UInt8]
        do {
            unsigned = try ContentChecksum.verifyJSON([UInt8](data), path: statePath).unsigned
        } catch {
            log("\(error); each policy starts at its highest valid version")
            return nil
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let s = try? decoder.decode(State.self, from: Data(unsigned)), s.format == "switchgym.serve.state", s.formatVersion == 1 else {
            log("\(statePath): not a readable state file; each policy starts at its highest valid version")
            return nil
        }
        return s
    }

    private func writeState() throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(persistedState())
        // The state file carries its checksum as its first key (``ContentChecksum``).
        try AtomicOutput.write(text: ContentChecksum.signJSON(String(decoding: data, as: UTF8.self) + "\n"), to: statePath)
    }
}

/// What the registry reports as it goes (the daemon's metrics).
public protocol RegistryEvents: Sendable {
    /// `version` of `name` became active (`swap`: replacing another, by upload, rollback or scan).
    func activated(name: String, version: Int, swap: Bool)
    /// An upload or a file in the folder was refused.
    func rejected(reason: ServeError.Reason)
}
