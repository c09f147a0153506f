import Foundation
import SwitchGymCore
import SwitchGymIO

/// The checkpoints of one run: `ckpt-<step, 10 digits>.h5` files in a folder, of which the
/// newest `keepLast` are kept.
///
/// ```swift
/// let store = try CheckpointStore(directory: runDir, keepLast: 3)
/// if let url = store.latest() { state = try store.load(url) }   // resume
/// ...
/// _ = try store.save(state, step: globalStep)
/// ```
public final class CheckpointStore {
    /// The run folder (created by `init` when missing).
    public let directory: URL
    /// How many checkpoints `save` keeps (at least 1).
    public let keepLast: Int
    /// The `created_by` attribute of the files this store writes.
    public let createdBy: String

    /// - Throws: `SwitchGymIOError` when the folder cannot be created;
    ///   `CheckpointError` when `keepLast < 1`.
    public init(directory: URL, keepLast: Int = 3, createdBy: String = CheckpointFile.defaultCreator) throws {
        guard keepLast >= 1 else {
            throw CheckpointError(path: directory.path, "keepLast must be at least 1, got \(keepLast)")
        }
        self.directory = directory
        self.keepLast = keepLast
        self.createdBy = createdBy
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw SwitchGymIOError(.system, "cannot create the checkpoint folder", path: directory.path,
                                   libraryMessage: "\(error.localizedDescription)")
        }
        // Temporary files of saves killed before their rename (AtomicOutput names them
        // `.<name>.tmp-<pid>-<random>`).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where (name.hasPrefix(".ckpt-") || name.hasPrefix(".best.")) && name.contains(".h5.tmp-") {
            FileSystem.removeIfPresent(directory.appendingPathComponent(name).path)
        }
    }

    /// The file name for a step: `ckpt-0000012345.h5`.
    public static func fileName(step: Int) -> String {
        precondition(step >= 0, "checkpoint steps are non-negative")
        let digits = String(step)
        return "ckpt-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits + ".h5"
    }

    /// The step encoded in a checkpoint file name, or nil when the name is not one.
    public static func step(of url: URL) -> Int? {
        let name = url.lastPathComponent
        guard name.hasPrefix("ckpt-"), name.hasSuffix(".h5") else { return nil }
        let digits = name.dropFirst(5).dropLast(3)
        guard digits.count >= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The URL `save` uses for a step.
    public func url(step: Int) -> URL { directory.appendingPathComponent(Self.fileName(step: step)) }

    /// Every checkpoint in the folder, oldest step first.
    public func checkpoints() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            let u = directory.appendingPathComponent(name)
            return Self.step(of: u).map { ($0, u) }
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The checkpoint with the highest step, if any.
    public func latest() -> URL? { checkpoints().last }

    /// Writes `state` atomically as the checkpoint for `step`, then deletes the oldest
    /// checkpoints so that `keepLast` remain. The file just written is never deleted (even
    /// when the folder holds checkpoints with higher steps, e.g. after resuming from an
    /// earlier one; see ``removeCheckpoints(after:)``).
    ///
    /// - Returns: the new file.
    /// - Throws: when the file cannot be written; existing checkpoints are then untouched.
    @discardableResult
    public func save(_ state: StateDict, step: Int) throws -> URL {
        try save(state, step: step, beforeCommit: { _ in })
    }

    @discardableResult
    func save(_ state: StateDict, step: Int, beforeCommit: (String) throws -> Void) throws -> URL {
        let target = url(step: step)
        try CheckpointFile.write(state, step: step, to: target.path, createdBy: createdBy, beforeCommit: beforeCommit)
        let others = checkpoints().filter { $0.lastPathComponent != target.lastPathComponent }
        for old in others.dropLast(keepLast - 1) {
            FileSystem.removeIfPresent(old.path)
        }
        return target
    }

    /// Deletes checkpoints whose step is greater than `step` (a run resumed from `step`
    /// abandons them, so `latest()` must not find them after the next crash).
    public func removeCheckpoints(after step: Int) {
        for u in checkpoints() where (Self.step(of: u) ?? 0) > step {
            FileSystem.removeIfPresent(u.path)
        }
    }

    /// Reads a checkpoint's state.
    ///
    /// - Throws: ``CheckpointError`` naming the file (see ``CheckpointFile/read(_:)``).
    public func load(_ url: URL) throws -> StateDict {
        try CheckpointFile.read(url.path).state
    }

    /// Reads a checkpoint with its step and `created_by` attribute.
    public func loadCheckpoint(_ url: URL) throws -> Checkpoint {
        try CheckpointFile.read(url.path)
    }
}
