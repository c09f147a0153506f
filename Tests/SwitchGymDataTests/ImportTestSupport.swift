import Foundation
import Testing
@testable import SwitchGymData
import SwitchGymIO

/// Paths of the importer fixtures and of the real traces next to the package.
enum ImportFixtures {
    /// The folder of the import fixtures inside the test bundle.
    static var folder: String {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("test resources have no Fixtures folder")
        }
        return url.path + "/import"
    }

    static func path(_ name: String) -> String { folder + "/" + name }

    /// The package root, from this file's location (Tests/SwitchGymDataTests/...).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let sharedTraces = packageRoot + "/../shared/traces"
    static let llmTrace = sharedTraces + "/azure_llm_2023/AzureLLMInferenceTrace_code.csv"
    static let functionsTrace = sharedTraces + "/azure_functions_2019_sample500/invocations.csv"

    /// Whether the real traces are present; prints why tests are skipped when not.
    static func realTracesPresent(_ file: String) -> Bool {
        if FileManager.default.fileExists(atPath: file) { return true }
        print("skipping real-trace test: \(file) is absent (the shared traces folder is not next to the package)")
        return false
    }
}

/// Runs `body`, expecting a ``TraceImportError``, and returns it.
func expectImportError(_ body: () throws -> Trace, sourceLocation: SourceLocation = #_sourceLocation)
    -> TraceImportError?
{
    do {
        let t = try body()
        Issue.record("expected an import error, got a trace of \(t.count) requests", sourceLocation: sourceLocation)
        return nil
    } catch let e as TraceImportError {
        return e
    } catch {
        Issue.record("expected TraceImportError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Imports `text` as the content of a file named `name` and expects a ``TraceImportError``.
func expectImportError(_ text: String, name: String = "inline.txt", options: TraceImportOptions = .init(),
                       sourceLocation: SourceLocation = #_sourceLocation) -> TraceImportError? {
    expectImportError({ try TraceImporter.importBytes(Array(text.utf8), name: name, options: options) },
                      sourceLocation: sourceLocation)
}
