import Foundation
import SwiftProtobuf

/// A small helper that appends ONNX nodes and constant initializers to a graph, naming every
/// value uniquely (`hint_N`). Not API: ``ONNXPolicyExport`` builds its graphs with it.
final class ONNXGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var counter = 0
    /// Constants already made, by content, so that repeated ones are stored once.
    private var constants: [String: String] = [:]

    func fresh(_ hint: String) -> String {
        counter += 1
        return "\(hint)_\(counter)"
    }

    // MARK: Attributes

    static func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .int; a.i = Int64(v)
        return a
    }

    static func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .ints; a.ints = v.map(Int64.init)
        return a
    }

    static func float(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .float; a.f = v
        return a
    }

    // MARK: Nodes

    /// Appends one node of `op` and returns its `outputs` output names.
    @discardableResult
    func node(_ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], outputs: Int = 1,
              hint: String? = nil) -> [String] {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        let base = hint ?? op.lowercased()
        n.output = (0..<outputs).map { _ in fresh(base) }
        n.name = "\(op)_\(counter)"
        n.attribute = attributes
        nodes.append(n)
        return n.output
    }

    /// Appends one node of `op` with one output, named `output` when given.
    func op(_ op: String, _ inputs: String..., attributes: [Onnx_AttributeProto] = [], hint: String? = nil,
            output: String? = nil) -> String {
        guard let output else { return node(op, inputs, attributes, hint: hint)[0] }
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = [output]
        counter += 1
        n.name = "\(op)_\(counter)"
        n.attribute = attributes
        nodes.append(n)
        return output
    }

    // MARK: Constants (initializers)

    private func constant(_ key: String, hint: String, make: (String) -> Onnx_TensorProto) -> String {
        if let name = constants[key] { return name }
        let name = fresh(hint)
        initializers.append(make(name))
        constants[key] = name
        return name
    }

    /// A float32 constant of `shape` (row-major `values`), stored as little-endian raw data.
    func floats(_ values: [Float], shape: [Int], hint: String = "const") -> String {
        precondition(values.count == shape.reduce(1, *), "ONNXGraphBuilder.floats: \(values.count) values for shape \(shape)")
        let key = "f\(shape):" + values.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
        return constant(key, hint: hint) { name in
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            t.dims = shape.map(Int64.init)
            var bytes = Data(capacity: values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            t.rawData = bytes
            return t
        }
    }

    /// A float32 scalar-like constant of shape `[1]`.
    func float(_ v: Float) -> String { floats([v], shape: [1]) }

    /// An int64 constant of `shape`.
    func int64s(_ values: [Int], shape: [Int]? = nil, hint: String = "const") -> String {
        let shape = shape ?? [values.count]
        precondition(values.count == shape.reduce(1, *), "ONNXGraphBuilder.int64s: \(values.count) values for shape \(shape)")
        let key = "i\(shape):" + values.map(String.init).joined(separator: ",")
        return constant(key, hint: hint) { name in
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            t.dims = shape.map(Int64.init)
            t.int64Data = values.map(Int64.init)
            return t
        }
    }

    /// A bool constant of `shape`.
    func bools(_ values: [Bool], shape: [Int], hint: String = "const") -> String {
        precondition(values.count == shape.reduce(1, *), "ONNXGraphBuilder.bools: \(values.count) values for shape \(shape)")
        let key = "b\(shape):" + values.map { $0 ? "1" : "0" }.joined()
        return constant(key, hint: hint) { name in
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(Onnx_TensorProto.DataType.bool.rawValue)
            t.dims = shape.map(Int64.init)
            t.int32Data = values.map { $0 ? 1 : 0 }
            return t
        }
    }

    // MARK: Common patterns

    /// `x[..., start ..< end]` along `axis`.
    func slice(_ x: String, axis: Int, _ start: Int, _ end: Int) -> String {
        op("Slice", x, int64s([start]), int64s([end]), int64s([axis]))
    }

    func unsqueeze(_ x: String, axes: [Int]) -> String { op("Unsqueeze", x, int64s(axes)) }
    func squeeze(_ x: String, axes: [Int]) -> String { op("Squeeze", x, int64s(axes)) }
    func reshape(_ x: String, _ shape: [Int]) -> String { op("Reshape", x, int64s(shape)) }
    func cast(_ x: String, to type: Onnx_TensorProto.DataType) -> String {
        op("Cast", x, attributes: [Self.int("to", type.rawValue)])
    }
    func concat(_ xs: [String], axis: Int) -> String {
        xs.count == 1 ? xs[0] : node("Concat", xs, [Self.int("axis", axis)])[0]
    }

    /// Pads the last axis of `x` with `before` and `after` zeros (`rank` axes in all).
    func padLast(_ x: String, rank: Int, before: Int, after: Int) -> String {
        var pads = [Int](repeating: 0, count: 2 * rank)
        pads[rank - 1] = before
        pads[2 * rank - 1] = after
        return op("Pad", x, int64s(pads))
    }

    /// The masked argmax along `axis`: the first index among the maxima of `scores` where
    /// `mask` (bool) is true (masked scores become −∞; ONNX ArgMax picks the first maximum).
    func maskedArgmax(_ scores: String, mask: String, axis: Int, keepdims: Bool) -> String {
        let masked = op("Where", mask, scores, float(-.infinity))
        return op("ArgMax", masked, attributes: [Self.int("axis", axis), Self.int("keepdims", keepdims ? 1 : 0),
                                                 Self.int("select_last_index", 0)])
    }
}
