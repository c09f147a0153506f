#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Byte-level helpers shared by the importers. Everything here works on raw
// pointers into the (decompressed) file and allocates nothing per field.

/// Iterates over the lines of an ``ImportSource`` through a fixed window of
/// `maxLineBytes + 1 MiB` bytes: the input is parsed as it is read, whatever its size.
/// Lines end at `\n`; a `\r` before it is dropped, so CRLF files read like LF files.
///
/// A line is `[start, end)` in the window at ``base`` (which never moves). Offsets stay
/// valid until the next call of ``next()``: reading more may shift the window's content
/// (``shifts`` counts how often), so a parser that keeps offsets of an earlier line must
/// compare ``shifts`` before using them.
struct LineCursor {
    let base: UnsafePointer<UInt8>
    private let window: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private let source: ImportSource
    /// The longest line accepted, in bytes (its `\r` included).
    let maxLineBytes: Int
    /// The option that sets ``maxLineBytes``, named in the error for a longer line.
    let limitName: String?
    /// Bytes of the window holding data.
    private(set) var count = 0
    /// Offset of the first byte not yet returned.
    private(set) var pos = 0
    /// 1-based number of the line last returned by ``next()``.
    private(set) var line = 0
    /// The start of the line last returned.
    private var lineStart = 0
    private var atEnd = false
    /// How many times the window's content has moved.
    private(set) var shifts = 0

    /// Reads the first piece of `source` (skipping a UTF-8 byte order mark).
    init(_ source: ImportSource, maxLineBytes: Int, limitName: String? = nil) throws {
        self.source = source
        self.limitName = limitName
        self.maxLineBytes = max(maxLineBytes, 0)
        let (c, overflow) = self.maxLineBytes.addingReportingOverflow(1 << 20)
        capacity = overflow ? Int.max : c
        window = source.makeWindow(capacity: capacity)
        base = UnsafePointer(window)
        while count < 3 && !atEnd { try read() }
        if count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF { pos = 3 }
    }

    /// The next line as `[start, end)` without its terminator, or nil at the end of input.
    ///
    /// - Throws: ``TraceImportError`` naming the line when it is longer than
    ///   ``maxLineBytes``; the source's errors when reading fails.
    @inline(__always)
    mutating func next() throws -> (start: Int, end: Int)? {
        var from = pos
        while true {
            if let q = memchr(base + from, 0x0A, count - from) {
                let e = UnsafeRawPointer(q) - UnsafeRawPointer(base)
                return try take(e, next: e + 1)
            }
            if atEnd { return pos < count ? try take(count, next: count) : nil }
            from = count - pos  // already searched; the window starts at `pos` after `refill`
            try refill()
        }
    }

    @inline(__always)
    private mutating func take(_ end: Int, next: Int) throws -> (start: Int, end: Int) {
        let s = pos
        if end - s > maxLineBytes { throw longLine(line + 1) }
        pos = next
        line += 1
        lineStart = s
        var e = end
        if e > s && base[e - 1] == 0x0D { e -= 1 }
        return (s, e)
    }

    /// Makes the line last returned by ``next()`` the next one again (for a first line that
    /// turns out to be data, not a header). Only right after ``next()``.
    mutating func rereadLastLine() {
        pos = lineStart
        line -= 1
    }

    /// Moves the line in progress to the start of the window and reads more after it.
    private mutating func refill() throws {
        if pos > 0 {
            (window + 0).update(from: window + pos, count: count - pos)
            count -= pos
            pos = 0
            lineStart = 0
            shifts += 1
        }
        // No newline in the window: the line in progress is all of it.
        if count > maxLineBytes { throw longLine(line + 1) }
        try read()
    }

    private mutating func read() throws {
        let n = try source.fill(window + count, capacity - count)
        if n == 0 { atEnd = true } else { count += n }
    }

    private func longLine(_ line: Int) -> TraceImportError {
        TraceImportError(path: source.path, line: line,
                         expected: "a line of at most \(maxLineBytes) bytes" + (limitName.map { " (\($0))" } ?? ""),
                         found: "a longer line",
                         hint: "the source is not line-based text (a binary file or a device such as /dev/zero?)")
    }

