import Foundation
import Testing
import SwitchGymIO

/// No output may replace an input (whatever path reaches it) or a file that is not a
/// regular file; the refused destination is left as it was.
@Suite("Outputs that are inputs or special files are refused")
struct OutputGuardTests {
    /// Writes `text` to `output` with `input` protected; returns the error, if any.
    private func write(_ output: String, protecting input: String) -> SwitchGymIOError? {
        do {
            try OutputGuard.protecting([input]) { try AtomicOutput.write(text: "new", to: output) }
            return nil
        } catch let e as SwitchGymIOError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("the input reached by a relative, absolute, ./-prefixed, symbolic-link or hard-link path is refused and unchanged",
          arguments: ["same", "absolute", "dot", "symlink", "hardlink", "parent"])
    func outputIsInput(_ how: String) throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let input = dir + "/a.csv"
        try AtomicOutput.write(text: "old", to: input)
        let output: String
        switch how {
        case "same": output = input
        case "absolute": output = URL(fileURLWithPath: input).standardizedFileURL.path
        case "dot": output = dir + "/./a.csv"
        case "parent": output = dir + "/sub/../a.csv"
        case "symlink":
            output = dir + "/link.csv"
            try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: input)
        default:
            output = dir + "/hard.csv"
            try FileManager.default.linkItem(atPath: input, toPath: output)
        }
        let e = try #require(write(output, protecting: input))
        #expect(e.kind == .invalidArgument)
        #expect(e.description.contains(output) && e.description.contains(input), "\(e)")
        #expect(e.description.contains("same file as the input"))
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "old")
        #expect(!listDirectory(dir).contains { $0.contains(".tmp-") })
    }

    @Test("a relative input is caught from another spelling of the same file")
    func relativeInput() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let input = dir + "/d.h5"
        try AtomicOutput.write(text: "old", to: input)
        // The same file relative to the working folder (without changing it: tests run in parallel).
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + String(input.dropFirst())
        #expect(FileManager.default.fileExists(atPath: relative))
        #expect(write(input, protecting: relative) != nil)
        #expect(write(relative, protecting: input) != nil)
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "old")
    }

    @Test("an output that does not exist yet is refused when it resolves to an input's path")
    func notYetExisting() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/alias", withDestinationPath: dir)
        #expect(write(dir + "/alias/new.h5", protecting: dir + "/new.h5") != nil)
        #expect(OutputGuard.resolvedPath(dir + "/alias/new.h5") == OutputGuard.resolvedPath(dir + "/new.h5"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/new.h5"))
    }

    @Test("other outputs are written; the protection ends with its scope")
    func otherOutputs() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let input = dir + "/a.csv"
        try AtomicOutput.write(text: "old", to: input)
        #expect(write(dir + "/b.h5", protecting: input) == nil)
        #expect(try String(contentsOfFile: dir + "/b.h5", encoding: .utf8) == "new")
        try AtomicOutput.write(text: "replaced", to: input)  // no longer protected
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "replaced")
        #expect(!OutputGuard.sameFile(input, dir + "/b.h5"))
    }

    @Test("a FIFO, a character device and a folder are not replaced by a regular file")
    func nonRegular() throws {
        let dir = try makeTemporaryDirectory(); defer { removeDirectory(dir) }
        let fifo = dir + "/pipe"
        #expect(mkfifo(fifo, 0o644) == 0)
        for (path, what) in [(fifo, "a FIFO"), ("/dev/null", "a character device"), (dir, "a folder")] {
            let e = #expect(throws: SwitchGymIOError.self) { try AtomicOutput.write(text: "x", to: path) }
            #expect(e?.kind == .invalidArgument)
            #expect(e?.description.contains(path) == true && e?.description.contains(what) == true, "\(String(describing: e))")
        }
        var st = stat()
        #expect(lstat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
        #expect(listDirectory(dir) == ["pipe"])
    }
}
