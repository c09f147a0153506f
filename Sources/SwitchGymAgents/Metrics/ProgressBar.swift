#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A training progress line on standard error:
///
///     [#########---------------]  37500/100000  37.5%  4210 steps/s  return 153.20  ETA 0:14
///
/// On a terminal (`isatty`) the line is redrawn in place with `\r` at most ten times a
/// second; otherwise (logs, CI) one line is printed each time another 10% is done. The
/// rate is a moving average (about five seconds), the return is the caller's recent mean
/// or the mean of the last 100 returns given to ``recordEpisode(return:)``.
///
/// Call ``update(step:meanReturn:)`` once per update (not per environment step); it does
/// not allocate: the line is formatted into a reused byte buffer and written with one
/// `write(2)`.
public final class ProgressBar {
    /// The step count at 100%.
    public let total: Int
    /// Whether the output is a terminal (in-place redraws) or not (10% lines).
    public let isTTY: Bool

    private let fd: Int32
    private let width: Int
    private let clock: () -> Double
    private let startTime: Double
    private let startStep: Int
    private var lastDraw = -Double.infinity
    private var lastDecile: Int
    private var sampleTime: Double
    private var sampleStep: Int
    private var rate: Double = .nan
    private var step: Int
    private var meanReturn: Double = .nan
    private var returns: [Double]
    private var returnsCount = 0
    private var returnsNext = 0
    private var buffer: [UInt8]
    private var finished = false
    private var lastDrawnStep = Int.min
    /// How many lines were written (for tests).
    private(set) var draws = 0

    /// - Parameters:
    ///   - total: the last step (at least 1).
    ///   - startStep: where a resumed run starts (rates count from here).
    ///   - fileDescriptor: where to write (standard error by default).
    ///   - isTTY: override the `isatty` test.
    ///   - clock: monotonic seconds (tests inject one).
    public init(total: Int, startStep: Int = 0, fileDescriptor: Int32 = STDERR_FILENO, isTTY: Bool? = nil,
                width: Int = 24, clock: @escaping () -> Double = ProgressBar.monotonicClock) {
        self.total = max(total, 1)
        self.fd = fileDescriptor
        self.isTTY = isTTY ?? (isatty(fileDescriptor) == 1)
        self.width = max(width, 0)
        self.clock = clock
        self.startStep = startStep
        self.step = startStep
        startTime = clock()
        sampleTime = startTime
        sampleStep = startStep
        lastDecile = Int(Double(startStep) / Double(max(total, 1)) * 10)
        returns = [Double](repeating: 0, count: 100)
        buffer = []
        buffer.reserveCapacity(256)
    }

    /// Adds an episode's return to the recent mean shown when `update` gets none.
    public func recordEpisode(return value: Double) {
        returns[returnsNext] = value
        returnsNext = (returnsNext + 1) % returns.count
        returnsCount = min(returnsCount + 1, returns.count)
    }

    /// Sets the current step (and optionally the recent mean return) and redraws when due.
    public func update(step: Int, meanReturn: Double? = nil) {
        self.step = step
        if let meanReturn { self.meanReturn = meanReturn }
        let now = clock()
        sampleRate(now)
        if isTTY {
            if now - lastDraw >= 0.1 || step >= total {
                lastDraw = now
                draw(now: now, newline: false)
            }
        } else {
            let decile = Int(Double(step) / Double(total) * 10)
            if decile > lastDecile {
                lastDecile = decile
                draw(now: now, newline: true)
            }
        }
    }

    /// Draws the final state and ends the line. Further calls do nothing.
    public func finish() {
        guard !finished else { return }
        finished = true
        let now = clock()
        sampleRate(now)
        if isTTY {
            draw(now: now, newline: true)
        } else if lastDrawnStep != step {
            draw(now: now, newline: true)
        }
    }

    /// Monotonic seconds.
    public static func monotonicClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    // MARK: - Rendering

    /// Steps per second, averaged over about five seconds.
    private func sampleRate(_ now: Double) {
        let dt = now - sampleTime
        guard dt >= 0.1 else {
            if rate.isNaN, now > startTime, step > startStep { rate = Double(step - startStep) / (now - startTime) }
            return
        }
        let instant = Double(step - sampleStep) / dt
        if rate.isNaN {
            rate = instant
        } else {
            let alpha = 1 - exp(-dt / 5)
            rate += alpha * (instant - rate)
        }
        sampleTime = now
        sampleStep = step
    }

