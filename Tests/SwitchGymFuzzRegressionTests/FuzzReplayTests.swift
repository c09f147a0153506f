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
        #expect(Self.files("spec").count >= 4)
    }

    /// toml++ (inside TOMLKit) asserted in parse_key on a table header whose `[` is followed
    /// by a character that cannot start a key (a newline, `.`, `=`): ScenarioSpec now refuses
    /// these before TOMLKit sees them, naming the line.
    @Test(arguments: files("spec"))
    func spec(_ path: String) throws {
        let e = #expect(throws: ScenarioError.self) { _ = try ScenarioSpec.load(path: path) }
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
}
