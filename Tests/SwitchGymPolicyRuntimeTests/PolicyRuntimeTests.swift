import CSwitchGymPolicy
import Foundation
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymNN
import SwitchGymTestSupport
@testable import SwitchGymAgents
import XCTest

/// The C runtime (runtime/c, `CSwitchGymPolicy`) on files this library exports: SHA-256,
/// loading, every refusal, acting, and agreement with the Swift runtime (`PolicyFile.bind`).
final class PolicyRuntimeTests: XCTestCase {
    // MARK: Fixtures

    /// The tiny two-class fleet of the agents' tests (3 variants, big and small devices).
    static func fleet(big: Int = 3, small: Int = 2) throws -> ServingModel {
        func variant(_ name: String, _ acc: Double, _ ms: Double, _ gb: Double) -> ModelVariant {
            ModelVariant(name: name, accuracy: acc, batchSizes: [1, 8, 32], latencyMs: [ms, 2 * ms, 5 * ms], memoryGB: gb,
                         loadSecondsDisk: 0.6, loadSecondsRAM: 0.3, costPerSecond: 1)
        }
        let variants = [variant("small", 0.70, 2, 4), variant("medium", 0.78, 5, 12), variant("large", 0.85, 11, 30)]
        let fleet = (0..<big).map { Device(name: "big-\($0)", memoryGB: 40) } + (0..<small).map { Device(name: "small-\($0)", memoryGB: 16) }
        let streams = [SLOStream(name: "fast", deadlineMs: 50, share: 0.6, dropAfterIntervals: 2),
                       SLOStream(name: "accurate", deadlineMs: 400, share: 0.4, minAccuracy: 0.8, dropAfterIntervals: 3)]
        let sc = ServingScenario(name: "tiny", variants: variants, fleet: fleet, streams: streams, decisionInterval: 1,
                                 episodeIntervals: 20, weights: ServingRewardWeights(served: 1, accuracy: 1, cost: 0, slo: 1))
        var g = SeededGenerator(seed: 1)
        let intervals = 40
        let per = 1500.0 * Double(big + small)
        let counts = (0..<(intervals * 2)).map { i in per * (i % 2 == 0 ? 0.6 : 0.4) * (0.4 + 1.2 * g.nextUnit()) }
        return try ServingModel(scenario: sc, arrivals: ScenarioArrivals(intervals: intervals, streams: 2, counts: counts),
                                randomStart: true)
    }

    /// A randomly initialised policy of `architecture` for `m` with `hidden` layer widths (no
    /// training: the weights are orthogonal and the output layer is scaled up so that most
    /// decisions have a clear margin).
    static func randomPolicy(_ architecture: PolicyArchitecture, _ m: ServingModel, activation: Activation = .tanh,
                             hidden: [Int] = [32, 32], seed: UInt64 = 7) -> FrozenPolicy {
        let layout = m.observationLayout
        let sizes: [Int], levels: Int?
        switch architecture {
        case .family:
            sizes = [FamilyEncoder(layout: layout).actorInputSize] + hidden + [layout.jobs]
            levels = nil
        case .moves:
            let codec = FleetMoves(model: m)
            sizes = [codec.observationDimension] + hidden + [codec.actionLayout.maskWidth]
            levels = codec.levels
        default:
            sizes = [m.observationDimension] + hidden + [m.actionLayout.maskWidth]
            levels = nil
        }
        let net = MLP(sizes: sizes, hiddenActivation: activation)
        var g = SeededGenerator(seed: seed)
        net.initializeOrthogonal(outputGain: 1, using: &g)
        let last = net.layers.count - 1
        for i in net.weights(last).indices { net.weights(last)[i] *= 8 }
        for l in 0..<net.layers.count { for i in net.bias(l).indices { net.bias(l)[i] = Float(g.nextUnit() - 0.5) * 0.2 } }
        return FrozenPolicy(algorithm: "ppo", architecture: architecture, source: "random",
                            signature: architecture == .mlp ? nil : FamilyEncoder(layout: layout).signature,
                            network: net, stayBias: architecture == .family ? 0.25 : 0, movesLevels: levels)
    }

