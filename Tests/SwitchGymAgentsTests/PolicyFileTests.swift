import Foundation
import Testing
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymNN
@testable import SwitchGymAgents

/// ``PolicyFile``: the exported policy (docs/policy-format.md), its safetensors container,
/// checksum, self-test and this library's runtime on it.
@Suite struct PolicyFileTests {
    /// A briefly trained policy of `architecture` on the tiny fleet, saved as a checkpoint in a
    /// fresh folder: the frozen policy, the model and the checkpoint file.
    static func trained(_ architecture: PolicyArchitecture, big: Int = 3, small: Int = 2) throws -> (FrozenPolicy, ServingModel, String, URL) {
        BLAS.setThreadCount(1)
        let m = try FactoredPolicyTests.fleet(big: big, small: small)
        var c = PPOConfig()
        c.numEnvs = 2; c.numSteps = 16; c.batchSize = 16; c.numEpochs = 2; c.hiddenSizes = [16]
        c.totalTimesteps = 32; c.seed = 5; c.policy = architecture
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-export-\(UUID().uuidString)")
        let store = try CheckpointStore(directory: dir)
        if architecture == .moves {
            let codec = FleetMoves(model: m)
            let agent = try PPO(config: c) { FleetMovesEnv(fleet: FluidServingEnv(model: m, seed: UInt64($0)), moves: codec) }
            try agent.train()
            _ = try store.save(agent.saveState(), step: agent.globalStep)
        } else {
            let agent = try PPO(config: c) { FluidServingEnv(model: m, seed: UInt64($0)) }
            try agent.train()
            _ = try store.save(agent.saveState(), step: agent.globalStep)
        }
        let frozen = try FrozenPolicy.load(path: dir.path)
        // 32 steps leave the policy near uniform, every decision a near-tie; sharpen it as training would.
        let last = frozen.network.layers.count - 1
        for i in frozen.network.weights(last).indices { frozen.network.weights(last)[i] *= 300 }
        return (frozen, m, frozen.source, dir)
    }

    static func export(_ frozen: FrozenPolicy, _ m: ServingModel, beamWidth: Int = FrozenPolicy.defaultBeamWidth) throws -> PolicyFile {
        try PolicyFile.make(policy: frozen, observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                            familyLayout: m.observationLayout,
                            context: .init(scenario: m.scenario, normalization: m.normalization, checkpointPath: frozen.source),
                            beamWidth: beamWidth, goldenCases: 16, seed: 3)
    }

    /// For family (beam 8 and greedy), moves and mlp policies: the file read back from its
    /// bytes acts exactly as the checkpoint's policy on random valid observations and masks,
    /// and its golden cases have the margin that makes them portable.
    @Test(arguments: [(PolicyArchitecture.family, 8), (.family, 1), (.moves, 1), (.mlp, 1)])
    func theFileActsAsTheCheckpoint(_ architecture: PolicyArchitecture, _ beam: Int) throws {
        let (frozen, m, _, dir) = try Self.trained(architecture)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.export(frozen, m, beamWidth: beam)
        let bytes = try file.safetensors()
        let back = try PolicyFile.decode(bytes, source: "test.safetensors")
        #expect(back.document == file.document)
        #expect(back.document.policy.kind == architecture)
        #expect(back.document.policy.beamWidth == (architecture == .family ? beam : 1))
        let fromFile = try back.bind()
        let fromCheckpoint = try frozen.bind(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                             familyLayout: m.observationLayout, beamWidth: beam)
        var g = SeededGenerator(seed: 11)
        for _ in 0..<300 {
            let (obs, mask) = PolicyFile.randomCase(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                                    familyLayout: m.observationLayout, using: &g)
            #expect(try fromFile.decide(observation: obs, mask: mask) == fromCheckpoint.act(observation: obs, mask: mask))
        }
        // Golden cases: as many as asked, each reproduced, each with a clear margin.
        #expect(back.golden.count == 16 && back.golden.actions.count == 16 * m.deviceCount)
        fromFile.workspace.measuresMargin = true
        let dim = m.observationDimension, width = m.actionLayout.maskWidth
        for i in 0..<16 {
            let obs = Array(back.golden.observations[(i * dim)..<((i + 1) * dim)])
            let mask = back.golden.masks[(i * width)..<((i + 1) * width)].map { $0 == 1 }
            _ = fromFile.act(observation: obs, mask: mask)
            #expect(fromFile.lastMargin >= PolicyFile.goldenMargin)
        }
    }

