import Foundation
import Testing
import SwitchGymAgents
import SwitchGymData
import SwitchGymEnvs
import SwitchGymIO

/// Every input that ever crashed a fuzz target of Scripts/fuzz.sh (spec, config, checkpoint,
/// dataset, policy-swift), kept under Fixtures/<target>/ and fed again to the code that
/// crashed: each must now be refused with an error naming the file (or be accepted), never trap.
@Suite struct FuzzReplayTests {
    static let fixtures: String = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("test resources have no Fixtures folder")
        }
        return url.path
    }()

    static func files(_ target: String) -> [String] {
        let dir = fixtures + "/" + target
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { dir + "/" + $0 }
    }

    @Test func everyTargetWithAFindingHasItsFixtures() {
        #expect(Self.files("spec").count >= 8)
        #expect(Self.files("checkpoint").count >= 1)
    }

    /// toml++ (inside TOMLKit) asserted in parse_key on a table header whose `[` is followed
    /// by a character that cannot start a key (a newline, `.`, `=`, another `[` after a space),
    /// and in parse_value on an array closed by `}`:
    /// ScenarioSpec now refuses
    /// these before TOMLKit sees them, naming the line.
    /// (As the harness does, the bytes are decoded with invalid UTF-8 repaired: `load` would
    /// refuse a non-UTF-8 file before parsing.)
    @Test(arguments: files("spec"))
    func spec(_ path: String) throws {
        let text = String(decoding: try FileSystem.readAll(path), as: UTF8.self)
        let e = #expect(throws: ScenarioError.self) { _ = try ScenarioSpec.parse(text, file: path) }
        #expect(e?.file == path && e?.message.contains("not valid TOML at line") == true, "\(String(describing: e))")
    }

    /// The pre-check passes what toml++ accepts: brackets inside values that span lines,
    /// strings, comments, quoted and spaced header keys.
    @Test func tableHeaderCheckAcceptsValidSpecs() throws {
        let text = #"""
            name = "ok"  # [= a comment
            description = """
            [= inside a multi-line string
            """
            decision_interval_s = 1.0
            [ "trace" ]
            synthetic = "default"
            [[variants]]
            name = "a[="
            accuracy = 0.8
            batch_sizes = [
                1,
                8,
            ]
            latency_ms = [
            +5.0, 20.0]
            memory_gb = 1.0
            load_s_disk = 1.0
            load_s_ram = 0.5
            [[ fleet ]]
            name = "gpu"
            memory_gb = 10.0
            [[streams]]
            name = "fast"
            deadline_ms = 100.0
            """#
        let sc = try ScenarioSpec.parse(text, file: "ok.toml")
        #expect(sc.name == "ok" && sc.variants.map(\.name) == ["a[="] && sc.fleet.count == 1)
        let e = #expect(throws: ScenarioError.self) { _ = try ScenarioSpec.parse(text + "\n[\t=x]\n", file: "bad.toml") }
        #expect(e?.message.contains("not valid TOML at line 26") == true, "\(String(describing: e))")
    }

    /// A damaged checkpoint whose group links form a cycle: listing its datasets recursed until
    /// the stack overflowed. The walk now stops at a depth and object limit with an error.
    @Test(arguments: files("checkpoint"))
    func checkpoint(_ path: String) throws {
        #expect(throws: (any Error).self) { _ = try CheckpointFile.read(path, warn: { _ in }) }
        #expect(throws: (any Error).self) { _ = try FrozenPolicy.load(path: path) }
    }

    /// group-cycle.h5 (made with the HDF5 C API: /g holds a hard link `loop` to /g, the shape
    /// of the fuzzed checkpoint that overflowed the stack, in 2 KB).
    @Test func groupCycleStopsTheWalk() throws {
        let f = try HDF5File.open(path: Self.fixtures + "/checkpoint/group-cycle.h5")
        let e = #expect(throws: SwitchGymIOError.self) { _ = try f.datasetPaths() }
        #expect(e?.kind == .format && e?.summary.contains("nest more than \(HDF5File.maxGroupDepth) deep") == true,
                "\(String(describing: e))")
        try f.close()
    }
}
