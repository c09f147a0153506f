import Foundation
import Testing
import SwitchGymCore

@Suite("Rollout")
struct RolloutTests {
    func parse(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func firstLineIsResetWithNullAction() throws {
        let lines = try Rollout.lines(spec: EnvRegistry.spec("CartPole-v1"), seed: 0, steps: 5, policy: .random)
        #expect(lines.count == 6)
        let first = try parse(lines[0])
        #expect(first["action"] is NSNull)
        #expect(first["reward"] as? Double == 0 && first["t"] as? Int == 0)
        #expect(first["terminated"] as? Bool == false && first["truncated"] as? Bool == false)
        #expect((first["obs"] as? [Double])?.count == 4)
        #expect(lines[0].hasPrefix("{\"t\":0,\"obs\":["))
        let second = try parse(lines[1])
        #expect(second["action"] as? Int != nil && second["reward"] as? Double == 1 && second["t"] as? Int == 1)
    }

    @Test func episodeEndIsFollowedByReset() throws {
        let lines = try Rollout.lines(spec: EnvRegistry.spec("Bandit-v0"), seed: 0, steps: 3, policy: .random)
        #expect(lines.count == 6)
        for (i, line) in lines.enumerated() {
            let o = try parse(line)
            #expect((o["action"] is NSNull) == (i % 2 == 0))
        }
    }

    @Test func scriptedActionsAndSeededRandomAreReproducible() throws {
        let spec = try EnvRegistry.spec("CartPole-v1")
        let script = try ActionScript(parsing: "1\n0\n\n1\n", source: "a.txt")
        #expect(script.actions == [[1], [0], [1]] && script.lines == [1, 2, 4])
        let lines = try Rollout.lines(spec: spec, seed: 4, steps: 3, policy: .script(script))
        #expect(try lines.dropFirst().map { try parse($0)["action"] as? Int } == [1, 0, 1])
        #expect(try Rollout.lines(spec: spec, seed: 4, steps: 9, policy: .random)
                == (try Rollout.lines(spec: spec, seed: 4, steps: 9, policy: .random)))
    }

    @Test func malformedScriptNamesFileAndLine() throws {
        let e = #expect(throws: EnvError.self) { try ActionScript(parsing: "0\n1\nleft\n", source: "acts.txt") }
        #expect(e?.message.hasPrefix("acts.txt:3:") == true)
        let script = try ActionScript(parsing: "0\n7\n", source: "acts.txt")
        let bad = #expect(throws: EnvError.self) {
            try Rollout.lines(spec: EnvRegistry.spec("CartPole-v1"), seed: 0, steps: 2, policy: .script(script))
        }
        #expect(bad?.message.hasPrefix("acts.txt:2:") == true)
        #expect(throws: EnvError.self) {
            try Rollout.lines(spec: EnvRegistry.spec("CartPole-v1"), seed: 0, steps: 3, policy: .script(script))
        }
    }

    @Test func initialStateOverridesReset() throws {
        let lines = try Rollout.lines(spec: EnvRegistry.spec("CartPole-v1"), seed: 0, steps: 1,
                                      policy: .random, initialState: [0.5, 0, 0, 0])
        #expect(try parse(lines[0])["obs"] as? [Double] == [0.5, 0, 0, 0])
        #expect(throws: EnvError.self) {
            try Rollout.lines(spec: EnvRegistry.spec("Bandit-v0"), seed: 0, steps: 1, policy: .random, initialState: [1])
        }
    }

    @Test func unknownEnvIdListsKnownIds() {
        let e = #expect(throws: EnvError.self) { try EnvRegistry.spec("Nope-v0") }
        #expect(e?.message.contains("CartPole-v1") == true)
    }
}