    /// Whether every byte from the current position to the end of input is white space
    /// (blank trailing lines). Reads on through the blank bytes, dropping them: call it only
    /// where a `false` ends the parse with an error.
    ///
    /// - Throws: ``TraceImportError`` when more than ``maxLineBytes`` blank bytes follow
    ///   (an endless blank source such as `yes ''` would otherwise be read forever).
    mutating func restIsBlank() throws -> Bool {
        var blank = 0
        while true {
            while pos < count {
                let c = base[pos]
                if c != 0x0A && c != 0x0D && c != 0x20 && c != 0x09 { return false }
                pos += 1
                blank += 1
            }
            if atEnd { return true }
            if blank > maxLineBytes {
                throw TraceImportError(path: source.path, line: line + 1,
                                       expected: "at most \(maxLineBytes) bytes of blank lines at the end of the input" + (limitName.map { " (\($0))" } ?? ""),
                                       found: "more", hint: "is the source an endless stream of empty lines?")
            }
            try refill()
        }
    }

    /// The number of `\n` bytes in the window after the current position: a lower bound
    /// of the lines to come (to size arrays up front).
    func bufferedNewlines() -> Int {
        var n = 0
        var i = pos
        while i < count, let p = memchr(base + i, 0x0A, count - i) {
            n += 1
            i = (UnsafeRawPointer(p) - UnsafeRawPointer(base)) + 1
        }
        return n
    }

    /// The bytes `[s, e)` as a string (invalid UTF-8 repaired).
    func string(_ s: Int, _ e: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self)
    }

    /// The bytes `[s, e)` as they should appear in an error message: quoted,
    /// control characters escaped, shortened when long.
    func shown(_ s: Int, _ e: Int, limit: Int = 80) -> String {
        showBytes(UnsafeBufferPointer(start: base + s, count: e - s), limit: limit)
    }
}

/// Quotes bytes for an error message: control characters and invalid UTF-8 are
/// escaped and long values are cut with `...`.
func showBytes(_ b: UnsafeBufferPointer<UInt8>, limit: Int = 80) -> String {
    let cut = b.count > limit
    let part = UnsafeBufferPointer(rebasing: b[0..<min(b.count, limit)])
    var s = "\""
    for scalar in String(decoding: part, as: UTF8.self).unicodeScalars {
        switch scalar {
        case "\"": s += "\\\""
        case "\\": s += "\\\\"
        case "\t": s += "\\t"
        case "\r": s += "\\r"
        case "\u{FFFD}": s += "\\u{FFFD}"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                s += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                s.unicodeScalars.append(scalar)
            }
        }
    }
    s += cut ? "...\"" : "\""
    return s
}

/// Splits `[s, e)` at commas into `fields` (pairs of start and end offsets).
/// Fields are not unquoted: SwitchGym's CSV inputs never quote.
@inline(__always)
func splitFields(_ base: UnsafePointer<UInt8>, _ s: Int, _ e: Int, into fields: inout [(Int, Int)]) {
    fields.removeAll(keepingCapacity: true)
    var fs = s
    var i = s
    while i < e {
        if base[i] == 0x2C {
            fields.append((fs, i))
            fs = i + 1
        }
        i += 1
    }
    fields.append((fs, e))
}

/// Parses a decimal integer with an optional leading sign; nil when `[s, e)` is
/// not one or overflows `Int64`.
@inline(__always)
func parseInteger(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Int64? {
    var i = s
    var negative = false
    if i < e && (p[i] == 0x2D || p[i] == 0x2B) {
        negative = p[i] == 0x2D
        i += 1
    }
    guard i < e else { return nil }
    var v: Int64 = 0
    while i < e {
        let d = p[i] &- 0x30
        guard d < 10 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(d))
        guard !o1 && !o2 else { return nil }
        v = a
        i += 1
    }
    return negative ? -v : v
}

/// The outcome of parsing a non-negative count or token number.
enum CountParse {
    case value(Int64)
    case negative
    case invalid
}

