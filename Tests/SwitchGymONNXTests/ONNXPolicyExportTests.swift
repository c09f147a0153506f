import Foundation
import SwiftProtobuf
import Testing
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN
@testable import SwitchGymAgents
@testable import SwitchGymONNX

/// ``ONNXPolicyExport``: the model's structure (IR version, opset, inputs, outputs, dynamic
/// batch, metadata), its protobuf round trip, and (with `SWITCHGYM_ONNX_DUMP`) reference cases
/// for onnxruntime from this library's runtime.
@Suite struct ONNXPolicyExportTests {
    /// A fleet layout of `classes` (devices per class, interleaved when `interleave`), `jobs` variants.
    static func layout(classes: [Int], jobs: Int, interleave: Bool = false) -> FamilyObservationLayout {
        var workerClass = [Int]()
        if interleave {
            var left = classes
            while left.contains(where: { $0 > 0 }) {
                for k in left.indices where left[k] > 0 { workerClass.append(k); left[k] -= 1 }
            }
        } else {
            for (k, n) in classes.enumerated() { workerClass += [Int](repeating: k, count: n) }
        }
        return FamilyObservationLayout(workers: workerClass.count, jobs: jobs, streams: 2, historyWindows: 2, forecast: true,
                                       workerClass: workerClass, classNames: classes.indices.map { "class\($0)" },
                                       jobNames: (0..<jobs).map { "v\($0)" })
    }

    /// A policy under test: the frozen policy (this library's reference runtime), the spec, the layouts.
    struct Case {
        var name: String
        var frozen: FrozenPolicy
        var spec: ONNXPolicySpec
        var dimension: Int
        var layout: ActionLayout
        var family: FamilyObservationLayout?
        var beam: Int
    }

    static func network(_ sizes: [Int], seed: UInt64, outputScale: Float, activation: Activation = .tanh, zero: Bool = false) -> MLP {
        let net = MLP(sizes: sizes, hiddenActivation: activation)
        var g = SeededGenerator(seed: seed)
        FanInUniform.initialize(net, using: &g)
        let last = net.layers.count - 1
        for i in net.weights(last).indices { net.weights(last)[i] *= outputScale }
        if zero {
            for l in net.layers.indices {
                for i in net.weights(l).indices { net.weights(l)[i] = 0 }
                for i in net.bias(l).indices { net.bias(l)[i] = 0 }
            }
        }
        return net
    }

    static func spec(_ kind: ONNXPolicySpec.Kind, _ net: MLP, dimension: Int, layout: ActionLayout, family: FamilyObservationLayout?,
                     stayBias: Float = 0, beam: Int = 1, levels: Int? = nil) -> ONNXPolicySpec {
        let layers = net.layers.indices.map { l in
            ONNXPolicySpec.Layer(inputSize: net.layers[l].inputSize, outputSize: net.layers[l].outputSize,
                                 weights: Array(net.weights(l)), bias: Array(net.bias(l)))
        }
        let fleet = family.map {
            ONNXPolicySpec.Fleet(workers: $0.workers, jobs: $0.jobs, workerClass: $0.workerClass, classCount: $0.classCount,
                                 sharedOffset: $0.sharedOffset, sharedCount: $0.sharedCount)
        }
        return ONNXPolicySpec(kind: kind, layers: layers, hiddenActivation: net.layers[0].activation == .relu ? .relu : .tanh,
                              components: layout.sizes, observationDimension: dimension, fleet: fleet, stayBias: stayBias,
                              beamWidth: beam, movesLevels: levels, metadata: [("kind", kind.rawValue), ("test", "yes")])
    }

    static func mlpCase(sizes: [Int] = [3, 5, 2], zero: Bool = false, activation: Activation = .tanh) -> Case {
        let layout = ActionLayout(sizes: sizes), dim = 7
        let net = network([dim, 12, 12, layout.maskWidth], seed: 1, outputScale: 3, activation: activation, zero: zero)
        let frozen = FrozenPolicy(algorithm: "ppo", architecture: .mlp, source: "test", signature: nil, network: net)
        return Case(name: "mlp-" + sizes.map(String.init).joined(separator: "x") + (zero ? "-zero" : "") + "-\(activation.rawValue)", frozen: frozen,
                    spec: spec(.mlp, net, dimension: dim, layout: layout, family: nil), dimension: dim, layout: layout, family: nil, beam: 1)
    }

    static func familyCase(beam: Int, classes: [Int] = [3, 2], jobs: Int = 3, stayBias: Float = 0, zero: Bool = false,
                           scale: Float = 30, seed: UInt64 = 2) -> Case {
        let fl = layout(classes: classes, jobs: jobs, interleave: true)
        let enc = FamilyEncoder(layout: fl)
        let net = network([enc.actorInputSize, 16, 16, jobs], seed: seed, outputScale: scale, zero: zero)
        let frozen = FrozenPolicy(algorithm: "ppo", architecture: .family, source: "test", signature: enc.signature, network: net,
                                  stayBias: stayBias)
        let layout = ActionLayout(repeating: jobs, count: fl.workers)
        return Case(name: "family-b\(beam)-d\(fl.workers)-j\(jobs)-s\(seed)" + (zero ? "-zero" : "") + (stayBias != 0 ? "-stay" : ""), frozen: frozen,
                    spec: spec(.family, net, dimension: fl.dimension, layout: layout, family: fl, stayBias: stayBias, beam: beam),
                    dimension: fl.dimension, layout: layout, family: fl, beam: beam)
    }

