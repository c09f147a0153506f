import SwitchGymCore

/// Generators of source-format CSV text, for benchmarks and tests of the importers.
public enum SyntheticCSV {
    /// An Azure LLM inference trace in the exact published format: header
    /// `TIMESTAMP,ContextTokens,GeneratedTokens`, LF line ends, no trailing newline,
    /// timestamps `YYYY-MM-DD HH:MM:SS.fffffff` (microsecond values, 7th digit 0)
    /// starting 2023-11-16 18:17:03, non-decreasing.
    ///
    /// Gaps are exponential around a mean of about 0.39 s (2.57 req/s, as the real
    /// code trace) with bursts; context tokens range over 1...8191 and generated
    /// tokens over 1...600. About 36 bytes per row: `rows: 5_500_000` gives ~200 MB.
    /// Deterministic for a seed.
    public static func azureLLM(rows: Int, seed: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(40 + rows * 37)
        out.append(contentsOf: "TIMESTAMP,ContextTokens,GeneratedTokens".utf8)
        var g = SeededGenerator(seed: seed)
        // 2023-11-16 18:17:03.979960 UTC in microseconds since 1970.
        var t: Int64 = daysFromCivil(year: 2023, month: 11, day: 16) * 86_400_000_000
            + Int64((18 * 60 + 17) * 60 + 3) * 1_000_000 + 979_960
        var burst = 0
        // Digits are written in place (no temporary arrays: this also runs in debug builds).
        func put(_ v: Int64, width: Int) {
            let end = out.count + width
            for _ in 0..<width { out.append(0x30) }
            var x = v
            var i = end - 1
            while x > 0 && i >= end - width {
                out[i] = UInt8(0x30 + x % 10)
                x /= 10
                i -= 1
            }
        }
        func putNumber(_ v: Int64) {
            var width = 1
            var x = v / 10
            while x > 0 { width += 1; x /= 10 }
            put(v, width: width)
        }
        for _ in 0..<rows {
            out.append(0x0A)
            let sod = ((t / 1_000_000) % 86_400)
            let (y, m, d) = civilFromDays(t / 86_400_000_000)
            put(y, width: 4); out.append(0x2D)
            put(m, width: 2); out.append(0x2D)
            put(d, width: 2); out.append(0x20)
            put(sod / 3600, width: 2); out.append(0x3A)
            put(sod / 60 % 60, width: 2); out.append(0x3A)
            put(sod % 60, width: 2); out.append(0x2E)
            put(t % 1_000_000, width: 6); out.append(0x30)
            out.append(0x2C)
            // Context: log-uniform-ish in 1...8191; generated: mostly short.
            let bits = Int(g.next() % 13) + 1
            putNumber(Int64(g.next() % (UInt64(1) << bits)) + 1)
            out.append(0x2C)
            putNumber(Int64(g.next() % (g.next() % 2 == 0 ? 40 : 600)) + 1)
            // Next gap: bursts of short gaps between longer exponential gaps.
            if burst > 0 {
                burst -= 1
                t += Int64(g.next() % 60_000)
            } else {
                if g.next() % 16 == 0 { burst = Int(g.next() % 40) }
                let u = max(g.nextUnit(), 1e-12)
                t += Int64(-0.6e6 * logApprox(u))
            }
        }
        return out
    }

    /// Natural logarithm without Foundation (enough precision for gap sampling).
    static func logApprox(_ x: Double) -> Double {
        // x = m * 2^e with m in [1, 2): ln x = e ln 2 + ln m, ln m by atanh series.
        let e = Double(x.exponent)
        let m = x.significand
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var k = 1.0
        for _ in 0..<12 {
            sum += term / k
            term *= z2
            k += 2
        }
        return e * 0.693_147_180_559_945_3 + 2 * sum
    }
}