    /// The document: features cover the observation once, in order; the fingerprint, the
    /// checkpoint's sha256 and the frozen bill scale are the scenario's and the checkpoint's;
    /// action names are the devices and variants.
    @Test func theDocumentDescribesThePolicy() throws {
        let (frozen, m, ckpt, dir) = try Self.trained(.family)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try Self.export(frozen, m).document
        var next = 0
        for f in d.observation.features {
            #expect(f.offset == next, "\(f.name)")
            next += f.count
        }
        #expect(next == m.observationDimension)
        #expect(d.scenario?.fingerprint == m.scenario.fingerprint && d.scenario?.name == "tiny")
        #expect(d.source.checkpointSha256 == SHA256.hex(of: try FileSystem.readAll(ckpt)))
        #expect(d.observation.normalization == m.normalization && d.observation.family?.layout == m.observationLayout)
        #expect(d.action.componentNames == m.scenario.fleet.map(\.name))
        #expect(d.action.valueNames.allSatisfy { $0 == ["small", "medium", "large"] })
        #expect(d.versions.switchgym == SwitchGymVersion.string && d.formatVersion == 1)
    }

    /// The fingerprint follows what the policy serves, not where the spec lies or what it says of itself.
    @Test func theFingerprintFollowsTheResolvedScenario() throws {
        let sc = try FactoredPolicyTests.fleet(big: 2, small: 1).scenario
        var described = sc
        described.summary = "another description"
        described.sourcePath = "/elsewhere/spec.toml"
        described.trace = .dataset("other.h5")
        #expect(described.fingerprint == sc.fingerprint)
        var slower = sc
        slower.variants[1].latencyMs[0] += 1
        #expect(slower.fingerprint != sc.fingerprint)
        var bigger = sc
        bigger.fleet.append(Device(name: "extra", memoryGB: 40))
        bigger.initialVariants.append(0)
        #expect(bigger.fingerprint != sc.fingerprint)
        #expect(sc.fingerprint.count == 64)
    }

    /// The file with `edit` applied to its container and the checksum made valid again, so the
    /// check after the checksum is what refuses it.
    func resealed(_ bytes: [UInt8], _ edit: (inout SafetensorsFile) -> Void) throws -> [UInt8] {
        var f = try SafetensorsFile.decode(bytes, source: "x")
        edit(&f)
        f.metadata["sha256"] = ""
        let draft = try f.encoded()
        f.metadata["sha256"] = PolicyFile.checksum(data: SafetensorsFile.dataSection(draft), document: f.metadata["policy"] ?? "")
        return try f.encoded()
    }

    /// Truncations, flipped bits, a wrong checksum, a wrong format version, a shape that
    /// disagrees with the document, a wrong golden action, another file type: each refused
    /// with a reason, never a trap.
    @Test func corruptFilesAreRefusedWithAReason() throws {
        let (frozen, m, _, dir) = try Self.trained(.family)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Self.export(frozen, m).safetensors()
        func refusal(_ b: [UInt8]) -> String? {
            do { _ = try PolicyFile.decode(b, source: "p.safetensors"); return nil } catch let e as PolicyFile.FileError {
                #expect(e.kind == .corrupt)
                return e.message
            } catch { return "unexpected \(error)" }
        }
        for cut in [0, 7, 8, 100, bytes.count / 2, bytes.count - 1] {
            #expect(refusal(Array(bytes.prefix(cut))) != nil, "truncated at \(cut)")
        }
        var flipped = bytes
        flipped[bytes.count - 200] ^= 0x10
        #expect(refusal(flipped)?.contains("checksum mismatch") == true)
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        var header = bytes
        header[8 + headerLength / 2] ^= 0x01
        #expect(refusal(header) != nil)
        var huge = bytes
        huge[7] = 0x7f
        #expect(refusal(huge)?.contains("header length") == true)
        var badSum = try SafetensorsFile.decode(bytes, source: "x")
        badSum.metadata["sha256"] = String(repeating: "0", count: 64)
        #expect(refusal(try badSum.encoded())?.contains("checksum mismatch") == true)
        let version = try resealed(bytes) { $0.metadata["format_version"] = "2" }
        #expect(refusal(version)?.contains("format_version 2") == true)
        let shape = try resealed(bytes) { f in
            let t = f.tensors["actor.0.bias"]!
            f.tensors["actor.0.bias"] = .init(Array(t.floats.dropLast()), shape: [t.shape[0] - 1])
        }
        #expect(refusal(shape)?.contains("tensor actor.0.bias") == true)
        let golden = try resealed(bytes) { f in
            var a = f.tensors["golden.action"]!.int32s
            a[2] = (a[2] + 1) % 3
            f.tensors["golden.action"] = .init(a, shape: f.tensors["golden.action"]!.shape)
        }
        #expect(refusal(golden)?.contains("self-test case 0") == true)
        let other = try resealed(bytes) { $0.metadata["format"] = "something.else" }
        #expect(refusal(other)?.contains("not a SwitchGym policy file") == true)
        let nan = try resealed(bytes) { f in
            var w = f.tensors["actor.1.weight"]!.floats
            w[0] = .nan
            f.tensors["actor.1.weight"] = .init(w, shape: f.tensors["actor.1.weight"]!.shape)
        }
        #expect(refusal(nan)?.contains("non-finite") == true)
        // A golden case whose mask allows nothing (found by fuzzing: the self-test ran the
        // unchecked `act` on it, which traps in the masked log-softmax).
        let width = try PolicyFile.decode(bytes, source: "p").document.action.maskWidth
        let noMask = try resealed(bytes) { f in
            var k = f.tensors["golden.mask"]!.bytes
            for i in 0..<width { k[i] = 0 }
            f.tensors["golden.mask"] = .init(k, shape: f.tensors["golden.mask"]!.shape)
        }
        #expect(refusal(noMask)?.contains("self-test case 0: the mask allows no value of action component 0") == true,
                "\(refusal(noMask) ?? "accepted")")
        // A random 16-byte overwrite anywhere is refused (checksum or container).
        var g = SeededGenerator(seed: 1)
        for _ in 0..<40 {
            var b = bytes
            let at = Int(g.next() % UInt64(b.count - 16))
            for i in 0..<16 { b[at + i] = UInt8(truncatingIfNeeded: g.next()) }
            if b != bytes { #expect(refusal(b) != nil, "overwrite at \(at)") }
        }
    }

