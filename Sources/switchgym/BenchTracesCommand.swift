import ArgumentParser
import Foundation
import SwitchGymData
import SwitchGymIO

/// `switchgym bench traces`: the trace pipeline's speed and size targets.
///
/// - import: an uncompressed Azure-LLM-format CSV (generated, `--mb` MB) through
///   `TraceImporter.importFile`, in MB/s, against a plain read of the same file
///   measured in the same run (target >= 100 MB/s);
/// - read: 10 M arrivals written with the default zstd layout, read back with
///   `TraceDataset.readArrivals` (target < 0.5 s), against reading the same bytes raw;
/// - size: the Azure LLM trace (from ../shared when present, else a generated one of
///   the same length) as a zstd dataset, relative to its CSV (target <= 40%).
/// Each timing is the best of `--repeat` runs.
struct BenchTraces: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "Measure CSV import speed, HDF5 read speed and dataset size.")

    @Option(help: "Size of the generated CSV in MB.")
    var mb = 200

    @Option(help: "Arrivals in the read benchmark.")
    var arrivals = 10_000_000

    @Option(help: "Runs per timing (the best is reported).")
    var `repeat` = 3

    @Option(help: "The Azure LLM trace CSV for the size figure.")
    var llmTrace = "../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv"

    @Option(help: "Scratch folder (a temporary folder by default).")
    var scratch: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard mb > 0, arrivals > 0, self.repeat > 0 else { throw ValidationError("--mb, --arrivals and --repeat must be > 0") }
    }

    /// The best wall time of `repeat` runs; `cpu` receives the CPU time (all threads) of that run.
    func best(cpu: UnsafeMutablePointer<Double>? = nil, _ body: () throws -> Void) rethrows -> Double {
        var b = Double.infinity
        for _ in 0..<self.repeat {
            let c0 = processCPUSeconds(), t0 = monotonicSeconds()
            try body()
            let wall = monotonicSeconds() - t0
            if wall < b { b = wall; cpu?.pointee = processCPUSeconds() - c0 }
        }
        return b
    }

    func run() throws {
        try reportingErrors {
            let dir = scratch ?? (NSTemporaryDirectory() + "switchgym-bench-\(getpid())")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { if scratch == nil { try? FileManager.default.removeItem(atPath: dir) } }

            // Import.
            let rows = mb * 1_000_000 / 36
            let csv = SyntheticCSV.azureLLM(rows: rows, seed: 1)
            let csvPath = dir + "/bench.csv"
            try AtomicOutput.write(bytes: csv, to: csvPath)
            let bytes = Double(csv.count)
            var imported = 0
            let tRaw = try best { _ = try FileSystem.readAll(csvPath) }
            var cpuImport = 0.0
            let tImport = try best(cpu: &cpuImport) { imported = try TraceImporter.importFile(csvPath, options: .init(createdAt: "")).count }
            FileSystem.removeIfPresent(csvPath)

            // Read back 10 M arrivals.
            let spec = SyntheticTraceSpec(kind: "poisson", durationS: 3600, seed: 7, rate: Double(arrivals) / 3600)
            let big = try SyntheticTraceGenerator.generate(spec.resolved())
            let h5 = dir + "/bench.h5"
            try TraceDataset.write(big, to: h5)
            let rawH5 = dir + "/bench-raw.h5"
            try TraceDataset.write(big, to: rawH5, compression: HDF5Compression.none)
            var n = 0
            let tRead = try best { n = try TraceDataset.readArrivals(h5).count }
            let tReadRaw = try best { _ = try TraceDataset.readArrivals(rawH5).count }
            let h5Size = try FileSystem.size(of: h5)

            // Size of the LLM trace.
            let haveLLM = FileSystem.exists(llmTrace)
            let llmPath: String
            if haveLLM { llmPath = llmTrace } else {
                llmPath = dir + "/llm.csv"
                try AtomicOutput.write(bytes: SyntheticCSV.azureLLM(rows: 8_819, seed: 2), to: llmPath)
            }
            let llm = try TraceImporter.importFile(llmPath, options: .init(createdAt: ""))
            let llmH5 = dir + "/llm.h5"
            try TraceDataset.write(llm, to: llmH5)
            let csvSize = try FileSystem.size(of: llmPath), llmSize = try FileSystem.size(of: llmH5)

            let r: [(String, Any)] = [
                ("csv_bytes", csv.count), ("csv_rows", imported),
                ("import_mb_per_s", bytes / tImport / 1e6), ("raw_read_mb_per_s", bytes / tRaw / 1e6),
                ("import_vs_raw_read", tRaw / tImport), ("import_mb_per_cpu_second", bytes / cpuImport / 1e6),
                ("read_arrivals", n), ("read_seconds", tRead), ("read_uncompressed_seconds", tReadRaw),
                ("dataset_bytes_per_arrival", Double(h5Size) / Double(n)),
                ("llm_trace", haveLLM ? llmTrace : "generated (\(llmTrace) absent)"),
                ("llm_csv_bytes", csvSize), ("llm_dataset_bytes", llmSize),
                ("llm_size_ratio", Double(llmSize) / Double(csvSize)),
            ]
            if json {
                let obj = Dictionary(uniqueKeysWithValues: r)
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                say(String(decoding: data, as: UTF8.self))
            } else {
                say(String(format: "import   %.0f MB/s (%.0f MB per CPU-second); plain read %.0f MB/s; ratio %.2f   [target >= 100 MB/s]",
                           bytes / tImport / 1e6, bytes / cpuImport / 1e6, bytes / tRaw / 1e6, tRaw / tImport)
                    + " (\(formatBytes(csv.count)) CSV, \(imported) rows)")
                say(String(format: "read     %d arrivals in %.3f s (uncompressed layout %.3f s); %.2f bytes/arrival   [target < 0.5 s]",
                           n, tRead, tReadRaw, Double(h5Size) / Double(n)))
                say(String(format: "size     LLM trace dataset = %.1f%% of its CSV   [target <= 40%%]",
                           100 * Double(llmSize) / Double(csvSize))
                    + " (\(formatBytes(csvSize)) -> \(formatBytes(llmSize))\(haveLLM ? "" : "; generated, \(llmTrace) absent"))")
            }
        }
    }
}

/// CPU time (user + system, all threads) of this process in seconds.
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
}