    static func movesCase(classes: [Int] = [7, 5], jobs: Int = 3, zero: Bool = false, interleave: Bool = true) -> Case {
        let fl = layout(classes: classes, jobs: jobs, interleave: interleave)
        let codec = FleetMoves(layout: fl, levels: FleetMoves.levels(largestClass: classes.max()!))
        let net = network([codec.observationDimension, 16, 16, codec.actionLayout.maskWidth], seed: 3, outputScale: 10, zero: zero)
        let frozen = FrozenPolicy(algorithm: "ppo", architecture: .moves, source: "test", signature: FamilyEncoder(layout: fl).signature,
                                  network: net, movesLevels: codec.levels)
        let layout = ActionLayout(repeating: jobs, count: fl.workers)
        return Case(name: "moves-d\(fl.workers)" + (zero ? "-zero" : "") + (interleave ? "" : "-grouped"), frozen: frozen,
                    spec: spec(.moves, net, dimension: fl.dimension, layout: layout, family: fl, levels: codec.levels),
                    dimension: fl.dimension, layout: layout, family: fl, beam: 1)
    }

    static var cases: [Case] {
        [mlpCase(), mlpCase(zero: true), mlpCase(activation: .relu),
         familyCase(beam: 1), familyCase(beam: 1, stayBias: 0.7), familyCase(beam: 8), familyCase(beam: 8, stayBias: 0.5),
         familyCase(beam: 3, classes: [2, 2], jobs: 4), familyCase(beam: 8, zero: true), familyCase(beam: 1, zero: true),
         familyCase(beam: 8, classes: [2], jobs: 2), familyCase(beam: 5, scale: 1, seed: 7),
         familyCase(beam: 1, classes: [4, 3], jobs: 4, scale: 2, seed: 9), familyCase(beam: 8, classes: [4, 3], jobs: 4, scale: 2, seed: 9),
         mlpCase(sizes: [4, 4, 4]),
         movesCase(), movesCase(zero: true), movesCase(classes: [16, 16], jobs: 4, interleave: false)]
    }

    // MARK: Structure

