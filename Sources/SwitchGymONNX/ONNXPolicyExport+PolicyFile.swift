import Foundation
import SwitchGymAgents
import SwitchGymIO

extension ONNXPolicyExport {
    /// The golden cases of a policy file as the ONNX model carries them: `metadata_props["golden"]`,
    /// JSON `{"count", "observation", "mask", "action"}` (row-major, as the safetensors tensors), so
    /// that a consumer of the ONNX form alone can run the load-time self-test.
    struct GoldenCases: Codable {
        var count: Int
        var observation: [Float]
        var mask: [UInt8]
        var action: [Int32]
    }

    /// The ONNX model of an exported policy file (``ONNXPolicySpec/init(policyFile:)``):
    /// the same decisions as the file's safetensors form, its policy document and golden cases
    /// in `metadata_props`.
    public static func model(for file: PolicyFile) throws -> Onnx_ModelProto {
        var m = try model(for: ONNXPolicySpec(policyFile: file))
        let g = file.golden
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var entry = Onnx_StringStringEntryProto()
        entry.key = "golden"
        entry.value = String(decoding: try encoder.encode(GoldenCases(count: g.count, observation: g.observations, mask: g.masks,
                                                                      action: g.actions)), as: UTF8.self)
        m.metadataProps.append(entry)
        return m
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
