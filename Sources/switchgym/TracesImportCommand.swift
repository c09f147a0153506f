import ArgumentParser
import Foundation
import SwitchGymData
import SwitchGymIO

extension TraceFormat: ExpressibleByArgument {}
extension TimeUnit: ExpressibleByArgument {}

/// `switchgym traces import FILE --out OUT.h5` (or `-o OUT.h5`).
struct TracesImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a query trace (CSV, plain, .zst or .gz) into a canonical HDF5 dataset.",
        discussion: """
            Formats (detected from the header when --format is not given):
              azure-llm        TIMESTAMP,ContextTokens,GeneratedTokens - one row per request
                               (the Azure LLM 2023 and 2024 traces; 2024's +00:00 offsets are applied)
              azure-functions  HashOwner,HashApp,HashFunction,Trigger,<minute>... - per-minute counts,
                               expanded into arrivals by a process seeded by --seed (datasets/FORMAT.md)
              azure-functions-2021
                               app,func,end_timestamp,duration - one invocation per row, arriving at
                               end_timestamp - duration; one stream per app/func
              burstgpt         Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type -
                               one row per request; one stream per Model/Log Type
              mooncake         JSON lines {"timestamp": ms, "input_length", "output_length", "hash_ids"}
              servegen         header-less lines window_start_s,rate_req_per_s,iat_cv,fitted_iat_dist,
                               param1,param2 (one client, 600 s windows); arrivals generated from the
                               fitted distribution at the stated rate, seeded by --seed
              timestamps       a header with `timestamp` (seconds by default, see --time-unit, or
                               ISO 8601) and optional `stream`, `tokens_in`, `tokens_out` columns
            Unknown or misspelled columns (keys, for mooncake) are errors naming them.
            Compression is detected from the file's magic bytes, not its name. Any file is read
            once, as a stream (FILE may be a pipe, a FIFO or - for standard input), and memory
            grows only with the imported requests: at most --max-requests of them.
            """)

    @Argument(help: "The trace file (- for standard input).")
    var file: String

    @Option(help: "azure-llm, azure-functions, azure-functions-2021, burstgpt, mooncake, servegen or timestamps (default: detected).")
    var format: TraceFormat?

    @OptionGroup var output: OutputOptions<DatasetOutput>

    @OptionGroup var seed: SeedOption

    @Option(help: "Unit of numeric timestamps in the timestamps format: s, ms or us.")
    var timeUnit: TimeUnit = .seconds

    @Flag(help: "Sort rows by time instead of rejecting out-of-order rows.")
    var sort = false

    @Option(help: "Value of the created_at attribute (default: now).")
    var createdAt: String?

    @Option(help: ArgumentHelp("The most requests imported; a source with more is refused.",
                               discussion: "Memory grows with the imported requests (8-20 bytes each, about twice that "
                                   + "while sorting), not with the source's size."))
    var maxRequests: Int = TraceImportOptions.defaultMaxRequests

    func validate() throws {
        guard maxRequests >= 1, Trace.requestBounds.violation(maxRequests) == nil else {
            throw ValidationError("--max-requests \(maxRequests): expected an integer in [1, \(Int(Trace.requestBounds.upper))]")
        }
    }

    @OptionGroup var writing: DatasetOutputOptions

    func run() throws {
        let output = self.output.out
        let input = file == "-" ? "/dev/stdin" : file
        try reportingErrors(inputs: [input]) {
            try OutputGuard.check(output: output)  // before the import, not only at the write
            let t0 = monotonicSeconds()
            let options = TraceImportOptions(format: format, seed: seed.value, timeUnit: timeUnit, sort: sort,
                                             createdAt: createdAt ?? nowISO8601(), maxRequests: maxRequests)
            let trace = try TraceImporter.importFile(input, options: options)
            let t1 = monotonicSeconds()
            let size = try writeDataset(trace, to: output, compression: writing.compression)
            let t2 = monotonicSeconds()
            let sourceSize = try FileSystem.size(of: input)
            say("\(output): \(trace.metadata.sourceFormat), \(trace.summaryLine)")
            // A pipe or a device has no size.
            let share = sourceSize > 0 ? String(format: " (%.1f%% of the source)", 100 * Double(size) / Double(sourceSize)) : ""
            say("  \(formatBytes(sourceSize)) -> \(formatBytes(size))" + share
                + String(format: "; import %.2f s, write %.2f s", t1 - t0, t2 - t1))
            say("  source sha256 \(trace.metadata.sourceSHA256)")
        }
    }
}
