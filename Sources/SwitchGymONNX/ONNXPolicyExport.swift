import Foundation
import SwiftProtobuf

/// Writes a frozen policy (docs/policy-format.md) as an ONNX model that computes the whole
/// decision: the network, the masking, the argmax, and for fleet policies the decoding
/// (family: the plan and the beam search; moves: the class-level observation, the class mask and
/// the moves applied to devices).
///
/// The model is **IR version 8** with the default-domain **opset 17** (``irVersion``,
/// ``opsetVersion``): onnxruntime since 1.14 and the `onnx` checker accept it.
/// - inputs: `observation`, float32 `[batch, observation_dimension]`; `mask`, bool
///   `[batch, mask_width]` (every component must allow at least one value);
/// - output: `action`, int64 `[batch, components]`;
/// - `batch` is dynamic (`dim_param` "batch");
/// - `metadata_props`: the spec's metadata (for a policy file, the policy document under `policy`).
///
/// The graph does not validate its inputs: callers pass finite observations and masks that allow
/// at least one value of every component (as the policy format requires of readers).
///
/// Masked argmax picks the first index among the maxima (masked scores are −∞, ONNX `ArgMax`
/// with `select_last_index = 0`). A family policy is unrolled over the exported fleet's devices,
/// in order; with `beam_width` `B > 1` its beams are a `[batch, B, …]` tensor, the candidates of a
/// step `[batch, B × J]` in the order `b × J + j`, and `TopK` (largest, sorted: the lower index
/// first on ties) picks the next beams. The search starts from one live beam (the others score
/// −∞), so a step with fewer than `B` finite candidates carries −∞ beams that are never chosen,
/// as the reference runtime's early stop.
public enum ONNXPolicyExport {
    /// The ONNX IR version written.
    public static let irVersion: Int64 = 8
    /// The default-domain opset imported.
    public static let opsetVersion: Int64 = 17
    /// Input and output names.
    public static let observationName = "observation", maskName = "mask", actionName = "action"
    /// The dynamic batch dimension's name.
    public static let batchDimension = "batch"

    /// Why a spec cannot be exported.
    public struct ExportError: Error, CustomStringConvertible, Sendable, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The ONNX model of `spec`.
    /// - Throws: ``ExportError`` when the spec contradicts itself.
    public static func model(for spec: ONNXPolicySpec) throws -> Onnx_ModelProto {
        try validate(spec)
        let g = ONNXGraphBuilder()
        let b = PolicyGraph(spec: spec, g: g)
        switch spec.kind {
        case .mlp: b.mlpPolicy()
        case .family: spec.beamWidth == 1 ? b.familyGreedy() : b.familyBeam()
        case .moves: b.moves()
        }

        var graph = Onnx_GraphProto()
        graph.name = "switchgym_\(spec.kind.rawValue)_policy"
        graph.node = g.nodes
        graph.initializer = g.initializers
        graph.input = [
            valueInfo(observationName, .float, [nil, spec.observationDimension]),
            valueInfo(maskName, .bool, [nil, spec.maskWidth]),
        ]
        graph.output = [valueInfo(actionName, .int64, [nil, spec.components.count])]
        graph.docString = "SwitchGym frozen \(spec.kind.rawValue) policy (docs/policy-format.md): observation and mask in, action out."

        var model = Onnx_ModelProto()
        model.irVersion = irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = opsetVersion
        model.opsetImport = [opset]
        model.producerName = "switchgym"
        model.producerVersion = spec.metadata.first { $0.key == "switchgym_version" }?.value ?? ""
        model.domain = "ai.switchgym"
        model.modelVersion = 1
        model.docString = graph.docString
        model.graph = graph
        model.metadataProps = spec.metadata.map { kv in
            var e = Onnx_StringStringEntryProto()
            e.key = kv.key
            e.value = kv.value
            return e
        }
        return model
    }

    /// The serialized model of `spec` (the bytes of an `.onnx` file).
    public static func serializedData(for spec: ONNXPolicySpec) throws -> Data {
        try model(for: spec).serializedData()
    }

