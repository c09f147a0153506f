import Foundation
import SwitchGymIO

/// The resolved configuration of a run, saved as `config.json` in the run folder.
public enum RunConfigFile {
    /// The file name.
    public static let fileName = "config.json"

    /// Writes `json` (already serialised) atomically to `directory/config.json`.
    @discardableResult
    public static func write(json: String, to directory: URL) throws -> URL {
        let url = directory.appendingPathComponent(fileName)
        try AtomicOutput.write(text: json.hasSuffix("\n") ? json : json + "\n", to: url.path)
        return url
    }

    /// Encodes `config` as pretty-printed JSON with sorted keys and writes it atomically.
    @discardableResult
    public static func write<C: Encodable>(_ config: C, to directory: URL) throws -> URL {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(config)
        return try write(json: String(decoding: data, as: UTF8.self), to: directory)
    }

    /// Reads `directory/config.json` back.
    public static func read<C: Decodable>(_ type: C.Type, from directory: URL) throws -> C {
        let url = directory.appendingPathComponent(fileName)
        let bytes = try FileSystem.readAll(url.path)
        return try JSONDecoder().decode(C.self, from: Data(bytes))
    }
}