    /// `decide` checks outside input: the observation's length and finiteness, the mask's
    /// width and that it allows a value of every component.
    @Test func decideRefusesBadInput() throws {
        let (frozen, m, _, dir) = try Self.trained(.moves)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bound = try Self.export(frozen, m).bind()
        var g = SeededGenerator(seed: 2)
        let (obs, mask) = PolicyFile.randomCase(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                                familyLayout: m.observationLayout, using: &g)
        func message(_ o: [Float], _ k: [Bool]?) -> String? {
            do { _ = try bound.decide(observation: o, mask: k); return nil } catch let e as FrozenPolicy.LoadError { return e.message } catch { return "\(error)" }
        }
        #expect(message(obs, mask) == nil && message(obs, nil) == nil)
        #expect(message(Array(obs.dropLast()), mask)?.contains("observation of \(obs.count - 1) floats") == true)
        var nan = obs
        nan[3] = .nan
        #expect(message(nan, mask)?.contains("observation[3]") == true)
        #expect(message(obs, Array(mask.dropLast()))?.contains("mask of") == true)
        var none = mask
        for j in 0..<3 { none[3 + j] = false }
        #expect(message(obs, none)?.contains("component 1") == true)
    }

    /// The container alone: round trip, and the checks a hostile header meets.
    @Test func safetensorsContainerChecks() throws {
        let f = SafetensorsFile(metadata: ["a": "b"], tensors: ["x": .init([1, 2, 3] as [Float], shape: [3]), "y": .init([7] as [Int32], shape: [1, 1])])
        let bytes = try f.encoded()
        #expect(try SafetensorsFile.decode(bytes, source: "t") == f)
        #expect((Int(bytes[0]) + 8) % 8 == 0)
        func header(_ json: String, data: Int = 16) -> [UInt8] {
            var out = [UInt8]()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { out += $0 }
            return out + Array(json.utf8) + [UInt8](repeating: 0, count: data)
        }
        func refused(_ b: [UInt8], _ text: String) {
            do { _ = try SafetensorsFile.decode(b, source: "t"); Issue.record("accepted: \(text)") } catch let e as SafetensorsFile.FormatError {
                #expect(e.message.contains(text), "\(e.message)")
            } catch { Issue.record("\(error)") }
        }
        refused(header(#"{"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 20]}}"#), "outside the data")
        refused(header(#"{"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}"#), "needs 12 bytes")
        refused(header(#"{"x": {"dtype": "Q9", "shape": [4], "data_offsets": [0, 16]}}"#), "dtype Q9")
        refused(header(#"{"x": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}, "y": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}}"#), "overlap")
        refused(header(#"{"x": {"dtype": "U8", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}"#), "larger than the file")
        refused(header("{not json"), "not the expected JSON")
    }
}
