import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO
import SwitchGymCore

/// Inputs kept from fuzzing (`Scripts/fuzz.sh import|hdf5`): crashes that were fixed and
/// corpus inputs that reached new coverage. Every file must give a thrown error or a
/// valid trace, never a crash.
@Suite struct FuzzRegressionTests {
    static func files(_ sub: String) -> [String] {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("test resources have no Fixtures folder")
        }
        let dir = url.path + "/fuzz/" + sub
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir + "/" + $0 }
    }

    @Test func importFixturesPresent() {
        #expect(!Self.files("import").isEmpty)
        #expect(!Self.files("hdf5").isEmpty)
    }

    @Test(arguments: files("import"))
    func importNeverCrashes(path: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        let formats: [TraceFormat?] = [nil] + TraceFormat.allCases
        for format in formats {
            for unit in TimeUnit.allCases {
                for sort in [false, true] {
                    let options = TraceImportOptions(format: format, seed: 1, timeUnit: unit, sort: sort,
                                                     createdAt: "", maxRequests: 1 << 20)
                    do {
                        let trace = try TraceImporter.importBytes(bytes, name: "fuzz.csv", options: options)
                        try trace.validate()
                    } catch is TraceImportError {
                    } catch is SwitchGymIOError {
                    }
                }
            }
        }
    }

    /// Mutations of each new format's fixture (every truncation, and seeded random byte
    /// edits, insertions and deletions), imported with the format given and detected:
    /// each gives a thrown import error or a valid trace, never a trap.
    @Test(arguments: [
        ("mooncake_small.jsonl", TraceFormat.mooncake), ("burstgpt_small.csv", .burstGPT),
        ("functions2021_small.csv", .azureFunctions2021), ("servegen_small.csv", .serveGen),
        ("llm2024_small.csv", .azureLLM),
    ])
    func mutatedFixturesNeverTrap(name: String, format: TraceFormat) throws {
        let bytes = try #require(FileManager.default.contents(atPath: ImportFixtures.path(name))).map { $0 }
        var inputs = (0...bytes.count).map { Array(bytes[0..<$0]) }
        var g = SeededGenerator(seed: 0xF022)
        let alphabet = Array("0123456789,.-+eE{}[]\":x \n\r\t".utf8) + [0x00, 0xFF, 0xC3]
        for _ in 0..<400 {
            var m = bytes
            for _ in 0..<(1 + Int(g.next() % 4)) {
                let at = Int(g.next() % UInt64(m.count + 1))
                let byte = g.next() % 2 == 0 ? alphabet[Int(g.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: g.next())
                switch g.next() % 3 {
                case 0 where at < m.count: m[at] = byte
                case 1: m.insert(byte, at: at)
                default: if at < m.count { m.remove(at: at) }
                }
            }
            inputs.append(m)
        }
        for input in inputs {
            for f in [nil, format] {
                let options = TraceImportOptions(format: f, seed: 1, sort: input.count % 2 == 0, createdAt: "",
                                                 maxRequests: 1 << 16)
                do {
                    let trace = try TraceImporter.importBytes(input, name: "fuzz", options: options)
                    try trace.validate()
                } catch is TraceImportError {
                } catch is SwitchGymIOError {
                }
            }
        }
    }

    @Test(arguments: files("hdf5"))
    func hdf5NeverCrashes(path: String) throws {
        do {
            let trace = try TraceDataset.read(path)
            try trace.validate()
        } catch is SwitchGymIOError {
        } catch is TraceError {
        }
    }
}