    /// A tensor value description; `nil` dimensions are the dynamic batch.
    static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Int?]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = Int32(type.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = batchDimension }
            return dim
        }
        t.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = t
        v.type = type
        return v
    }

    static func validate(_ s: ONNXPolicySpec) throws {
        func fail(_ m: String) -> ExportError { ExportError("cannot export the policy to ONNX: \(m)") }
        guard !s.layers.isEmpty else { throw fail("the network has no layers") }
        for (l, layer) in s.layers.enumerated() {
            guard layer.inputSize >= 1, layer.outputSize >= 1, layer.weights.count == layer.inputSize * layer.outputSize,
                  layer.bias.count == layer.outputSize else {
                throw fail("layer \(l) has \(layer.weights.count) weights and \(layer.bias.count) biases for \(layer.outputSize) × \(layer.inputSize)")
            }
            guard layer.weights.allSatisfy(\.isFinite), layer.bias.allSatisfy(\.isFinite) else {
                throw fail("layer \(l) has non-finite parameters")
            }
            if l > 0, s.layers[l - 1].outputSize != layer.inputSize {
                throw fail("layer \(l) takes \(layer.inputSize) inputs; layer \(l - 1) gives \(s.layers[l - 1].outputSize)")
            }
        }
        guard !s.components.isEmpty, s.components.allSatisfy({ $0 >= 1 }), s.observationDimension >= 1 else {
            throw fail("action components \(s.components), observation dimension \(s.observationDimension)")
        }
        guard s.stayBias.isFinite else { throw fail("stay bias \(s.stayBias)") }
        let inputs = s.layers[0].inputSize, outputs = s.layers.last!.outputSize
        switch s.kind {
        case .mlp:
            guard inputs == s.observationDimension, outputs == s.maskWidth else {
                throw fail("an mlp network \(inputs) → \(outputs) for observations of \(s.observationDimension) and masks of \(s.maskWidth)")
            }
        case .family, .moves:
            guard let f = s.fleet else { throw fail("a \(s.kind.rawValue) policy needs the fleet layout") }
            let D = f.workers, J = f.jobs, K = f.classCount, G = f.sharedCount
            guard D >= 1, J >= 1, K >= 1, f.workerClass.count == D, f.workerClass.allSatisfy({ (0..<K).contains($0) }),
                  s.components == [Int](repeating: J, count: D), D * (J + 1) <= s.observationDimension,
                  f.sharedOffset >= 0, G >= 0, f.sharedOffset + G <= s.observationDimension else {
                throw fail("the fleet layout (\(D) devices × \(J) variants, \(K) classes, shared block \(f.sharedOffset)+\(G)) does not fit observations of \(s.observationDimension) and action components \(s.components)")
            }
            if s.kind == .family {
                guard inputs == J + 1 + K + K * J + K + G, outputs == J else {
                    throw fail("a family network \(inputs) → \(outputs); the fleet's rows need \(J + 1 + K + K * J + K + G) → \(J)")
                }
                guard (1...64).contains(s.beamWidth) else { throw fail("beam width \(s.beamWidth): expected 1...64") }
            } else {
                guard let L = s.movesLevels, (1...30).contains(L) else { throw fail("a moves policy needs moves levels in 1...30") }
                guard inputs == K * (J + 1) + G, outputs == K * (1 + J * J * L) else {
                    throw fail("a moves network \(inputs) → \(outputs); the fleet's classes need \(K * (J + 1) + G) → \(K * (1 + J * J * L))")
                }
                guard s.stayBias == 0 else { throw fail("a moves policy has no stay bias") }
            }
        }
    }
}

/// The graph of one policy (see ``ONNXPolicyExport``).
struct PolicyGraph {
    let spec: ONNXPolicySpec
    let g: ONNXGraphBuilder
    let obs = ONNXPolicyExport.observationName
    let mask = ONNXPolicyExport.maskName
    let action = ONNXPolicyExport.actionName

    /// The network on `x` (`[..., inputs]` → `[..., outputs]`): MatMul, Add, and the hidden
    /// activation on every layer but the last.
    func network(_ x: String) -> String {
        var h = x
        for (l, layer) in spec.layers.enumerated() {
            // W is [out × in] row-major; MatMul wants [in × out].
            var wt = [Float](repeating: 0, count: layer.weights.count)
            for o in 0..<layer.outputSize {
                for i in 0..<layer.inputSize { wt[i * layer.outputSize + o] = layer.weights[o * layer.inputSize + i] }
            }
            let w = g.floats(wt, shape: [layer.inputSize, layer.outputSize], hint: "actor_\(l)_weight_t")
            let b = g.floats(layer.bias, shape: [layer.outputSize], hint: "actor_\(l)_bias")
            h = g.op("Add", g.op("MatMul", h, w), b, hint: "layer\(l)")
            if l < spec.layers.count - 1 {
                h = g.op(spec.hiddenActivation == .tanh ? "Tanh" : "Relu", h)
            }
        }
        return h
    }