    /// `policy` exported for `m` with this library (PolicyFile), as safetensors bytes.
    static func exported(_ policy: FrozenPolicy, _ m: ServingModel, beamWidth: Int = 8, golden: Int = 16) throws -> PolicyFile {
        let ckpt = FileManager.default.temporaryDirectory.appendingPathComponent("sg-runtime-\(UUID().uuidString).h5")
        try Data("not a checkpoint".utf8).write(to: ckpt)
        defer { try? FileManager.default.removeItem(at: ckpt) }
        return try PolicyFile.make(policy: policy, observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                   familyLayout: m.observationLayout,
                                   context: .init(scenario: m.scenario, normalization: m.normalization, checkpointPath: ckpt.path),
                                   beamWidth: beamWidth, goldenCases: golden, seed: 3)
    }

    /// Loads `bytes` with the C runtime: the handle, or nil and the message.
    static func load(_ bytes: [UInt8]) -> (OpaquePointer?, String) {
        var handle: OpaquePointer?
        var err = [CChar](repeating: 0, count: 1024)
        let rc = bytes.withUnsafeBytes { sg_policy_load_memory($0.baseAddress, $0.count, &handle, &err, err.count) }
        let message = Self.text(err)
        if rc != 0 {
            XCTAssertNil(handle)
            XCTAssertFalse(message.isEmpty, "a refusal without a message")
            return (nil, message)
        }
        return (handle, message)
    }

    /// The C runtime's action, or its error message.
    static func act(_ h: OpaquePointer, _ obs: [Float], _ mask: [Bool]?) -> Result<[Int], RuntimeError> {
        var action = [Int32](repeating: -1, count: sg_policy_action_components(h))
        var err = [CChar](repeating: 0, count: 512)
        let rc: Int32
        if let mask {
            let m = mask.map { UInt8($0 ? 1 : 0) }
            rc = sg_policy_act(h, obs, m, &action, &err, err.count)
        } else {
            rc = sg_policy_act(h, obs, nil, &action, &err, err.count)
        }
        return rc == 0 ? .success(action.map(Int.init)) : .failure(RuntimeError(code: rc, message: Self.text(err)))
    }

    struct RuntimeError: Error { var code: Int32; var message: String }

    /// A NUL-terminated C message buffer as a String.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `bytes` after `edit` of its container, with the checksum made valid again (so a later check refuses it).
    static func resealed(_ bytes: [UInt8], _ edit: (inout SafetensorsFile) -> Void) throws -> [UInt8] {
        var f = try SafetensorsFile.decode(bytes, source: "x")
        edit(&f)
        f.metadata["sha256"] = ""
        let draft = try f.encoded()
        f.metadata["sha256"] = PolicyFile.checksum(data: SafetensorsFile.dataSection(draft), document: f.metadata["policy"] ?? "")
        return try f.encoded()
    }

    // MARK: SHA-256