/// Parses a non-negative integer at most `limit`, telling a negative number apart
/// from a non-number for the error message. Values above `limit` are `.invalid`.
@inline(__always)
func parseCount(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, limit: Int64) -> CountParse {
    // Fast path: plain digits.
    var i = s
    var v: Int64 = 0
    if i < e && p[i] != 0x2D && p[i] != 0x2B && e - s <= 18 {
        while i < e {
            let d = p[i] &- 0x30
            if d >= 10 { return .invalid }
            v = v &* 10 &+ Int64(d)
            i += 1
        }
        return v <= limit ? .value(v) : .invalid
    }
    guard let x = parseInteger(p, s, e) else { return .invalid }
    if x < 0 { return .negative }
    return x <= limit ? .value(x) : .invalid
}

// MARK: - Calendar arithmetic (proleptic Gregorian, UTC)

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
@inline(__always)
func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = month > 2 ? month - 3 : month + 9
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The civil date of a day number (H. Hinnant's `civil_from_days`).
func civilFromDays(_ z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

@inline(__always)
func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
    switch month {
    case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Formats microseconds since 1970-01-01 UTC as ISO 8601
/// (`YYYY-MM-DDTHH:MM:SSZ`, or with `.ffffff` when the time has a fraction).
func formatISO8601(microseconds t: Int64) -> String {
    let us = ((t % 1_000_000) + 1_000_000) % 1_000_000
    let secs = (t - us) / 1_000_000
    let sod = ((secs % 86_400) + 86_400) % 86_400
    let days = (secs - sod) / 86_400
    let (y, m, d) = civilFromDays(days)
    func pad(_ v: Int64, _ w: Int) -> String {
        let s = String(v)
        return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
    }
    var s = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):\(pad(sod % 60, 2))"
    if us != 0 { s += "." + pad(us, 6) }
    return s + "Z"
}

/// The current time as ISO 8601 UTC, whole seconds.
func currentTimeISO8601() -> String {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return formatISO8601(microseconds: Int64(ts.tv_sec) * 1_000_000)
}

/// Remembers the last date part parsed: consecutive timestamps of a trace
/// almost always share their day, so the calendar arithmetic runs once per day.
struct DateCache {
    var key0: UInt64 = 0
    var key1: UInt16 = 0
    var dayMicros: Int64 = 0
    var valid = false
}

/// Parses `YYYY-MM-DD HH:MM:SS[.f...][Z|±HH:MM|±HHMM|±HH]` (a `T` may replace the
/// space) in `[s, e)` as microseconds since 1970-01-01 UTC; a UTC offset is
/// subtracted (`12:00:00+02:00` is 10:00 UTC), a time without one is UTC. Fraction digits beyond the
/// sixth (sub-microsecond) are truncated, so the result never rounds up into the
/// next microsecond and the conversion is monotonic. Nil when the text is not
/// such a time or names an impossible date or time of day.
@inline(__always)
func parseDateTime(_ p: UnsafePointer<UInt8>, _ s: Int, _ e0: Int, cache: inout DateCache) -> Int64? {
    var e = e0
    if e - s > 19 && p[e - 1] == 0x5A { e -= 1 }  // trailing Z
    guard e - s >= 19 else { return nil }
    @inline(__always) func digit(_ i: Int) -> Int64? {
        let d = p[i] &- 0x30
        return d < 10 ? Int64(d) : nil
    }
    guard p[s + 4] == 0x2D, p[s + 7] == 0x2D, p[s + 10] == 0x20 || p[s + 10] == 0x54,
          p[s + 13] == 0x3A, p[s + 16] == 0x3A else { return nil }
    let raw = UnsafeRawPointer(p + s)
    let k0 = raw.loadUnaligned(as: UInt64.self)
    let k1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
    let dayMicros: Int64
    if cache.valid && cache.key0 == k0 && cache.key1 == k1 {
        dayMicros = cache.dayMicros
    } else {
        guard let y0 = digit(s), let y1 = digit(s + 1), let y2 = digit(s + 2), let y3 = digit(s + 3),
              let m0 = digit(s + 5), let m1 = digit(s + 6), let d0 = digit(s + 8), let d1 = digit(s + 9)
        else { return nil }
        let year = y0 * 1000 + y1 * 100 + y2 * 10 + y3
        let month = m0 * 10 + m1
        let day = d0 * 10 + d1
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month) else { return nil }
        dayMicros = daysFromCivil(year: year, month: month, day: day) * 86_400_000_000
        cache = DateCache(key0: k0, key1: k1, dayMicros: dayMicros, valid: true)
    }
    guard let h0 = digit(s + 11), let h1 = digit(s + 12), let n0 = digit(s + 14), let n1 = digit(s + 15),
          let c0 = digit(s + 17), let c1 = digit(s + 18) else { return nil }
    let hour = h0 * 10 + h1, minute = n0 * 10 + n1, second = c0 * 10 + c1
    guard hour < 24, minute < 60, second < 60 else { return nil }
    var micros: Int64 = 0
    var i = s + 19
    if i < e && p[i] == 0x2E {
        i += 1
        var scale: Int64 = 100_000
        let first = i
        while i < e, let d = digit(i) {
            micros &+= d &* scale
            scale /= 10
            i += 1
        }
        guard i > first else { return nil }
    }
    var offsetMicros: Int64 = 0
    if i < e {
        // A UTC offset: +HH:MM, +HHMM or +HH (or -), as in the Azure LLM 2024 trace (`+00:00`).
        guard p[i] == 0x2B || p[i] == 0x2D else { return nil }
        let sign: Int64 = p[i] == 0x2B ? 1 : -1
        let n = e - i - 1
        guard n == 2 || n == 4 || (n == 5 && p[i + 3] == 0x3A), let oh0 = digit(i + 1), let oh1 = digit(i + 2)
        else { return nil }
        var offsetMinutes = (oh0 * 10 + oh1) * 60
        if n > 2 {
            let m = n == 5 ? i + 4 : i + 3
            guard let om0 = digit(m), let om1 = digit(m + 1), om0 < 6 else { return nil }
            offsetMinutes += om0 * 10 + om1
        }
        guard oh0 * 10 + oh1 < 24 else { return nil }
        offsetMicros = sign * offsetMinutes * 60_000_000
    }
    return dayMicros + ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros - offsetMicros
}

/// Parses a decimal number (`12`, `-3.25`, `1e3`) as an integer number of
/// microseconds, `unitMicros` microseconds per unit. Digits finer than a
/// microsecond are truncated toward zero. Nil when the text is not a number or
/// the value does not fit.
func parseDecimalMicros(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int, unitMicros: Int64) -> Int64? {
    var i = s
    var negative = false
    if i < e && (p[i] == 0x2D || p[i] == 0x2B) {
        negative = p[i] == 0x2D
        i += 1
    }
    var intPart: Int64 = 0
    var digits = 0
    while i < e, p[i] &- 0x30 < 10 {
        let (m, o1) = intPart.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(p[i] &- 0x30))
        if o1 || o2 { return nil }
        intPart = a
        digits += 1
        i += 1
    }
    var frac: Int64 = 0  // in microseconds
    if i < e && p[i] == 0x2E {
        i += 1
        var scale = unitMicros / 10
        while i < e, p[i] &- 0x30 < 10 {
            frac += Int64(p[i] &- 0x30) * scale
            scale /= 10
            digits += 1
            i += 1
        }
    }
    guard digits > 0 else { return nil }
    if i < e {
        // Exponent or junk: only an exponent is accepted, through Double.
        guard p[i] == 0x65 || p[i] == 0x45 else { return nil }
        let text = String(decoding: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { return nil }
        let v = (d * Double(unitMicros)).rounded(.towardZero)
        guard abs(v) < 9.0e18 else { return nil }
        return Int64(v)
    }
    let (m, o) = intPart.multipliedReportingOverflow(by: unitMicros)
    if o { return nil }
    let (v, o2) = m.addingReportingOverflow(frac)
    if o2 { return nil }
    return negative ? -v : v
}

/// FNV-1a, 64-bit, of a byte string.
func fnv1a64<C: Sequence>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}

/// Escapes a string for a JSON string literal (quotes included).
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
