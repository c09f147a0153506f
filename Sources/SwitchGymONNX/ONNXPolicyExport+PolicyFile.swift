import Foundation
import SwitchGymAgents
import SwitchGymIO

extension ONNXPolicyExport {
    /// The ONNX model of an exported policy file (``ONNXPolicySpec/init(policyFile:)``):
    /// the same decisions as the file's safetensors form, its policy document in `metadata_props`.
    public static func model(for file: PolicyFile) throws -> Onnx_ModelProto {
        try model(for: ONNXPolicySpec(policyFile: file))
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
