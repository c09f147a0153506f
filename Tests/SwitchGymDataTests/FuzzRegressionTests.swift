import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

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
