import Foundation
import SwitchGymIO

/// The resolved configuration of a run, saved as `config.json` in the run folder. The file
/// carries its checksum as its first key, `"sha256"` (``ContentChecksum/signJSON(_:)``), which
/// ``read(_:from:)`` verifies.
public enum RunConfigFile {
    /// The file name.
    public static let fileName = "config.json"

    /// Writes `json` (already serialised, an object) atomically to `directory/config.json`,
    /// with its checksum.
    @discardableResult
    public static func write(json: String, to directory: URL) throws -> URL {
        let url = directory.appendingPathComponent(fileName)
        try AtomicOutput.write(text: ContentChecksum.signJSON(json.hasSuffix("\n") ? json : json + "\n"), to: url.path)
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

    /// Reads `directory/config.json` back, checking its checksum (a file without one, written
    /// before checksums existed, is read as it is).
    /// - Throws: `SwitchGymIOError` (`.checksum`) naming the file when it does not match its
    ///   checksum; `DecodingError` when it does not decode.
    public static func read<C: Decodable>(_ type: C.Type, from directory: URL) throws -> C {
        let url = directory.appendingPathComponent(fileName)
        let bytes = try ContentChecksum.verifyJSON(try FileSystem.readAll(url.path, limit: 16 << 20, what: "a run's config.json"), path: url.path).unsigned
        return try JSONDecoder().decode(C.self, from: Data(bytes))
    }
}
