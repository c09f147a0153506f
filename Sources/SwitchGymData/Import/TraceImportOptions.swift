import SwitchGymIO

/// The source formats ``TraceImporter`` reads.
public enum TraceFormat: String, CaseIterable, Sendable {
    /// Azure LLM inference traces 2023 and 2024 (the same columns): header
    /// `TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps `YYYY-MM-DD HH:MM:SS.fffffff`
    /// (2023) or `YYYY-MM-DD HH:MM:SS.ffffff+00:00` (2024). One stream `llm`.
    case azureLLM = "azure-llm"
    /// Azure Functions trace 2019 invocation counts: header
    /// `HashOwner,HashApp,HashFunction,Trigger,M,M+1,...` with one column per minute.
    /// Counts are expanded into arrival times (see `datasets/FORMAT.md`).
    case azureFunctions = "azure-functions"
    /// A generic CSV of arrival times: column `timestamp` (or `time`, `arrival`),
    /// optional `stream`, `tokens_in`, `tokens_out`.
    case timestamps
    /// Mooncake (FAST'25) JSON lines `{"timestamp": ms, "input_length": n,
    /// "output_length": n, "hash_ids": [...]}`. One stream `mooncake`.
    case mooncake
    /// BurstGPT CSV `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`.
    /// One stream per model and log type.
    case burstGPT = "burstgpt"
    /// Azure Functions 2021 invocations `app,func,end_timestamp,duration` (seconds);
    /// arrival = end_timestamp - duration. One stream per function.
    case azureFunctions2021 = "azure-functions-2021"
    /// ServeGen per-client rate descriptors, one header-less line per 600 s window:
    /// `window_start_s,rate_req_per_s,iat_cv,fitted_iat_dist,param1,param2`. Arrivals
    /// are generated from the fitted distribution at the stated rate (seeded).
    case serveGen = "servegen"
}

/// The unit of numeric times in the `timestamps` format.
public enum TimeUnit: String, CaseIterable, Sendable {
    case seconds = "s"
    case milliseconds = "ms"
    case microseconds = "us"

    /// Microseconds per unit.
    public var microseconds: Int64 {
        switch self {
        case .seconds: return 1_000_000
        case .milliseconds: return 1_000
        case .microseconds: return 1
        }
    }
}

/// How ``TraceImporter`` reads a source file.
public struct TraceImportOptions: Sendable {
    /// The default ``maxRequests``: 2^28.
    public static let defaultMaxRequests = 1 << 28
    /// The source format; nil detects it from the header line.
    public var format: TraceFormat?
    /// The seed of the Azure Functions expansion and of the ServeGen arrival
    /// generation (stored in the trace's metadata).
    public var seed: UInt64
    /// The unit of numeric times in the `timestamps` format.
    public var timeUnit: TimeUnit
    /// Whether to sort requests by time (stably: equal times keep file order).
    /// When false, a time earlier than the previous row's is an error naming the line.
    public var sort: Bool
    /// The `createdAt` metadata (ISO 8601); nil uses the current time.
    public var createdAt: String?
    /// The largest number of requests accepted (2^28, about 268 million, by default); a
    /// source with more is an error naming this limit and `--max-requests`. The import holds
    /// the parsed requests only (an arrival time and a stream id as numbers, and token
    /// counts where the format has them: 8 to 20 bytes a request), never the source's text,
    /// so this cap bounds its memory on any input, endless pipes included: at most 5 GiB of
    /// requests at the default, about twice that while `sort` reorders them (`yes 0 |
    /// switchgym traces import -` ends at the cap with a 2.1 GB peak RSS).
    public var maxRequests: Int
    /// The longest line accepted, in bytes (1 MiB by default, at most 1 GiB): a binary file
    /// or a device such as /dev/zero fails on its first line. The source is read through a
    /// window of this many bytes plus 1 MiB.
    public var maxLineBytes: Int
    /// The most memory the stream table may take, in bytes (1 GiB by default): stream names
    /// come from the source (function hashes, model names), so an endless source of new
    /// names, each up to a line long, would otherwise grow memory without adding requests.
    public var maxStreamBytes: Int
    /// Receives warnings about content that is read but partly ignored (the extra columns
    /// of a `timestamps` file); stderr by default.
    public var warn: @Sendable (String) -> Void

    public init(format: TraceFormat? = nil, seed: UInt64 = 0, timeUnit: TimeUnit = .seconds, sort: Bool = false,
                createdAt: String? = nil, maxRequests: Int = TraceImportOptions.defaultMaxRequests,
                maxLineBytes: Int = 1 << 20, maxStreamBytes: Int = 1 << 30, warn: @escaping @Sendable (String) -> Void = { FileSystem.printWarning($0) }) {
        self.warn = warn
        self.maxLineBytes = min(max(maxLineBytes, 0), 1 << 30)
        self.maxStreamBytes = maxStreamBytes
        self.format = format
        self.seed = seed
        self.timeUnit = timeUnit
        self.sort = sort
        self.createdAt = createdAt
        self.maxRequests = maxRequests
    }
}

/// An error in the content of a source trace file: where it is (file, line,
/// column), what was expected there and what was found.
///
/// ``description`` reads like
/// `trace.csv:12: column TIMESTAMP: expected a timestamp YYYY-MM-DD HH:MM:SS[.fffffff][+HH:MM], found "2023-13-xx"`
/// followed, when there is one, by a line `  hint: ...`.
public struct TraceImportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file as named by the caller (the path given to ``TraceImporter/importFile(_:options:)``).
    public var path: String
    /// The 1-based line number (the header is line 1), when the error is about one line.
    public var line: Int?
    /// The column name, when the error is about one field.
    public var column: String?
    /// What was expected, as a phrase (`a non-negative integer`).
    public var expected: String
    /// What was found, as shown to the user: field values are quoted
    /// (`"-3"`), descriptions are not (`2 columns`).
    public var found: String?
    /// How to fix it, when known.
    public var hint: String?

    public init(path: String, line: Int? = nil, column: String? = nil, expected: String, found: String? = nil,
                hint: String? = nil) {
        self.path = path
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        self.hint = hint
    }

    public var description: String {
        var s = path
        if let line { s += ":\(line)" }
        s += ": "
        if let column { s += "column \(column): " }
        s += "expected \(expected)"
        if let found { s += ", found \(found)" }
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }
}