    @Test(arguments: ["mlp", "family1", "family8", "moves"])
    func theModelHasTheStatedInterface(_ which: String) throws {
        let c = switch which {
        case "mlp": Self.mlpCase()
        case "family1": Self.familyCase(beam: 1)
        case "family8": Self.familyCase(beam: 8)
        default: Self.movesCase()
        }
        let model = try ONNXPolicyExport.model(for: c.spec)
        #expect(model.irVersion == 8 && ONNXPolicyExport.irVersion == 8)
        #expect(model.opsetImport.count == 1 && model.opsetImport[0].domain == "" && model.opsetImport[0].version == 17)
        let g = model.graph
        #expect(g.input.map(\.name) == ["observation", "mask"])
        #expect(g.output.map(\.name) == ["action"])
        func type(_ v: Onnx_ValueInfoProto) -> (Int32, [String]) {
            (v.type.tensorType.elemType, v.type.tensorType.shape.dim.map { d in
                switch d.value { case .dimParam(let p): p; case .dimValue(let n): String(n); case nil: "?" } })
        }
        #expect(type(g.input[0]) == (Int32(Onnx_TensorProto.DataType.float.rawValue), ["batch", String(c.dimension)]))
        #expect(type(g.input[1]) == (Int32(Onnx_TensorProto.DataType.bool.rawValue), ["batch", String(c.layout.maskWidth)]))
        #expect(type(g.output[0]) == (Int32(Onnx_TensorProto.DataType.int64.rawValue), ["batch", String(c.layout.components)]))
        #expect(model.metadataProps.map(\.key) == ["kind", "test"])
        // Every node's inputs are graph inputs, initializers or earlier outputs; outputs are unique.
        var known = Set(g.input.map(\.name) + g.initializer.map(\.name))
        for n in g.node {
            for i in n.input { #expect(known.contains(i), "\(n.opType) reads \(i) before it is made") }
            for o in n.output { #expect(!known.contains(o)); known.insert(o) }
        }
        #expect(known.contains("action"))
        // The bytes decode to the same model.
        let bytes: [UInt8] = try model.serializedBytes()
        let back = try Onnx_ModelProto(serializedBytes: bytes)
        #expect(back == model)
        #expect(try ONNXPolicyExport.serializedData(for: c.spec) == Data(bytes))
        // The weights are there, transposed to [in, out].
        let w0 = try #require(g.initializer.first { $0.name.hasPrefix("actor_0_weight_t") })
        #expect(w0.dims == [Int64(c.spec.layers[0].inputSize), Int64(c.spec.layers[0].outputSize)])
        #expect(w0.rawData.count == 4 * c.spec.layers[0].weights.count)
    }

    @Test func inconsistentSpecsAreRefused() {
        var c = Self.familyCase(beam: 8).spec
        c.beamWidth = 0
        #expect(throws: ONNXPolicyExport.ExportError.self) { try ONNXPolicyExport.model(for: c) }
        var m = Self.mlpCase().spec
        m.components = [4, 4]
        #expect(throws: ONNXPolicyExport.ExportError.self) { try ONNXPolicyExport.model(for: m) }
        var v = Self.movesCase().spec
        v.movesLevels = nil
        #expect(throws: ONNXPolicyExport.ExportError.self) { try ONNXPolicyExport.model(for: v) }
    }

    /// A policy file becomes a spec with its kind, beam width, fleet and network, and the
    /// model's metadata carries the file's policy document.
    @Test func aPolicyFileBecomesASpec() throws {
        let c = Self.familyCase(beam: 8, classes: [4, 3], jobs: 4, scale: 30, seed: 9)
        let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-onnx-\(UUID().uuidString).h5")
        try Data("not a real checkpoint".utf8).write(to: checkpoint)
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let file = try PolicyFile.make(policy: c.frozen, observationDimension: c.dimension, actionLayout: c.layout, familyLayout: c.family,
                                       context: .init(scenario: nil, normalization: nil, checkpointPath: checkpoint.path),
                                       beamWidth: 8, goldenCases: 4, seed: 1)
        let spec = try ONNXPolicySpec(policyFile: file)
        #expect(spec.kind == .family && spec.beamWidth == 8 && spec.components == c.layout.sizes)
        #expect(spec.fleet == c.spec.fleet && spec.layers == c.spec.layers && spec.observationDimension == c.dimension)
        let model = try ONNXPolicyExport.model(for: file)
        let meta = Dictionary(uniqueKeysWithValues: model.metadataProps.map { ($0.key, $0.value) })
        #expect(meta["format"] == "switchgym.policy" && meta["format_version"] == "1" && meta["beam_width"] == "8")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let document = try decoder.decode(PolicyDocument.self, from: Data(try #require(meta["policy"]).utf8))
        #expect(document == file.document)
        #expect(model.graph.node.contains { $0.opType == "TopK" })
    }

    // MARK: Reference cases for onnxruntime

    /// With `SWITCHGYM_ONNX_DUMP=DIR`: writes each case's `NAME.onnx`, random valid observations
    /// (`NAME.obs.f32`), masks (`NAME.mask.u8`) and this library's actions (`NAME.action.i64`) and a
    /// `cases.json` manifest, for `Scripts/onnx_compare_dump.py` to run through onnxruntime.
    @Test func dumpReferenceCases() throws {
        guard let dir = ProcessInfo.processInfo.environment["SWITCHGYM_ONNX_DUMP"] else { return }
        BLAS.setThreadCount(1)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var manifest = [[String: Any]]()
        let count = 2000
        let cases = Self.cases
        #expect(Set(cases.map(\.name)).count == cases.count)
        for c in cases {
            let bound = try c.frozen.bind(observationDimension: c.dimension, actionLayout: c.layout, familyLayout: c.family,
                                          beamWidth: c.beam)
            var g = SeededGenerator(seed: 17)
            var obs = [Float](), masks = [UInt8](), actions = [Int64]()
            for i in 0..<count {
                var (o, m) = PolicyFile.randomCase(observationDimension: c.dimension, actionLayout: c.layout, familyLayout: c.family, using: &g)
                if i % 4 == 0 {   // sparser masks too (each component keeps at least one value)
                    for comp in 0..<c.layout.components {
                        let off = c.layout.offsets[comp], n = c.layout.sizes[comp]
                        let keep = off + Int(g.next() % UInt64(n))
                        for j in 0..<n where off + j != keep && g.nextUnit() < 0.6 { m[off + j] = false }
                        m[keep] = true
                    }
                }
                if c.family != nil && i % 3 == 0 {   // more loading devices
                    for w in 0..<c.family!.workers where g.nextUnit() < 0.3 { o[c.family!.workerOffset(w) + c.family!.jobs] = Float(g.nextUnit() * 2) }
                }
                obs += o
                masks += m.map { $0 ? 1 : 0 }
                actions += bound.act(observation: o, mask: m).map(Int64.init)
            }
            try ONNXPolicyExport.serializedData(for: c.spec).write(to: URL(fileURLWithPath: "\(dir)/\(c.name).onnx"))
            try obs.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: "\(dir)/\(c.name).obs.f32"))
            try Data(masks).write(to: URL(fileURLWithPath: "\(dir)/\(c.name).mask.u8"))
            try actions.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: "\(dir)/\(c.name).action.i64"))
            manifest.append(["name": c.name, "count": count, "dimension": c.dimension, "mask_width": c.layout.maskWidth,
                             "components": c.layout.components])
        }
        try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(dir)/cases.json"))
    }
}