    /// Writes `x` (int64 `[batch, components]`) to the output.
    func output(_ x: String) {
        _ = g.op("Identity", x, output: action)
    }

    // MARK: mlp

    func mlpPolicy() {
        let z = network(obs)
        let sizes = spec.components
        if Set(sizes).count == 1 {
            // One reshape: [batch, C, n].
            let shape = [0, sizes.count, sizes[0]]
            let choice = g.maskedArgmax(g.reshape(z, shape), mask: g.reshape(mask, shape), axis: 2, keepdims: false)
            output(choice)
            return
        }
        var parts = [String](), o = 0
        for n in sizes {
            parts.append(g.maskedArgmax(g.slice(z, axis: 1, o, o + n), mask: g.slice(mask, axis: 1, o, o + n), axis: 1, keepdims: true))
            o += n
        }
        output(g.concat(parts, axis: 1))
    }

    // MARK: Fleet helpers

    var fleet: ONNXPolicySpec.Fleet { spec.fleet! }

    /// Devices of each class, in index order, and `1 / n_k` as Float (0 for an empty class).
    var classDevices: [[Int]] {
        var m = [[Int]](repeating: [], count: fleet.classCount)
        for (w, k) in fleet.workerClass.enumerated() { m[k].append(w) }
        return m
    }

    var inverseClassSize: [Float] { classDevices.map { $0.isEmpty ? 0 : 1 / Float($0.count) } }

    /// The device blocks `[batch, D, J + 1]`, the held variant `[batch, D]` (int64: the first
    /// entry > 0.5, else 0), its one-hot `[batch, D, J]` (float) and the pending loads `[batch, D, 1]`.
    func devices() -> (blocks: String, held: String, heldOneHot: String, pending: String) {
        let D = fleet.workers, J = fleet.jobs
        let blocks = g.reshape(g.slice(obs, axis: 1, 0, D * (J + 1)), [0, D, J + 1])
        let onehots = g.slice(blocks, axis: 2, 0, J)
        let above = g.cast(g.op("Greater", onehots, g.float(0.5)), to: .float)
        let held = g.op("ArgMax", above, attributes: [ONNXGraphBuilder.int("axis", 2), ONNXGraphBuilder.int("keepdims", 0),
                                                      ONNXGraphBuilder.int("select_last_index", 0)], hint: "held")
        let heldOneHot = oneHot(held, J)
        let pending = g.slice(blocks, axis: 2, J, J + 1)
        return (blocks, held, heldOneHot, pending)
    }

    /// The float one-hot (last axis of `n`) of int64 indices `x`.
    func oneHot(_ x: String, _ n: Int) -> String {
        g.cast(g.op("Equal", g.unsqueeze(x, axes: [-1]), g.int64s(Array(0..<n))), to: .float)
    }

    /// Per class `k` and entry `x`, `Σ_{w of class k} 1/n_k × indicator[w, x]` as `[batch, K × X]` (class-major),
    /// for a 0/1 `indicator` `[batch, D, X]` (float), **bit for bit** as the reference adds `1/n_k` once per
    /// device in index order: the count of devices (a MatMul of 0/1 values, exact) indexes a table of
    /// the `c`-fold sums `((1/n_k + 1/n_k) + …)` made here with the same Float additions.
    func classFractions(_ indicator: String, width X: Int) -> String {
        let D = fleet.workers, K = fleet.classCount, inv = inverseClassSize
        var membership = [Float](repeating: 0, count: K * D)
        for w in 0..<D { membership[fleet.workerClass[w] * D + w] = 1 }
        let counts = g.op("MatMul", g.floats(membership, shape: [K, D], hint: "class_members"), indicator)   // [batch, K, X]
        var table = [Float](), offsets = [Int]()
        for k in 0..<K {
            offsets.append(table.count)
            var sum: Float = 0
            table.append(sum)
            for _ in 0..<D { sum += inv[k]; table.append(sum) }
        }
        let index = g.op("Add", g.cast(counts, to: .int64), g.int64s(offsets, shape: [1, K, 1]))
        let fractions = g.op("Gather", g.floats(table, shape: [table.count], hint: "class_fraction_table"), index,
                             attributes: [ONNXGraphBuilder.int("axis", 0)])
        return g.reshape(fractions, [0, K * X])
    }

