import Foundation

/// Splits a trace in time into a training part and a held-out part.
public enum TraceSplit {
    /// Splits `trace` at `t_split = round(trainFraction × duration)` µs.
    ///
    /// - `train`: the arrivals before `t_split`, duration `t_split`.
    /// - `heldout`: the arrivals at or after `t_split`, rebased so `t_split` becomes 0,
    ///   duration `duration − t_split`; its `startTime` (when parseable ISO 8601) is
    ///   moved forward by `t_split`.
    ///
    /// Both parts keep the whole streams table (so stream ids stay comparable) and the
    /// token columns of their requests. Their metadata `parameters` is the source's JSON
    /// object with `split` (`"train"` or `"heldout"`), `train_fraction` and `offset_us`
    /// (0 for train, `t_split` for heldout) added; a source `parameters` that is not a JSON
    /// object is kept under `source_parameters`.
    ///
    /// - Throws: ``TraceAnalysisError`` if `trainFraction` is not in (0, 1), if either part
    ///   would have zero duration, or if the trace is invalid.
    public static func split(_ trace: Trace, trainFraction: Double) throws -> (train: Trace, heldout: Trace) {
        guard trainFraction.isFinite, trainFraction > 0, trainFraction < 1 else {
            throw TraceAnalysisError("train fraction must be strictly between 0 and 1, got \(trainFraction)")
        }
        do { try trace.validate() } catch let e as TraceError { throw TraceAnalysisError(e.message) }
        let cut = Int64((trainFraction * Double(trace.duration)).rounded())
        guard cut > 0, cut < trace.duration else {
            throw TraceAnalysisError("train fraction \(trainFraction) of a \(trace.duration) us trace leaves an empty part (split at \(cut) us)")
        }
        // First index with arrival >= cut (arrivals are sorted).
        var lo = 0, hi = trace.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if trace.arrivals[mid] < cut { lo = mid + 1 } else { hi = mid }
        }
        let k = lo
        func part(_ range: Range<Int>, offset: Int64, duration: Int64, name: String) throws -> Trace {
            var meta = trace.metadata
            meta.parameters = try mergedParameters(trace.metadata.parameters, split: name, fraction: trainFraction, offset: offset)
            if offset > 0 { meta.startTime = shiftISO8601(trace.metadata.startTime, byMicroseconds: offset) ?? "" }
            return Trace(arrivals: trace.arrivals[range].map { $0 - offset }, streamIDs: Array(trace.streamIDs[range]),
                         tokensIn: trace.tokensIn.map { Array($0[range]) }, tokensOut: trace.tokensOut.map { Array($0[range]) },
                         streams: trace.streams, duration: duration, metadata: meta)
        }
        return (try part(0..<k, offset: 0, duration: cut, name: "train"),
                try part(k..<trace.count, offset: cut, duration: trace.duration - cut, name: "heldout"))
    }

    static func mergedParameters(_ source: String, split: String, fraction: Double, offset: Int64) throws -> String {
        var obj: [String: Any] = [:]
        let trimmed = source.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty {
            if let parsed = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed]) {
                if let d = parsed as? [String: Any] { obj = d } else { obj["source_parameters"] = parsed }
            } else {
                obj["source_parameters"] = trimmed
            }
        }
        obj["split"] = split
        obj["train_fraction"] = fraction
        obj["offset_us"] = offset
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: - ISO 8601 times with microseconds

/// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]` (a space may replace `T`) into
/// microseconds since 1970 UTC.
func parseISO8601Micros(_ s: String) -> Int64? {
    let u = Array(s.utf8)
    var i = 0
    func int(_ n: Int) -> Int64? {
        guard i + n <= u.count else { return nil }
        var v: Int64 = 0
        for j in i..<(i + n) {
            guard u[j] >= 48, u[j] <= 57 else { return nil }
            v = v * 10 + Int64(u[j] - 48)
        }
        i += n
        return v
    }
    func expect(_ c: UInt8) -> Bool { guard i < u.count, u[i] == c else { return false }; i += 1; return true }
    guard let y = int(4), expect(45), let mo = int(2), expect(45), let d = int(2) else { return nil }
    guard i < u.count, u[i] == 84 || u[i] == 32 || u[i] == 116 else { return nil }
    i += 1
    guard let h = int(2), expect(58), let mi = int(2), expect(58), let se = int(2) else { return nil }
    var frac: Int64 = 0
    if i < u.count, u[i] == 46 {
        i += 1
        var digits = 0
        while i < u.count, u[i] >= 48, u[i] <= 57 {
            if digits < 6 { frac = frac * 10 + Int64(u[i] - 48) }
            digits += 1; i += 1
        }
        guard digits > 0 else { return nil }
        for _ in min(digits, 6)..<6 { frac *= 10 }
    }
    var tz: Int64 = 0
    if i < u.count {
        if u[i] == 90 || u[i] == 122 { i += 1 } else if u[i] == 43 || u[i] == 45 {
            let sign: Int64 = u[i] == 43 ? 1 : -1
            i += 1
            guard let th = int(2) else { return nil }
            _ = expect(58)
            guard let tm = int(2) else { return nil }
            tz = sign * (th * 3600 + tm * 60)
        } else { return nil }
    }
    guard i == u.count, (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
    let days = daysFromCivil(year: y, month: mo, day: d)
    return ((days * 86400 + h * 3600 + mi * 60 + se) - tz) * 1_000_000 + frac
}

/// `time` moved forward by `us` microseconds, or nil when `time` is empty or not parseable.
func shiftISO8601(_ time: String, byMicroseconds us: Int64) -> String? {
    guard let t = parseISO8601Micros(time) else { return nil }
    return formatISO8601(microseconds: t + us)
}
