import Foundation
import SwiftProtobuf
import Testing
import SwitchGymIO
@testable import SwitchGymAgents
@testable import SwitchGymONNX

/// The ONNX form's load-time checks (docs/policy-format.md, "ONNX"): `metadata_props` carries
/// `golden` (the safetensors file's golden cases) and `sha256` (``ONNXPolicyExport/checksum(of:)``),
/// and the checksum covers the graph's weights.
@Suite struct ONNXPolicyChecksumTests {
    /// A family policy (beam 8, 7 devices of 2 classes, 4 variants) frozen into a policy file.
    static func policyFile(goldenCases: Int = 6) throws -> PolicyFile {
        let c = ONNXPolicyExportTests.familyCase(beam: 8, classes: [4, 3], jobs: 4, scale: 30, seed: 9)
        let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-onnx-\(UUID().uuidString).h5")
        try Data("not a real checkpoint".utf8).write(to: checkpoint)
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        return try PolicyFile.make(policy: c.frozen, observationDimension: c.dimension, actionLayout: c.layout, familyLayout: c.family,
                                   context: .init(scenario: nil, normalization: nil, checkpointPath: checkpoint.path),
                                   beamWidth: 8, goldenCases: goldenCases, seed: 1)
    }

    static func metadata(_ model: Onnx_ModelProto) -> [String: String] {
        Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func theMetadataEndsWithGoldenCasesAndTheChecksum() throws {
        let model = try ONNXPolicyExport.model(for: Self.policyFile())
        let keys = model.metadataProps.map(\.key)
        #expect(keys.suffix(2) == ["golden", "sha256"])
        #expect(keys.filter { $0 == "sha256" }.count == 1 && keys.filter { $0 == "golden" }.count == 1)
        let sum = try #require(Self.metadata(model)["sha256"])
        #expect(sum.count == 64 && sum.allSatisfy { "0123456789abcdef".contains($0) })
    }

    /// The stored checksum is the SHA-256 of the file's bytes without the `sha256` entry's field,
    /// which is the file's last field: recomputed from the parsed model, from the bytes before the
    /// field, and by ``ONNXPolicyExport/verifiedModel(serialized:source:)``.
    @Test func theChecksumRecomputesFromTheFile() throws {
        let bytes = [UInt8](try ONNXPolicyExport.serializedData(for: Self.policyFile()))
        let parsed = try Onnx_ModelProto(serializedBytes: bytes)
        let stored = try #require(Self.metadata(parsed)["sha256"])
        #expect(try ONNXPolicyExport.checksum(of: parsed) == stored)
        // The last field: tag 14 (length-delimited, 0x72), length, entry {1: "sha256", 2: 64 hex}.
        let entry: [UInt8] = [0x0a, 6] + Array("sha256".utf8) + [0x12, 64] + Array(stored.utf8)
        let field: [UInt8] = [0x72, UInt8(entry.count)] + entry
        #expect(Array(bytes.suffix(field.count)) == field)
        #expect(SHA256.hex(of: bytes.dropLast(field.count)) == stored)
        #expect(try ONNXPolicyExport.verifiedModel(serialized: bytes, source: "p.onnx") == parsed)
    }

    /// A test that fails if the checksum covered nothing: one flipped bit in a weight's bytes
    /// (still a valid model) changes the recomputed checksum, and the reader names the file.
    @Test func aFlippedWeightByteBreaksTheChecksum() throws {
        let bytes = [UInt8](try ONNXPolicyExport.serializedData(for: Self.policyFile()))
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        let weight = try #require(model.graph.initializer.first { $0.name.hasPrefix("actor_0_weight_t") })
        let raw = [UInt8](weight.rawData)
        let at = try #require(Self.firstIndex(of: raw, in: bytes))
        var tampered = bytes
        tampered[at + raw.count / 2] ^= 0x01
        let parsed = try Onnx_ModelProto(serializedBytes: tampered)
        #expect(parsed.graph.initializer.first { $0.name == weight.name }?.rawData != weight.rawData)
        #expect(Self.metadata(parsed)["sha256"] == Self.metadata(model)["sha256"])
        #expect(try ONNXPolicyExport.checksum(of: parsed) != Self.metadata(model)["sha256"])
        #expect(try ONNXPolicyExport.checksum(of: parsed) != ONNXPolicyExport.checksum(of: model))
        do {
            _ = try ONNXPolicyExport.verifiedModel(serialized: tampered, source: "/tmp/p.onnx")
            Issue.record("a tampered file passed verification")
        } catch let e as ONNXPolicyExport.ExportError {
            #expect(e.message.hasPrefix("/tmp/p.onnx: checksum mismatch"))
        }
        // An edited metadata entry (the golden cases) is covered too.
        var edited = model
        let g = try #require(edited.metadataProps.firstIndex { $0.key == "golden" })
        edited.metadataProps[g].value = edited.metadataProps[g].value.replacingOccurrences(of: "\"count\":6", with: "\"count\":5")
        #expect(edited.metadataProps[g].value != model.metadataProps[g].value)
        #expect(try ONNXPolicyExport.checksum(of: edited) != Self.metadata(model)["sha256"])
    }

    /// The golden cases in `metadata_props` are the safetensors file's, for the same policy file.
    @Test func theGoldenCasesAreTheSafetensorsFiles() throws {
        let file = try Self.policyFile()
        let safetensors = try PolicyFile.decode(try file.safetensors(), source: "p.safetensors")
        let model = try ONNXPolicyExport.model(for: file)
        let json = try #require(Self.metadata(model)["golden"])
        let golden = try JSONDecoder().decode(ONNXPolicyExport.GoldenCases.self, from: Data(json.utf8))
        let want = safetensors.golden
        #expect(golden.count == want.count && golden.count == file.document.goldenCount)
        #expect(golden.observation == want.observations)
        #expect(golden.mask == want.masks)
        #expect(golden.action == want.actions)
        #expect(golden.observation.count == want.count * file.document.observation.dimension)
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