    /// Device `w`'s slice of a `[batch, D, n]` tensor, as `[batch, n]`.
    func device(_ x: String, _ w: Int) -> String {
        g.squeeze(g.slice(x, axis: 1, w, w + 1), axes: [1])
    }

    // MARK: family

    /// The family policy's shared pieces: per device its block, held variant (`[batch, 1]`)
    /// and one-hot (`[batch, J]`), its mask row; the initial plan `[batch, P]` and the shared block.
    struct FamilyInputs {
        var block: [String], held: [String], heldOneHot: [String], mask: [String]
        var plan: String, shared: String
    }

    func familyInputs() -> FamilyInputs {
        let D = fleet.workers, J = fleet.jobs, K = fleet.classCount
        let dev = devices()
        var out = FamilyInputs(block: [], held: [], heldOneHot: [], mask: [], plan: "", shared: "")
        for w in 0..<D {
            out.block.append(device(dev.blocks, w))
            out.held.append(g.slice(dev.held, axis: 1, w, w + 1))
            out.heldOneHot.append(device(dev.heldOneHot, w))
            out.mask.append(g.slice(mask, axis: 1, w * J, (w + 1) * J))
        }
        // plan[k × J + held(w)] += 1/n_k for every device, then K zeros.
        out.plan = g.padLast(classFractions(dev.heldOneHot, width: J), rank: 2, before: 0, after: K)
        out.shared = g.slice(obs, axis: 1, fleet.sharedOffset, fleet.sharedOffset + fleet.sharedCount)
        return out
    }

    /// Device `w`'s class one-hot `[1, ..., 1, K]` (rank `rank`).
    func classOneHot(_ w: Int, rank: Int) -> String {
        let K = fleet.classCount
        var v = [Float](repeating: 0, count: K)
        v[fleet.workerClass[w]] = 1
        return g.floats(v, shape: [Int](repeating: 1, count: rank - 1) + [K], hint: "class_onehot")
    }

    /// The plan after device `w` (of class `k`, holding `heldOneHot`) picks `choiceOneHot`:
    /// `plan[kJ + held] −= 1/n_k`, `plan[kJ + j] += 1/n_k`, `plan[KJ + k] += 1/n_k`, in that order.
    func advance(_ plan: String, w: Int, heldOneHot: String, choiceOneHot: String, rank: Int) -> String {
        let J = fleet.jobs, K = fleet.classCount, P = K * J + K, k = fleet.workerClass[w]
        let x = g.float(inverseClassSize[k])
        let out = g.padLast(g.op("Mul", heldOneHot, x), rank: rank, before: k * J, after: P - k * J - J)
        let into = g.padLast(g.op("Mul", choiceOneHot, x), rank: rank, before: k * J, after: P - k * J - J)
        var chosen = [Float](repeating: 0, count: P)
        chosen[K * J + k] = inverseClassSize[k]
        let c = g.floats(chosen, shape: [P], hint: "chosen_fraction")
        return g.op("Add", g.op("Add", g.op("Sub", plan, out), into), c, hint: "plan")
    }

    /// Greedy decoding (beam width 1): device after device, the masked argmax of its scores.
    func familyGreedy() {
        let inputs = familyInputs()
        let J = fleet.jobs, D = fleet.workers
        var plan = inputs.plan
        var choices = [String]()
        for w in 0..<D {
            // Expand the class one-hot [1, K] to [batch, K] (the shape of the held index [batch, 1] broadcast).
            let cls = g.op("Expand", classOneHot(w, rank: 2), g.op("Shape", inputs.held[w]))
            let row = g.concat([inputs.block[w], cls, plan, inputs.shared], axis: 1)
            var z = network(row)
            if spec.stayBias != 0 { z = g.op("Add", z, g.op("Mul", inputs.heldOneHot[w], g.float(spec.stayBias))) }
            let choice = g.maskedArgmax(z, mask: inputs.mask[w], axis: 1, keepdims: true)
            choices.append(choice)
            if w < D - 1 {
                plan = advance(plan, w: w, heldOneHot: inputs.heldOneHot[w], choiceOneHot: g.squeeze(oneHot(choice, J), axes: [1]), rank: 2)
            }
        }
        output(g.concat(choices, axis: 1))
    }

