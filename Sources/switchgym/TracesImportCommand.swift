import ArgumentParser
import Foundation
import SwitchGymData
import SwitchGymIO

extension TraceFormat: ExpressibleByArgument {}
extension TimeUnit: ExpressibleByArgument {}

/// `switchgym traces import FILE -o OUT.h5`.
struct TracesImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a query trace (CSV, plain, .zst or .gz) into a canonical HDF5 dataset.",
        discussion: """
            Formats (detected from the header when --format is not given):
              azure-llm        TIMESTAMP,ContextTokens,GeneratedTokens - one row per request
              azure-functions  HashOwner,HashApp,HashFunction,Trigger,<minute>... - per-minute counts,
                               expanded into arrivals by a seeded process (datasets/FORMAT.md)
              timestamps       a header with `timestamp` (seconds by default, see --time-unit, or
                               ISO 8601) and optional `stream`, `tokens_in`, `tokens_out` columns
            Compression is detected from the file's magic bytes, not its name.
            """)

    @Argument(help: "The trace file.")
    var file: String

    @Option(help: "azure-llm, azure-functions or timestamps (default: detected).")
    var format: TraceFormat?

    @Option(name: [.short, .long], help: "The dataset to write (written atomically).")
    var output: String

    @Option(help: "Seed of the Azure Functions per-minute expansion.")
    var seed: UInt64 = 0

    @Option(help: "Unit of numeric timestamps in the timestamps format: s, ms or us.")
    var timeUnit: TimeUnit = .seconds

    @Flag(help: "Sort rows by time instead of rejecting out-of-order rows.")
    var sort = false

    @Option(help: "Value of the created_at attribute (default: now).")
    var createdAt: String?

    @OptionGroup var out: DatasetOutputOptions

    func run() throws {
        try reportingErrors(inputs: [file]) {
            guard output != file else { throw CLIError.usage("the output \(output) is the input file") }
            let t0 = monotonicSeconds()
            let options = TraceImportOptions(format: format, seed: seed, timeUnit: timeUnit, sort: sort,
                                             createdAt: createdAt ?? nowISO8601())
            let trace = try TraceImporter.importFile(file, options: options)
            let t1 = monotonicSeconds()
            let size = try writeDataset(trace, to: output, compression: out.compression)
            let t2 = monotonicSeconds()
            let sourceSize = try FileSystem.size(of: file)
            say("\(output): \(trace.metadata.sourceFormat), \(trace.summaryLine)")
            say("  \(formatBytes(sourceSize)) -> \(formatBytes(size))"
                + String(format: " (%.1f%% of the source); import %.2f s, write %.2f s",
                         100 * Double(size) / Double(max(sourceSize, 1)), t1 - t0, t2 - t1))
            say("  source sha256 \(trace.metadata.sourceSHA256)")
        }
    }
}