    private func draw(now: Double, newline: Bool) {
        render()
        if newline { buffer.append(10) }
        buffer.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return }  // a closed stderr is not fatal
                off += n
            }
        }
        draws += 1
        lastDrawnStep = step
    }

    /// Formats the current line into `buffer` (without the final newline).
    func render() {
        buffer.removeAll(keepingCapacity: true)
        let fraction = min(max(Double(step) / Double(total), 0), 1)
        if isTTY {
            buffer.append(13)  // \r
            if width > 0 {
                buffer.append(UInt8(ascii: "["))
                let filled = Int(fraction * Double(width))
                for i in 0..<width { buffer.append(i < filled ? UInt8(ascii: "#") : UInt8(ascii: "-")) }
                buffer.append(UInt8(ascii: "]"))
                appendLiteral("  ")
            }
        }
        appendInt(step)
        buffer.append(UInt8(ascii: "/"))
        appendInt(total)
        appendLiteral("  ")
        appendFixed(fraction * 100, decimals: 1)
        buffer.append(UInt8(ascii: "%"))
        appendLiteral("  ")
        if rate.isFinite && rate >= 0 {
            appendFixed(rate, decimals: rate >= 100 ? 0 : 1)
        } else {
            buffer.append(UInt8(ascii: "-"))
        }
        appendLiteral(" steps/s  return ")
        let r = currentReturn()
        if r.isNaN { buffer.append(UInt8(ascii: "-")) } else { appendFixed(r, decimals: 2) }
        appendLiteral("  ETA ")
        if step >= total {
            appendDuration(0)
        } else if rate.isFinite && rate > 0 {
            appendDuration(Double(total - step) / rate)
        } else {
            appendLiteral("-:--")
        }
        if isTTY { appendLiteral("\u{1B}[K") }  // clear to end of line
    }

    /// The rendered line as text (for tests).
    var line: String {
        render()
        return String(decoding: buffer, as: UTF8.self)
    }

    private func currentReturn() -> Double {
        if !meanReturn.isNaN || returnsCount == 0 { return meanReturn }
        var s = 0.0
        for i in 0..<returnsCount { s += returns[i] }
        return s / Double(returnsCount)
    }

    private func appendLiteral(_ s: StaticString) {
        s.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    private func appendInt(_ v: Int) {
        if v < 0 { buffer.append(UInt8(ascii: "-")) }
        appendUInt(v.magnitude)
    }

    private func appendUInt(_ v: UInt, minDigits: Int = 1) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(x % 10)
                x /= 10
                n += 1
            } while x > 0
            while n < minDigits { d[n] = UInt8(ascii: "0"); n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { buffer.append(d[i]) }
        }
    }

    /// A fixed-point number; magnitudes beyond 1e15 print as `>1e15`.
    private func appendFixed(_ v: Double, decimals: Int) {
        guard v.isFinite else {
            appendLiteral(v.isNaN ? "nan" : (v < 0 ? "-inf" : "inf"))
            return
        }
        guard abs(v) < 1e15 else { appendLiteral(v < 0 ? "<-1e15" : ">1e15"); return }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(v) * scale).rounded()
        if v < 0 && scaled > 0 { buffer.append(UInt8(ascii: "-")) }
        let whole = UInt(scaled / scale)
        appendUInt(whole)
        if decimals > 0 {
            buffer.append(UInt8(ascii: "."))
            appendUInt(UInt(scaled - Double(whole) * scale), minDigits: decimals)
        }
    }

    /// `M:SS` or `H:MM:SS`; beyond 99 days `>99d`.
    private func appendDuration(_ seconds: Double) {
        guard seconds.isFinite, seconds < 99 * 86400 else { appendLiteral(">99d"); return }
        let s = UInt(max(seconds, 0).rounded())
        let h = s / 3600, m = (s / 60) % 60, sec = s % 60
        if h > 0 {
            appendUInt(h)
            buffer.append(UInt8(ascii: ":"))
            appendUInt(m, minDigits: 2)
        } else {
            appendUInt(m)
        }
        buffer.append(UInt8(ascii: ":"))
        appendUInt(sec, minDigits: 2)
    }
}