    /// Beam search (beam width B > 1), docs/policy-format.md.
    func familyBeam() {
        let inputs = familyInputs()
        let J = fleet.jobs, D = fleet.workers, K = fleet.classCount, P = K * J + K, B = spec.beamWidth
        // Beams [batch, B, P]: all start from the initial plan; only beam 0 is live (score 0).
        var plans = g.op("Expand", g.unsqueeze(inputs.plan, axes: [1]), g.int64s([1, B, 1]), hint: "beam_plans")
        var scores = g.floats([0] + [Float](repeating: -.infinity, count: B - 1), shape: [1, B], hint: "beam_scores0")
        var choices: String?
        let shared = g.op("Expand", g.unsqueeze(inputs.shared, axes: [1]), g.int64s([1, B, 1]))
        let negInf = g.float(-.infinity)
        let zero = g.float(0)
        for w in 0..<D {
            // Rows [batch, B, R]: [device block | class one-hot | plan | shared block].
            let block = g.op("Expand", g.unsqueeze(inputs.block[w], axes: [1]), g.int64s([1, B, 1]))
            let cls = g.op("Expand", classOneHot(w, rank: 3), g.op("Shape", g.slice(plans, axis: 2, 0, 1)))
            let row = g.concat([block, cls, plans, shared], axis: 2)
            var z = network(row)   // [batch, B, J]
            if spec.stayBias != 0 {
                z = g.op("Add", z, g.unsqueeze(g.op("Mul", inputs.heldOneHot[w], g.float(spec.stayBias)), axes: [1]))
            }
            // log_softmax over the allowed values: z − (max + log Σ_allowed exp(z − max)).
            let m = g.unsqueeze(inputs.mask[w], axes: [1])   // [batch, 1, J]
            let zm = g.op("Where", m, z, negInf)
            let mx = g.op("ReduceMax", zm, attributes: [ONNXGraphBuilder.ints("axes", [2]), ONNXGraphBuilder.int("keepdims", 1)])
            let e = g.op("Where", m, g.op("Exp", g.op("Sub", z, mx)), zero)
            let s = g.op("ReduceSum", e, g.int64s([2]), attributes: [ONNXGraphBuilder.int("keepdims", 1)])
            let lp = g.op("Sub", z, g.op("Add", mx, g.op("Log", s)), hint: "log_prob")
            // Candidates b × J + j: the beam's score + lp if allowed, else −∞.
            let cand = g.op("Where", m, g.op("Add", g.unsqueeze(scores, axes: [2]), lp), negInf)
            let flat = g.reshape(cand, [0, B * J])
            let top = g.node("TopK", [flat, g.int64s([B])],
                             [ONNXGraphBuilder.int("axis", 1), ONNXGraphBuilder.int("largest", 1), ONNXGraphBuilder.int("sorted", 1)],
                             outputs: 2, hint: "topk")
            scores = top[0]
            let parent = g.op("Div", top[1], g.int64s([J]), hint: "parent")
            let j = g.op("Mod", top[1], g.int64s([J]), hint: "job")
            let jcol = g.unsqueeze(j, axes: [2])   // [batch, B, 1]
            if let prev = choices {
                let index = g.op("Expand", g.unsqueeze(parent, axes: [2]), g.int64s([1, 1, w]))
                let carried = g.op("GatherElements", prev, index, attributes: [ONNXGraphBuilder.int("axis", 1)])
                choices = g.concat([carried, jcol], axis: 2)
            } else {
                choices = jcol
            }
            if w < D - 1 {
                let index = g.op("Expand", g.unsqueeze(parent, axes: [2]), g.int64s([1, 1, P]))
                let carried = g.op("GatherElements", plans, index, attributes: [ONNXGraphBuilder.int("axis", 1)])
                plans = advance(carried, w: w, heldOneHot: g.unsqueeze(inputs.heldOneHot[w], axes: [1]),
                                choiceOneHot: oneHot(j, J), rank: 3)
            }
        }
        // The first (best) beam's choices.
        output(g.squeeze(g.slice(choices!, axis: 1, 0, 1), axes: [1]))
    }

    // MARK: moves

