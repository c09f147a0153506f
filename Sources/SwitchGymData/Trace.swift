import SwitchGymCore

/// A query-arrival trace in memory: the canonical form every importer produces,
/// every generator synthesises and the gym replays.
///
/// Invariants (checked by ``validate()``): `arrivals` is non-decreasing and
/// starts at or after 0; every per-request column has `arrivals.count` elements;
/// every stream id indexes `streams`; token counts are non-negative; `duration` is
/// positive and greater than the last arrival.
public struct Trace: Sendable, Equatable {
    /// Arrival times in microseconds from the trace start, non-decreasing.
    public var arrivals: [Int64]
    /// Per request, the index of its stream in ``streams``.
    public var streamIDs: [UInt32]
    /// Per request, the input size (prompt tokens for LLM traces), when known.
    public var tokensIn: [Int32]?
    /// Per request, the output size (generated tokens for LLM traces), when known.
    public var tokensOut: [Int32]?
    /// The streams (SLO classes, functions, applications) requests belong to.
    public var streams: [TraceStream]
    /// The observed time span in microseconds: windows of width `w` cover
    /// `[0, duration)` in `ceil(duration / w)` windows.
    public var duration: Int64
    /// Where the trace came from.
    public var metadata: TraceMetadata

    public init(arrivals: [Int64], streamIDs: [UInt32], tokensIn: [Int32]? = nil, tokensOut: [Int32]? = nil,
                streams: [TraceStream], duration: Int64, metadata: TraceMetadata) {
        self.arrivals = arrivals
        self.streamIDs = streamIDs
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.streams = streams
        self.duration = duration
        self.metadata = metadata
    }

    /// The number of requests.
    public var count: Int { arrivals.count }

    /// The accepted ``duration``: positive and at most 366 days (the longest public traces
    /// span two weeks). Everything that bins a trace by time (statistics windows, decision
    /// intervals) sizes its tables from it.
    public static let durationBounds = InputBounds.closed(1, 366 * 86_400 * 1e6, unit: "us")
    /// The accepted number of requests (the importers' default `maxRequests` is 2^28).
    public static let requestBounds = InputBounds.closed(0, Double(1 << 31), unit: "requests")

    /// Mean arrival rate in requests per second over ``duration``.
    public var meanRate: Double { duration > 0 ? Double(count) / (Double(duration) / 1e6) : 0 }

    /// Checks the invariants listed on the type.
    /// - Throws: ``TraceError`` naming the first violated invariant.
    public func validate() throws {
        let n = arrivals.count
        guard streamIDs.count == n else { throw TraceError.invalid("streamIDs has \(streamIDs.count) elements, expected \(n)") }
        if let t = tokensIn, t.count != n { throw TraceError.invalid("tokensIn has \(t.count) elements, expected \(n)") }
        if let t = tokensOut, t.count != n { throw TraceError.invalid("tokensOut has \(t.count) elements, expected \(n)") }
        for (name, column) in [("tokens_in", tokensIn), ("tokens_out", tokensOut)] {
            if let c = column, let bad = c.firstIndex(where: { $0 < 0 }) {
                throw TraceError.invalid("\(name)[\(bad)] is \(c[bad]); token counts are non-negative")
            }
        }
        if let m = Self.durationBounds.violation(Int(duration)) { throw TraceError.invalid("duration: \(m)") }
        var prev: Int64 = 0
        for (i, t) in arrivals.enumerated() {
            if t < prev {
                throw TraceError.invalid(i == 0 ? "arrival 0 is negative (\(t) us)"
                                         : "arrival \(i) (\(t) us) is earlier than arrival \(i - 1) (\(prev) us)")
            }
            prev = t
        }
        if let last = arrivals.last, last >= duration {
            throw TraceError.invalid("last arrival \(last) us is not before the duration \(duration) us")
        }
        let s = UInt32(streams.count)
        if let bad = streamIDs.firstIndex(where: { $0 >= s }) {
            throw TraceError.invalid("request \(bad) has stream id \(streamIDs[bad]), but there are \(s) streams")
        }
    }
}

/// One stream of a trace: requests that share an origin (a function, an
/// application, an SLO class).
public struct TraceStream: Sendable, Equatable, Codable {
    /// A stable name (for Azure Functions: `HashOwner/HashApp/HashFunction`).
    public var name: String
    /// A free-form kind (for Azure Functions: the trigger, such as `http`).
    public var kind: String

    public init(name: String, kind: String = "") {
        self.name = name
        self.kind = kind
    }
}

/// Provenance of a trace, stored as attributes of the dataset's root group.
public struct TraceMetadata: Sendable, Equatable, Codable {
    /// The source file's name (`synthetic` for generated traces).
    public var sourceFile: String
    /// SHA-256 of the source file's bytes as read from disk (compressed or not);
    /// empty for generated traces.
    public var sourceSHA256: String
    /// `azure-llm`, `azure-functions`, `timestamps` or `synthetic:KIND`.
    public var sourceFormat: String
    /// When the dataset was made (ISO 8601, UTC).
    public var createdAt: String
    /// The wall-clock time of arrival 0 (ISO 8601, UTC) when the source has one.
    public var startTime: String
    /// The seed of any random expansion or synthesis (0 when none was used).
    public var seed: UInt64
    /// The parameters of the import or synthesis, as JSON.
    public var parameters: String

    public init(sourceFile: String, sourceSHA256: String = "", sourceFormat: String, createdAt: String = "",
                startTime: String = "", seed: UInt64 = 0, parameters: String = "{}") {
        self.sourceFile = sourceFile
        self.sourceSHA256 = sourceSHA256
        self.sourceFormat = sourceFormat
        self.createdAt = createdAt
        self.startTime = startTime
        self.seed = seed
        self.parameters = parameters
    }
}

/// An error about the content of a trace.
public struct TraceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, with where and what was expected.
    public var message: String
    public var description: String { message }
    static func invalid(_ m: String) -> TraceError { TraceError(message: "invalid trace: " + m) }
    public init(message: String) { self.message = message }
}