    func testSHA256MatchesTheFIPSVectors() {
        func hex(_ bytes: [UInt8]) -> String {
            var d = [UInt8](repeating: 0, count: 32)
            bytes.withUnsafeBytes { sg_sha256($0.baseAddress, $0.count, &d) }
            return d.map { String(format: "%02x", $0) }.joined()
        }
        XCTAssertEqual(hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Every length around the block and padding boundaries agrees with SwitchGymIO's SHA256.
        var g = SeededGenerator(seed: 9)
        for n in [55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] {
            let b = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            XCTAssertEqual(hex(b), SHA256.hex(of: b), "length \(n)")
        }
    }

    // MARK: Loading and acting

    func testAValidFileLoadsAndActs() throws {
        let m = try Self.fleet()
        let file = try Self.exported(Self.randomPolicy(.family, m), m)
        let bytes = try file.safetensors()
        let (h, message) = Self.load(bytes)
        guard let h else { return XCTFail("refused: \(message)") }
        defer { sg_policy_free(h) }
        XCTAssertEqual(sg_policy_observation_dimension(h), m.observationDimension)
        XCTAssertEqual(sg_policy_mask_width(h), m.actionLayout.maskWidth)
        XCTAssertEqual(sg_policy_action_components(h), m.deviceCount)
        XCTAssertEqual(sg_policy_component_size(h, 0), 3)
        XCTAssertEqual(sg_policy_component_size(h, 99), 0)
        XCTAssertEqual(sg_policy_kind(h), SG_KIND_FAMILY)
        XCTAssertEqual(String(cString: sg_policy_kind_name(h)), "family")
        XCTAssertEqual(sg_policy_beam_width(h), 8)
        var len = 0
        let doc = String(cString: sg_policy_document(h, &len))
        XCTAssertEqual(len, doc.utf8.count)
        XCTAssertTrue(doc.contains("\"kind\":\"family\""), doc)
        let bound = try file.bind()
        var g = SeededGenerator(seed: 4)
        let (obs, mask) = PolicyFile.randomCase(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                                familyLayout: m.observationLayout, using: &g)
        XCTAssertEqual(try Self.act(h, obs, mask).get(), bound.act(observation: obs, mask: mask))
        XCTAssertEqual(try Self.act(h, obs, nil).get(), bound.act(observation: obs, mask: nil))
        // From a file, too.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sg-runtime-\(UUID().uuidString).safetensors")
        try Data(bytes).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        var fh: OpaquePointer?
        var err = [CChar](repeating: 0, count: 512)
        XCTAssertEqual(sg_policy_load_file(path.path, &fh, &err, err.count), 0, Self.text(err))
        sg_policy_free(fh)
        XCTAssertEqual(sg_policy_load_file("/nonexistent/p.safetensors", &fh, &err, err.count), Int32(SG_ERR_IO))
        XCTAssertTrue(Self.text(err).contains("cannot open"))
    }

    func testCorruptFilesAreRefusedWithAReason() throws {
        let m = try Self.fleet()
        let bytes = try Self.exported(Self.randomPolicy(.family, m), m).safetensors()
        func refusal(_ b: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
            let (h, message) = Self.load(b)
            if let h { sg_policy_free(h); XCTFail("accepted", file: file, line: line); return "" }
            return message
        }
        func expect(_ b: [UInt8], _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            let r = refusal(b, file: file, line: line)
            XCTAssertTrue(r.contains(text), "expected '\(text)' in '\(r)'", file: file, line: line)
        }
        XCTAssertNotNil(Self.load(bytes).0.map { sg_policy_free($0) })
        // Truncated anywhere.
        expect([], "too short")
        expect(Array(bytes.prefix(7)), "too short")
        expect(Array(bytes.prefix(100)), "runs past the end")
        for cut in [8, 9, bytes.count / 2, bytes.count - 1] { _ = refusal(Array(bytes.prefix(cut))) }
        // A flipped tensor byte, a wrong sha256.
        var flipped = bytes
        flipped[bytes.count - 200] ^= 0x10
        expect(flipped, "checksum mismatch")
        var badSum = try SafetensorsFile.decode(bytes, source: "x")
        badSum.metadata["sha256"] = String(repeating: "0", count: 64)
        expect(try badSum.encoded(), "checksum mismatch")
        // Header lengths past the end and past the limit.
        var past = bytes
        let n = UInt64(bytes.count - 8 + 1)
        for i in 0..<8 { past[i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        expect(past, "runs past the end")
        var huge = bytes
        huge[7] = 0x7f
        expect(huge, "exceeds")
        // Checks after the checksum (the file resealed).
        expect(try Self.resealed(bytes) { $0.metadata["format_version"] = "2" }, "format_version 2")
        expect(try Self.resealed(bytes) { $0.metadata["format"] = "other" }, "not a SwitchGym policy file")
        let shape = try Self.resealed(bytes) { f in
            let t = f.tensors["actor.0.bias"]!
            f.tensors["actor.0.bias"] = .init(Array(t.floats.dropLast()), shape: [t.shape[0] - 1])
        }
        expect(shape, "tensor actor.0.bias: shape [31], expected [32]")
        let weight = try Self.resealed(bytes) { f in
            let t = f.tensors["actor.1.weight"]!
            f.tensors["actor.1.weight"] = .init(Array(t.floats.prefix(32 * 31)), shape: [32, 31])
        }
        expect(weight, "tensor actor.1.weight: shape [32, 31], expected [32, 32]")
        expect(try Self.resealed(bytes) { f in
            let t = f.tensors["golden.mask"]!
            f.tensors["golden.mask"] = .init(t.bytes.map(Float.init), shape: t.shape)
        }, "tensor golden.mask: dtype F32, expected U8")
        expect(try Self.resealed(bytes) { $0.tensors["actor.2.bias"] = nil }, "missing tensor actor.2.bias")
        expect(try Self.resealed(bytes) { $0.tensors["extra"] = .init([1] as [Float], shape: [1]) }, "unexpected tensor 'extra'")
        let golden = try Self.resealed(bytes) { f in
            var a = f.tensors["golden.action"]!.int32s
            a[2] = (a[2] + 1) % 3
            f.tensors["golden.action"] = .init(a, shape: f.tensors["golden.action"]!.shape)
        }
        expect(golden, "self-test case 0: action [")
        let nan = try Self.resealed(bytes) { f in
            var w = f.tensors["actor.1.weight"]!.floats
            w[0] = .nan
            f.tensors["actor.1.weight"] = .init(w, shape: f.tensors["actor.1.weight"]!.shape)
        }
        expect(nan, "not finite")
        // The document: sizes that contradict the layout, bad JSON, a deep nest.
        func doc(_ edit: @escaping (String) -> String) throws -> [UInt8] {
            try Self.resealed(bytes) { $0.metadata["policy"] = edit($0.metadata["policy"]!) }
        }
        expect(try doc { $0.replacingOccurrences(of: "\"beam_width\":8", with: "\"beam_width\":65") }, "beam_width")
        expect(try doc { $0.replacingOccurrences(of: "\"kind\":\"family\"", with: "\"kind\":\"auto\"") }, "policy.kind")
        expect(try doc { $0 + "x" }, "policy document: trailing characters")
        expect(try doc { String($0.dropLast()) }, "policy document:")
        expect(try doc { _ in String(repeating: "[", count: 100) + String(repeating: "]", count: 100) }, "nested too deeply")
        expect(try doc { $0.replacingOccurrences(of: "\"golden_count\":16", with: "\"golden_count\":16,\"golden_count\":16") }, "duplicate key")
        expect(try doc { $0.replacingOccurrences(of: "\"dimension\":", with: "\"dimension\":1") }, "does not fit observation.dimension")
        // A 16-byte overwrite anywhere is refused (checksum or container), never a crash.
        var g = SeededGenerator(seed: 1)
        for _ in 0..<200 {
            var b = bytes
            let at = Int(g.next() % UInt64(b.count - 16))
            for i in 0..<16 { b[at + i] = UInt8(truncatingIfNeeded: g.next()) }
            if b != bytes { _ = refusal(b) }
        }
    }

    /// A failed self-test names the expected actions from the file, which can be any int32: on
    /// 32 devices of -2147483648 the message is cut at its buffer. (It once wrote past it, found
    /// by the policy-deep fuzzer on a 32-device moves policy; without a sanitizer that write goes
    /// unseen here, so Scripts/check_policy_runtimes.py runs the same file through an ASan build.)
    func testASelfTestMismatchWithHugeGoldenActionsIsRefusedWithinItsBuffer() throws {
        let m = try Self.fleet(big: 16, small: 16)
        for arch in [PolicyArchitecture.family, .moves] {
            let bytes = try Self.exported(Self.randomPolicy(arch, m), m, beamWidth: 1).safetensors()
            let bad = try Self.resealed(bytes) { f in
                let t = f.tensors["golden.action"]!
                f.tensors["golden.action"] = .init([Int32](repeating: Int32.min, count: t.int32s.count), shape: t.shape)
            }
            let (h, message) = Self.load(bad)
            if let h { sg_policy_free(h); XCTFail("\(arch): accepted"); continue }
            XCTAssertTrue(message.hasPrefix("self-test case 0: action ["), "\(arch): \(message)")
            XCTAssertTrue(message.contains("expected [-2147483648,-2147483648,"), "\(arch): \(message)")
            XCTAssertTrue(message.contains("(component 0)"), "\(arch): \(message)")
        }
    }

    func testUnicodeEscapesInTheHeaderAreDecoded() throws {
        let m = try Self.fleet()
        let bytes = try Self.exported(Self.randomPolicy(.mlp, m), m).safetensors()
        // The document with names in escapes and raw UTF-8: the checksum covers the decoded text.
        let edited = try Self.resealed(bytes) { f in
            f.metadata["policy"] = f.metadata["policy"]!.replacingOccurrences(of: "\"tiny\"", with: "\"t\u{e9}\u{1F600}\\u00e9\\ud83d\\ude00\\n\"")
        }
        let (h, message) = Self.load(edited)
        XCTAssertNotNil(h, message)
        sg_policy_free(h)
        let lone = try Self.resealed(bytes) { f in
            f.metadata["policy"] = f.metadata["policy"]!.replacingOccurrences(of: "\"tiny\"", with: "\"\\ud83d\"")
        }
        XCTAssertTrue(Self.load(lone).1.contains("surrogate"), Self.load(lone).1)
    }

    func testAMaskWithNoAllowedValueIsRefused() throws {
        let m = try Self.fleet()
        for arch in [PolicyArchitecture.family, .moves, .mlp] {
            let (hh, message) = Self.load(try Self.exported(Self.randomPolicy(arch, m), m).safetensors())
            guard let h = hh else { XCTFail("\(arch): \(message)"); continue }
            defer { sg_policy_free(h) }
            var g = SeededGenerator(seed: 2)
            let (obs, mask) = PolicyFile.randomCase(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                                    familyLayout: m.observationLayout, using: &g)
            var none = mask
            for j in 0..<3 { none[3 + j] = false }
            guard case .failure(let e) = Self.act(h, obs, none) else { XCTFail("\(arch): accepted"); continue }
            XCTAssertEqual(e.code, Int32(SG_ERR_MASK))
            XCTAssertTrue(e.message.contains("mask component 1 allows no value"), e.message)
            var nan = obs
            nan[3] = .nan
            guard case .failure(let f) = Self.act(h, nan, mask) else { XCTFail("\(arch): NaN accepted"); continue }
            XCTAssertTrue(f.message.contains("observation[3]"), f.message)
        }
    }

    /// `sg_policy_act` allocates nothing (the handle owns its scratch), and distinct handles act
    /// on distinct threads at once with the results of one thread.
    func testActingAllocatesNothingAndHandlesAreIndependent() throws {
        let m = try Self.fleet(big: 5, small: 4)
        for (arch, beam) in [(PolicyArchitecture.family, 8), (.family, 1), (.moves, 1), (.mlp, 1)] {
            let bytes = try Self.exported(Self.randomPolicy(arch, m), m, beamWidth: beam).safetensors()
            var g = SeededGenerator(seed: 8)
            let cases = (0..<200).map { _ in
                PolicyFile.randomCase(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                      familyLayout: m.observationLayout, using: &g)
            }
            let obs = cases.flatMap(\.0), masks = cases.flatMap { $0.1.map { UInt8($0 ? 1 : 0) } }
            let dim = m.observationDimension, width = m.actionLayout.maskWidth, n = m.deviceCount
            @Sendable func run(_ h: OpaquePointer) -> [Int32] {
                var out = [Int32](repeating: 0, count: cases.count * n)
                var err = [CChar](repeating: 0, count: 256)
                obs.withUnsafeBufferPointer { o in
                    masks.withUnsafeBufferPointer { k in
                        out.withUnsafeMutableBufferPointer { a in
                            err.withUnsafeMutableBufferPointer { e in
                                for i in 0..<cases.count {
                                    let rc = sg_policy_act(h, o.baseAddress! + i * dim, k.baseAddress! + i * width,
                                                           a.baseAddress! + i * n, e.baseAddress!, 256)
                                    precondition(rc == 0)
                                }
                            }
                        }
                    }
                }
                return out
            }
            let (h0, message) = Self.load(bytes)
            guard let h = h0 else { XCTFail("\(arch): \(message)"); continue }
            defer { sg_policy_free(h) }
            let reference = run(h)
            if AllocationCounter.isSupported {
                var out = [Int32]()
                let count = AllocationCounter.count { out = run(h) }
                // run() itself allocates its output and error arrays (2); the 200 acts nothing.
                XCTAssertLessThanOrEqual(count ?? 0, 2, "\(arch) beam \(beam): \(count ?? -1) allocations for 200 acts")
                XCTAssertEqual(out, reference)
            }
            let handles = (0..<4).map { _ in Self.load(bytes).0! }
            defer { handles.forEach { sg_policy_free($0) } }
            let results = UnsafeMutablePointer<[Int32]>.allocate(capacity: 4)
            results.initialize(repeating: [], count: 4)
            defer { results.deinitialize(count: 4); results.deallocate() }
            nonisolated(unsafe) let slots = results
            nonisolated(unsafe) let hs = handles
            DispatchQueue.concurrentPerform(iterations: 4) { t in
                var last = [Int32]()
                for _ in 0..<5 { last = run(hs[t]) }
                slots[t] = last
            }
            for t in 0..<4 { XCTAssertEqual(results[t], reference, "\(arch) thread \(t)") }
        }
    }

    // MARK: Agreement with the Swift runtime

    /// On 3000 random valid observations and masks (one-hot held variants, about 30% of the
    /// devices loading, every device allowed its variant), the C runtime's action equals the
    /// Swift runtime's, except where the Swift decision is a near-tie (margin < 1e-4). The
    /// widths cover the C kernels' blocks and remainders (32-output blocks, 8-output blocks,
    /// single outputs, 8-lane dot products with a tail, tanh on a partial block), a family
    /// network without hidden layers (its first layer is the output layer) and a deep one.
    func testTheCRuntimeAgreesWithTheSwiftRuntime() throws {
        let cases: [(PolicyArchitecture, Int, Activation, Int, Int, [Int])] = [
            (.family, 8, .tanh, 3, 2, [32, 32]), (.family, 1, .relu, 3, 2, [32, 32]), (.family, 3, .tanh, 5, 4, [32, 32]),
            (.moves, 1, .tanh, 3, 2, [32, 32]), (.moves, 1, .relu, 9, 6, [32, 32]), (.mlp, 1, .tanh, 3, 2, [32, 32]),
            (.family, 8, .tanh, 5, 4, [45, 75]), (.family, 4, .tanh, 3, 2, []), (.family, 2, .relu, 3, 3, [9, 41, 3]),
            (.moves, 1, .tanh, 9, 6, [70]), (.mlp, 1, .relu, 4, 3, [13, 33, 7]),
        ]
        for (arch, beam, activation, big, small, hidden) in cases {
            let m = try Self.fleet(big: big, small: small)
            let file = try Self.exported(Self.randomPolicy(arch, m, activation: activation, hidden: hidden,
                                                           seed: UInt64(big * 10 + beam + hidden.count)), m,
                                         beamWidth: beam)
            let (hh, message) = Self.load(try file.safetensors())
            guard let h = hh else { XCTFail("\(arch): \(message)"); continue }
            defer { sg_policy_free(h) }
            let bound = try file.bind()
            bound.workspace.measuresMargin = true
            var g = SeededGenerator(seed: 21)
            var same = 0, nearTies = 0
            let n = 3000
            for i in 0..<n {
                let (obs, mask) = PolicyFile.randomCase(observationDimension: m.observationDimension, actionLayout: m.actionLayout,
                                                        familyLayout: m.observationLayout, using: &g)
                let useMask = i % 10 != 0
                let swift = bound.act(observation: obs, mask: useMask ? mask : nil)
                let c = try Self.act(h, obs, useMask ? mask : nil).get()
                if c == swift { same += 1 } else if bound.lastMargin < 1e-4 { nearTies += 1 } else {
                    XCTFail("\(arch) beam \(beam) \(hidden): case \(i): C \(c), Swift \(swift), margin \(bound.lastMargin)")
                }
            }
            XCTAssertGreaterThan(same, n * 99 / 100, "\(arch) beam \(beam) \(hidden)")
            print("C vs Swift, \(arch) beam \(beam) \(activation) \(hidden) \(m.deviceCount) devices: \(same)/\(n) equal, \(nearTies) near-ties")
        }
    }
}