    func moves() {
        let D = fleet.workers, V = fleet.jobs, K = fleet.classCount, G = fleet.sharedCount, L = spec.movesLevels!
        let O = 1 + V * V * L
        let dev = devices()
        let members = classDevices
        let idle = g.op("LessOrEqual", dev.pending, g.float(0), hint: "idle")   // [batch, D, 1]
        let busy = g.cast(g.op("Not", idle), to: .float)
        // Class-level observation: per class and variant the fraction holding it (K × V), per
        // class the fraction not idle (K), devices in index order (the reference's additions).
        let classObs = g.concat([classFractions(dev.heldOneHot, width: V), classFractions(busy, width: 1)], axis: 1)
        let shared = g.slice(obs, axis: 1, fleet.sharedOffset, fleet.sharedOffset + G)
        let z = network(g.concat([classObs, shared], axis: 1))   // [batch, K × O]
        // Class mask: movable[k, from × V + to] = idle devices of class k on `from` that may hold `to`.
        let maskF = g.cast(g.reshape(mask, [0, D, V]), to: .float)   // [batch, D, V]
        let idleF = g.cast(idle, to: .float)
        let fromIdle = g.unsqueeze(g.op("Mul", dev.heldOneHot, idleF), axes: [3])   // [batch, D, V, 1]
        let outer = g.reshape(g.op("Mul", fromIdle, g.unsqueeze(maskF, axes: [2])), [0, D, V * V])
        var membership = [Float](repeating: 0, count: K * D)
        for w in 0..<D { membership[fleet.workerClass[w] * D + w] = 1 }
        let movable = g.op("MatMul", g.floats(membership, shape: [K, D], hint: "class_members"), outer)   // [batch, K, V²]
        var pairOf = [Int](repeating: 0, count: O), threshold = [Float](repeating: 0, count: O)
        var fromOf = [Int](repeating: 0, count: O), toOf = [Int](repeating: 0, count: O), countOf = [Int](repeating: 0, count: O)
        for option in 1..<O {
            let x = option - 1, level = x % L, pair = x / L
            let (from, to) = (pair / V, pair % V)
            pairOf[option] = pair
            threshold[option] = from == to ? .infinity : Float(1 << level)
            (fromOf[option], toOf[option], countOf[option]) = (from, to, 1 << level)
        }
        let optionCounts = g.op("Gather", movable, g.int64s(pairOf), attributes: [ONNXGraphBuilder.int("axis", 2)])
        let classMask = g.op("GreaterOrEqual", optionCounts, g.floats(threshold, shape: [O], hint: "move_threshold"))
        let choice = g.maskedArgmax(g.reshape(z, [0, K, O]), mask: classMask, axis: 2, keepdims: false)   // [batch, K]
        // Apply: per class, the first `count` idle devices (index order) holding `from` that may hold `to`.
        let fromTable = g.int64s(fromOf), toTable = g.int64s(toOf), countTable = g.int64s(countOf)
        let idleRow = g.squeeze(idle, axes: [2])   // [batch, D] bool
        var parts = [String](), order = [Int]()
        for k in 0..<K where !members[k].isEmpty {
            let n = members[k].count, idx = g.int64s(members[k])
            let option = g.slice(choice, axis: 1, k, k + 1)   // [batch, 1]
            let from = g.op("Gather", fromTable, option), to = g.op("Gather", toTable, option)
            let count = g.op("Gather", countTable, option)   // 0 for no move
            let axis1 = [ONNXGraphBuilder.int("axis", 1)]
            let held = g.op("Gather", dev.held, idx, attributes: axis1)   // [batch, n]
            let idleK = g.op("Gather", idleRow, idx, attributes: axis1)
            let maskK = g.op("Gather", maskF, idx, attributes: axis1)   // [batch, n, V]
            let toIndex = g.op("Expand", g.unsqueeze(to, axes: [2]), g.int64s([1, n, 1]))
            let allowed = g.op("Greater", g.squeeze(g.op("GatherElements", maskK, toIndex, attributes: [ONNXGraphBuilder.int("axis", 2)]), axes: [2]),
                               g.float(0.5))
            let eligible = g.op("And", g.op("And", g.op("Equal", held, from), idleK), allowed)
            let rank = g.op("CumSum", g.cast(eligible, to: .int64), g.int64s([1], shape: []))
            let take = g.op("And", eligible, g.op("LessOrEqual", rank, count))
            parts.append(g.op("Where", take, to, held, hint: "class\(k)_action"))
            order += members[k]
        }
        var position = [Int](repeating: 0, count: D)
        for (i, w) in order.enumerated() { position[w] = i }
        let grouped = g.concat(parts, axis: 1)
        output(position == Array(0..<D) ? grouped : g.op("Gather", grouped, g.int64s(position), attributes: [ONNXGraphBuilder.int("axis", 1)]))
    }
}
