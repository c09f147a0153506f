import Foundation
import Testing
import SwitchGymCABI
import SwitchGymCore
import SwitchGymTestSupport

/// Calls the C ABI (`sg_*`) as a C caller would: caller-owned buffers, error messages in a
/// caller's buffer, nothing trapping on a bad argument.
/// The NUL-terminated text in `buffer`.
func text(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

@Suite("C ABI")
struct CABITests {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A handle with buffers it owns on the Swift side, as Python's numpy arrays would be.
    final class Caller {
        let h: UnsafeMutableRawPointer
        let n: Int, dim: Int, width: Int, components: Int
        let obs: UnsafeMutableBufferPointer<Float>
        let rewards: UnsafeMutableBufferPointer<Float>
        let terms, truncs, hasFinal: UnsafeMutableBufferPointer<UInt8>
        let masks, finalMasks: UnsafeMutableBufferPointer<UInt8>
        let finalObs: UnsafeMutableBufferPointer<Float>
        var err = [CChar](repeating: 0, count: 512)
        var spaces: [String: Any]

        init(_ id: String, trace: String? = nil, n: Int, autoreset: String? = nil) throws {
            var err = [CChar](repeating: 0, count: 512)
            guard let h = sg_env_create(id, trace, Int64(n), autoreset, 0, &err, 512) else {
                throw EnvError(.invalidArgument, text(err))
            }
            self.h = h
            spaces = try JSONSerialization.jsonObject(with: Data(String(cString: sg_env_spaces(h)!).utf8)) as! [String: Any]
            self.n = n
            dim = (spaces["observation"] as! [String: Any])["shape"].map { ($0 as! [Int]).reduce(1, *) }!
            width = spaces["mask_width"] as! Int
            components = spaces["action_components"] as! Int
            obs = .allocate(capacity: n * dim); rewards = .allocate(capacity: n)
            terms = .allocate(capacity: n); truncs = .allocate(capacity: n); hasFinal = .allocate(capacity: n)
            masks = .allocate(capacity: n * width); finalMasks = .allocate(capacity: n * width)
            finalObs = .allocate(capacity: n * dim)
            let rc = sg_env_bind(h, Int64(n), obs.baseAddress, Int64(n * dim), rewards.baseAddress, terms.baseAddress,
                                 truncs.baseAddress, masks.baseAddress, Int64(n * width), finalObs.baseAddress,
                                 hasFinal.baseAddress, finalMasks.baseAddress, &err, 512)
            if rc != 0 { throw EnvError(.invalidArgument, text(err)) }
        }

        deinit {
            sg_env_close(h)
            for b in [obs, rewards, finalObs] { b.deallocate() }
            for b in [terms, truncs, hasFinal, masks, finalMasks] { b.deallocate() }
        }

        /// The message of the last failing call.
        var message: String { text(err) }

        func step(_ actions: [Int64]) -> Int32 { sg_env_step(h, actions, Int64(actions.count), &err, 512) }
        func reset(seed: UInt64? = nil) -> Int32 { sg_env_reset(h, seed == nil ? 0 : 1, seed ?? 0, &err, 512) }
    }

    @Test func abiVersionAndIds() throws {
        #expect(sg_abi_version() == 1)
        let ids = try JSONSerialization.jsonObject(with: Data(String(cString: sg_registered_ids()).utf8)) as! [String]
        #expect(ids == EnvRegistry.ids)
    }

    @Test func spacesDescribeCartPole() throws {
        let c = try Caller("CartPole-v1", n: 3)
        #expect(c.spaces["num_envs"] as? Int == 3)
        #expect(c.spaces["max_episode_steps"] as? Int == 500)
        #expect(c.spaces["autoreset"] as? String == "next-step")
        let action = c.spaces["action"] as! [String: Any]
        #expect(action["kind"] as? String == "Discrete" && action["n"] as? Int == 2 && action["start"] as? Int == 0)
        let o = c.spaces["observation"] as! [String: Any]
        #expect(o["shape"] as? [Int] == [4])
        // Unbounded limits are null (strict JSON); finite ones exact as Float.
        let high = (o["high"] as! [Any]).map { ($0 as? NSNumber).map { Float($0.doubleValue) } ?? .infinity }
        let low = (o["low"] as! [Any]).map { ($0 as? NSNumber).map { Float($0.doubleValue) } ?? -.infinity }
        let expected = try EnvRegistry.spec("CartPole-v1").observationSpace
        #expect(high == expected.high && low == expected.low)
        #expect(expected.high.contains(.infinity))
        #expect(c.width == 2 && c.components == 1)
    }

    /// `sg_env_spaces` is the JSON encoding of the ``EnvSpaces`` value: it decodes back to
    /// the value built from the same env, with an unbounded limit as `null` (`nil`).
    @Test func spacesAreTheEncodedEnvSpaces() throws {
        let c = try Caller("CartPole-v1", n: 3)
        let text = String(cString: sg_env_spaces(c.h)!)
        let decoded = try JSONDecoder().decode(EnvSpaces.self, from: Data(text.utf8))
        let spec = try EnvRegistry.spec("CartPole-v1")
        #expect(decoded == EnvSpaces(spec.makeVector(count: 3), spec: spec))
        #expect(decoded.action.kind == .discrete && decoded.action.n == 2 && decoded.observation.high.contains(nil))
        #expect(decoded.abi == sg_abi_version())
    }

    @Test func resetAndStepWriteTheCallersBuffers() throws {
        let c = try Caller("CartPole-v1", n: 4)
        c.obs.update(repeating: .nan)
        #expect(c.reset(seed: 7) == 0, "\(c.message)")
        #expect(c.obs.allSatisfy { abs($0) <= 0.05 })
        // The same as the Swift vector env seeded the same way.
        let v = try EnvRegistry.spec("CartPole-v1").makeVector(count: 4)
        let b = v.makeBuffers()
        try v.reset(seed: 7, into: b)
        #expect(Array(c.obs) == Array(b.observations))
        var steps = 0
        while c.terms.allSatisfy({ $0 == 0 }) {
            #expect(c.step([1, 1, 1, 1]) == 0, "\(c.message)")
            try v.step([1, 1, 1, 1], into: b)
            steps += 1
            #expect(Array(c.obs) == Array(b.observations) && c.rewards[0] == 1)
            #expect(c.masks.allSatisfy { $0 == 1 })
        }
        #expect(steps > 3 && steps < 100)
        let ended = (0..<4).filter { c.terms[$0] == 1 }
        #expect(!ended.isEmpty && c.truncs.allSatisfy { $0 == 0 })
        // Next step: the reset (next-step autoreset) gives reward 0 and no flags.
        #expect(c.step([0, 0, 0, 0]) == 0)
        #expect(ended.allSatisfy { c.rewards[$0] == 0 && c.terms[$0] == 0 && abs(c.obs[$0 * 4 + 2]) <= 0.05 })
    }

    @Test func sameStepWritesFinalObservations() throws {
        let c = try Caller("CartPole-v1", n: 2, autoreset: "same-step")
        #expect(c.reset(seed: 0) == 0)
        while c.terms[0] == 0 { #expect(c.step([1, 1]) == 0) }
        #expect(c.hasFinal[0] == 1 && abs(c.finalObs[2]) > 0.2)   // the pole fell
        #expect(abs(c.obs[2]) <= 0.05)                              // already reset
    }

    @Test func disabledAutoresetAndMaskReset() throws {
        let c = try Caller("CartPole-v1", n: 2, autoreset: "disabled")
        var mask: [UInt8] = [1, 0]
        #expect(sg_env_reset_mask(c.h, &mask, 2, 1, 0, &c.err, 512) != 0)
        #expect(c.message.contains("first reset"))
        mask = [1, 1]
        #expect(sg_env_reset_mask(c.h, &mask, 2, 1, 0, &c.err, 512) == 0)
        #expect(sg_env_reset_mask(c.h, &mask, 3, 1, 0, &c.err, 512) != 0)
        #expect(c.message.contains("expected a mask of 2 entries"))
    }

    @Test func setStateMatchesGymnasiumState() throws {
        let c = try Caller("CartPole-v1", n: 1)
        var state: [Double] = [0.01, -0.02, 0.03, -0.04]
        #expect(sg_env_set_state(c.h, 0, &state, 4, &c.err, 512) != 0)
        #expect(c.message.contains("reset"))
        #expect(c.reset(seed: 0) == 0)
        #expect(sg_env_set_state(c.h, 0, &state, 4, &c.err, 512) == 0, "\(c.message)")
        #expect(Array(c.obs) == state.map { Float($0) })
        #expect(sg_env_set_state(c.h, 1, &state, 4, &c.err, 512) != 0 && c.message.contains("not in 0..<1"))
        #expect(sg_env_set_state(c.h, 0, nil, 4, &c.err, 512) != 0)
        #expect(sg_env_set_state(c.h, 0, &state, 3, &c.err, 512) != 0)
        let b = try Caller("Bandit-v0", n: 1)
        #expect(b.reset() == 0)
        #expect(sg_env_set_state(b.h, 0, &state, 4, &b.err, 512) != 0 && b.message.contains("does not support"))
    }

    @Test func badArgumentsAreMessagesNotTraps() throws {
        var err = [CChar](repeating: 0, count: 512)
        func message() -> String { text(err) }
        #expect(sg_env_create(nil, nil, 1, nil, 0, &err, 512) == nil && message().contains("null or empty"))
        #expect(sg_env_create("NoSuch-v0", nil, 1, nil, 0, &err, 512) == nil && message().contains("unknown env id"))
        #expect(sg_env_create("CartPole-v1", nil, 0, nil, 0, &err, 512) == nil && message().contains("num_envs"))
        #expect(sg_env_create("CartPole-v1", nil, -5, nil, 0, &err, 512) == nil)
        #expect(sg_env_create("CartPole-v1", nil, 1 << 40, nil, 0, &err, 512) == nil)
        #expect(sg_env_create("CartPole-v1", nil, 1, "sometimes", 0, &err, 512) == nil && message().contains("autoreset"))
        #expect(sg_env_create("CartPole-v1", "x.h5", 1, nil, 0, &err, 512) == nil && message().contains("scenario"))
        #expect(sg_env_create("envs/no-such.toml", nil, 1, nil, 0, &err, 512) == nil && !message().isEmpty)
        // A null err buffer is allowed; so is a tiny one (truncated, NUL-terminated).
        #expect(sg_env_create(nil, nil, 1, nil, 0, nil, 0) == nil)
        var tiny = [CChar](repeating: 65, count: 8)
        #expect(sg_env_create(nil, nil, 1, nil, 0, &tiny, 8) == nil && text(tiny).count == 7)

        // Null handles.
        #expect(sg_env_spaces(nil) == nil)
        #expect(sg_env_reset(nil, 0, 0, &err, 512) != 0 && message().contains("null"))
        #expect(sg_env_step(nil, nil, 0, &err, 512) != 0 && message().contains("null"))
        #expect(sg_env_set_parallelism(nil, 1, &err, 512) != 0)
        sg_env_close(nil)

        // Unbound, wrong sizes, null buffers.
        let h = try #require(sg_env_create("CartPole-v1", nil, 2, nil, 0, &err, 512))
        defer { sg_env_close(h) }
        #expect(sg_env_reset(h, 0, 0, &err, 512) != 0 && message().contains("sg_env_bind"))
        let f = UnsafeMutablePointer<Float>.allocate(capacity: 64), u = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { f.deallocate(); u.deallocate() }
        #expect(sg_env_bind(h, 2, f, 7, f, u, u, u, 4, f, u, u, &err, 512) != 0 && message().contains("expected 2, 8"))
        #expect(sg_env_bind(h, 2, f, 8, nil, u, u, u, 4, f, u, nil, &err, 512) != 0
                && message().contains("rewards, final_masks"))
        // Buffers that outlive the calls (as numpy arrays do).
        let obs = UnsafeMutableBufferPointer<Float>.allocate(capacity: 8), fin = UnsafeMutableBufferPointer<Float>.allocate(capacity: 8)
        let rew = UnsafeMutablePointer<Float>.allocate(capacity: 2), flags = UnsafeMutablePointer<UInt8>.allocate(capacity: 14)
        defer { obs.deallocate(); fin.deallocate(); rew.deallocate(); flags.deallocate() }
        #expect(sg_env_bind(h, 2, obs.baseAddress, 8, rew, flags, flags + 2, flags + 4, 4, fin.baseAddress, flags + 8,
                            flags + 10, &err, 512) == 0)
        // Step before reset, bad actions (nothing stepped), bad sizes.
        var actions: [Int64] = [0, 1]
        #expect(sg_env_step(h, &actions, 2, &err, 512) != 0 && message().contains("reset"))
        #expect(sg_env_reset(h, 1, 3, &err, 512) == 0)
        let before = Array(obs)
        actions = [0, 2]
        #expect(sg_env_step(h, &actions, 2, &err, 512) != 0 && message().contains("choice 2 of component 0 of sub-env 1"))
        actions = [-1, 0]
        #expect(sg_env_step(h, &actions, 2, &err, 512) != 0 && message().contains("choice -1"))
        #expect(Array(obs) == before)
        #expect(sg_env_step(h, &actions, 3, &err, 512) != 0 && message().contains("expected 2 × 1 = 2 choices, got 3"))
        #expect(sg_env_step(h, nil, 2, &err, 512) != 0 && message().contains("null"))
        #expect(sg_env_set_parallelism(h, 0, &err, 512) != 0)
        actions = [1, 0]
        #expect(sg_env_step(h, &actions, 2, &err, 512) == 0)
        #expect(Array(obs) != before)
    }

    @Test(arguments: ["CartPole-v1", "SwitchCost-v0", "envs/vision-zoo.toml"])
    func noAllocationPerStep(id: String) throws {
        try #require(AllocationCounter.isSupported)
        let path = id.hasSuffix(".toml") ? Self.packageRoot + "/" + id : id
        for mode in ["next-step", "same-step"] {
            let c = try Caller(path, n: 8, autoreset: mode)
            #expect(c.reset(seed: 1) == 0, "\(c.message)")
            let nvec = (c.spaces["action"] as! [String: Any])["nvec"] as! [Int]
            let table: [Int64] = (0..<(64 * 8 * c.components)).map { Int64($0 * 7919 % nvec[$0 % c.components]) }
            var failures = 0
            let allocations = table.withUnsafeBufferPointer { t in
                func run(_ n: Int) {
                    for s in 0..<n {
                        let row = t.baseAddress! + (s % 64) * 8 * c.components
                        if sg_env_step(c.h, row, Int64(8 * c.components), &c.err, 512) != 0 { failures += 1 }
                    }
                }
                // The warm-up runs the very code that is counted, so one-time work (generic
                // metadata instantiation in unoptimised builds) happens before counting, as in
                // ``EnvBenchmark/allocationsPerStep``.
                run(64)
                return AllocationCounter.count { run(1_000) }
            }
            #expect(failures == 0, "\(id) \(mode): \(c.message)")
            #expect(allocations == 0, "\(id) \(mode): \(allocations ?? -1) allocations in 1,000 steps")
        }
    }

    @Test func scenarioSpaces() throws {
        let c = try Caller(Self.packageRoot + "/envs/vision-zoo.toml", n: 2)
        let action = c.spaces["action"] as! [String: Any]
        #expect(action["kind"] as? String == "MultiDiscrete")
        let nvec = action["nvec"] as! [Int]
        #expect(nvec.count == 3 && c.width == nvec.reduce(0, +))
        #expect(c.reset(seed: 0) == 0)
        // Every component allows something after a reset.
        for i in 0..<2 {
            var offset = 0
            for n in nvec {
                #expect((offset..<(offset + n)).contains { c.masks[i * c.width + $0] == 1 })
                offset += n
            }
        }
    }
}
