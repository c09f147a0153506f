import Foundation
import SwitchGymAgents
import SwitchGymIO

extension ONNXPolicyExport {
    /// The golden cases of a policy file as the ONNX model carries them: `metadata_props["golden"]`,
    /// JSON `{"count", "observation", "mask", "action"}` (row-major, as the safetensors tensors), so
    /// that a consumer of the ONNX form alone can run the load-time self-test.
    struct GoldenCases: Codable, Equatable {
        var count: Int
        var observation: [Float]
        var mask: [UInt8]
        var action: [Int32]
    }

    /// The `metadata_props` key of the golden cases.
    public static let goldenKey = "golden"
    /// The `metadata_props` key of the model's checksum (``checksum(of:)``).
    public static let checksumKey = "sha256"

    /// The ONNX model of an exported policy file (``ONNXPolicySpec/init(policyFile:)``):
    /// the same decisions as the file's safetensors form, its policy document and golden cases
    /// in `metadata_props`, and last the model's checksum, `sha256` (``checksum(of:)``).
    public static func model(for file: PolicyFile) throws -> Onnx_ModelProto {
        var m = try model(for: ONNXPolicySpec(policyFile: file))
        let g = file.golden
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var entry = Onnx_StringStringEntryProto()
        entry.key = goldenKey
        entry.value = String(decoding: try encoder.encode(GoldenCases(count: g.count, observation: g.observations, mask: g.masks,
                                                                      action: g.actions)), as: UTF8.self)
        m.metadataProps.append(entry)
        var sum = Onnx_StringStringEntryProto()
        sum.key = checksumKey
        sum.value = try checksum(of: m)
        m.metadataProps.append(sum)
        return m
    }

    /// The checksum an exported model carries in `metadata_props["sha256"]`: the lowercase hex
    /// SHA-256 of the model serialized **without** its `sha256` entries, that is, of the file's
    /// bytes with the `sha256` entry's field (tag, length, entry) cut out. It covers everything
    /// else: the graph (nodes, initializers, inputs, outputs), the IR version, the opset, the
    /// producer and every other metadata entry (the policy document, the golden cases).
    ///
    /// ``model(for:)-(PolicyFile)`` appends the entry last; `metadata_props` is the last field
    /// written (number 14), so the covered bytes are the file's bytes before that field.
    /// swift-protobuf writes known fields in field-number order, as the Python `onnx` package
    /// does, so a reader may also re-serialize the parsed model without the entry
    /// (docs/policy-format.md, "ONNX").
    public static func checksum(of model: Onnx_ModelProto) throws -> String {
        var m = model
        m.metadataProps.removeAll { $0.key == checksumKey }
        let bytes: [UInt8] = try m.serializedBytes()
        return SHA256.hex(of: bytes)
    }

    /// Parses an exported ONNX policy and verifies its checksum (``checksum(of:)``); `source`
    /// names the file in errors. The golden cases need an ONNX runtime to replay; this library
    /// has none (`Scripts/check_onnx.py` and `switchgym.policy.verify_onnx` run them in ONNX Runtime).
    /// - Throws: ``ExportError`` naming `source` when the bytes are not a model, lack exactly one
    ///   `sha256` entry, or hash to another value.
    public static func verifiedModel(serialized bytes: [UInt8], source: String) throws -> Onnx_ModelProto {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw ExportError("\(source): not an ONNX model (\(error))")
        }
        let sums = model.metadataProps.filter { $0.key == checksumKey }
        guard sums.count == 1 else {
            throw ExportError("\(source): metadata_props has \(sums.count) '\(checksumKey)' entries, expected 1; export the policy again with `switchgym export --format onnx`")
        }
        let actual = try checksum(of: model)
        guard actual == sums[0].value else {
            throw ExportError("\(source): checksum mismatch: the file says sha256 \(sums[0].value), its content hashes to \(actual); the file is corrupted or was altered")
        }
        return model
    }

    /// The `.onnx` bytes of an exported policy file.
    public static func serializedData(for file: PolicyFile) throws -> Data {
        try model(for: file).serializedData()
    }

    /// Writes the policy file as an ONNX model at `path`, atomically (`switchgym export --format onnx`).
    public static func write(_ file: PolicyFile, to path: String) throws {
        try AtomicOutput.write(bytes: [UInt8](try serializedData(for: file)), to: path)
    }
}
