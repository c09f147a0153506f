import Foundation

/// Line plots of a trace's request rate over time, as standalone SVG.
public enum RatePlot {
    /// The most windows a plot may have (one polyline point per window).
    public static let maxWindows = 200_000

    /// An SVG picture of the request rate (requests per second in each window of
    /// `windowSeconds`) over the trace: the whole trace as a dark line and the
    /// `streams` busiest streams (by request count) in distinct colours, with a
    /// title, axes with tick labels (time in seconds, minutes or hours depending on
    /// the duration; rate in req/s), gridlines and a legend.
    ///
    /// Each line is one `<polyline>` with one point per window, at the window's
    /// middle; the rate of the last, possibly partial, window is its count divided by
    /// the part of it inside the trace. Stream lines are drawn only when the trace has
    /// more than one stream. All text is XML-escaped.
    ///
    /// - Parameters:
    ///   - title: the title; by default the source file and window width.
    /// - Throws: ``TraceAnalysisError`` if the window is not a positive finite width,
    ///   gives more than ``maxWindows`` windows, `streams` is negative, or the trace is invalid.
    public static func svg(_ trace: Trace, windowSeconds: Double, streams: Int = 3, title: String? = nil) throws -> String {
        let w = try windowMicroseconds(windowSeconds)
        guard streams >= 0 else { throw TraceAnalysisError("number of streams to plot must be >= 0, got \(streams)") }
        do { try trace.validate() } catch let e as TraceError { throw TraceAnalysisError(e.message) }
        let n = windowCount(duration: trace.duration, width: w)
        guard n <= maxWindows else {
            throw TraceAnalysisError("a \(windowSeconds) s window gives \(n) windows over this trace; at most \(maxWindows) can be plotted (use a wider window)")
        }

        // Series: overall, then the top-K streams.
        let s = trace.streams.count
        var perStream = [Int](repeating: 0, count: s)
        for id in trace.streamIDs { perStream[Int(id)] += 1 }
        let k = s > 1 ? min(streams, s) : 0
        // Busiest first, ties by index (split up: one expression was slow to type-check).
        let byCount = (0..<s).sorted { (a: Int, b: Int) -> Bool in
            perStream[a] != perStream[b] ? perStream[a] > perStream[b] : a < b
        }
        let top = byCount.prefix(k).filter { perStream[$0] > 0 }
        var slot = [Int](repeating: -1, count: s)
        for (i, j) in top.enumerated() { slot[j] = i + 1 }
        var counts = [[Int]](repeating: [Int](repeating: 0, count: n), count: top.count + 1)
        for (i, t) in trace.arrivals.enumerated() {
            let b = Int(t / w)
            counts[0][b] += 1
            let sl = slot[Int(trace.streamIDs[i])]
            if sl > 0 { counts[sl][b] += 1 }
        }
        let durS = Double(trace.duration) / 1e6
        let wS = Double(w) / 1e6
        let widths = (0..<n).map { i in Double(min(w, trace.duration - Int64(i) * w)) / 1e6 }
        let mids = (0..<n).map { i in Double(i) * wS + widths[i] / 2 }
        let rates = counts.map { c in (0..<n).map { Double(c[$0]) / widths[$0] } }
        let maxRate = rates.map { $0.max() ?? 0 }.max() ?? 0

        // Geometry.
        let width = 1040.0, height = 520.0
        let left = 78.0, right = width - 260, top0 = 64.0, bottom = height - 58
        let (unit, unitName): (Double, String) = durS <= 180 ? (1, "s") : durS <= 3 * 3600 ? (60, "min") : (3600, "h")
        let xMax = durS / unit
        let xTicks = niceTicks(upTo: xMax)
        let yTicks = niceTicks(upTo: maxRate > 0 ? maxRate * 1.05 : 1)
        let yMax = max(yTicks.last ?? 1, maxRate > 0 ? maxRate * 1.05 : 1)
        func X(_ t: Double) -> Double { left + (t / unit) / xMax * (right - left) }
        func Y(_ r: Double) -> Double { bottom - r / yMax * (bottom - top0) }

        var o: [String] = []
        o.append(##"<?xml version="1.0" encoding="UTF-8"?>"##)
        o.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"##)
        let heading = title ?? "\(trace.metadata.sourceFile.isEmpty ? "trace" : trace.metadata.sourceFile): request rate per \(windowLabel(windowSeconds)) window"
        o.append("<title>\(xmlEscape(heading))</title>")
        o.append(##"<rect x="0" y="0" width="\##(Int(width))" height="\##(Int(height))" fill="#ffffff"/>"##)
        o.append(##"<text x="\##(left)" y="26" font-size="17" font-weight="bold" fill="#111">\##(xmlEscape(heading))</text>"##)
        let sub = "\(trace.count) requests over \(humanDuration(durS)), mean \(fixed(trace.meanRate, 3)) req/s, peak \(fixed(maxRate, 2)) req/s (\(windowLabel(windowSeconds)) windows)"
        o.append(##"<text x="\##(left)" y="46" font-size="12" fill="#555">\##(xmlEscape(sub))</text>"##)

        // Grid and ticks.
        o.append(##"<g stroke="#e3e3e3" stroke-width="1">"##)
        for v in yTicks { o.append(##"<line x1="\##(f1(left))" y1="\##(f1(Y(v)))" x2="\##(f1(right))" y2="\##(f1(Y(v)))"/>"##) }
        for v in xTicks { o.append(##"<line x1="\##(f1(X(v * unit)))" y1="\##(f1(top0))" x2="\##(f1(X(v * unit)))" y2="\##(f1(bottom))"/>"##) }
        o.append("</g>")
        o.append(##"<g fill="#333" font-size="11">"##)
        for v in yTicks {
            o.append(##"<text x="\##(f1(left - 6))" y="\##(f1(Y(v) + 4))" text-anchor="end">\##(tickLabel(v))</text>"##)
        }
        for v in xTicks {
            o.append(##"<text x="\##(f1(X(v * unit)))" y="\##(f1(bottom + 16))" text-anchor="middle">\##(tickLabel(v))</text>"##)
        }
        o.append("</g>")
        o.append(##"<rect x="\##(f1(left))" y="\##(f1(top0))" width="\##(f1(right - left))" height="\##(f1(bottom - top0))" fill="none" stroke="#555" stroke-width="1"/>"##)
        o.append(##"<text x="\##(f1((left + right) / 2))" y="\##(f1(height - 18))" text-anchor="middle" fill="#222">time (\##(unitName))</text>"##)
        o.append(##"<text transform="translate(20 \##(f1((top0 + bottom) / 2))) rotate(-90)" text-anchor="middle" fill="#222">request rate (req/s)</text>"##)

        // Lines: streams first, the whole trace on top.
        let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
        func polyline(_ r: [Double], colour: String, width: Double, label: String) -> String {
            var pts = ""
            pts.reserveCapacity(n * 14)
            for i in 0..<n {
                if i > 0 { pts += " " }
                pts += f1(X(mids[i])) + "," + f1(Y(r[i]))
            }
            return ##"<polyline fill="none" stroke="\##(colour)" stroke-width="\##(width)" stroke-linejoin="round" points="\##(pts)"><title>\##(xmlEscape(label))</title></polyline>"##
        }
        var legend: [(String, String, Double)] = [("#222222", "all requests (\(fixed(trace.meanRate, 2)) req/s)", 2)]
        for (i, j) in top.enumerated().reversed() {
            o.append(polyline(rates[i + 1], colour: palette[i % palette.count], width: 1.2, label: trace.streams[j].name))
        }
        for (i, j) in top.enumerated() {
            let share = trace.count > 0 ? 100 * Double(perStream[j]) / Double(trace.count) : 0
            legend.append((palette[i % palette.count], "\(shorten(trace.streams[j].name, 18)) (\(fixed(share, 1))%)", 1.2))
        }
        o.append(polyline(rates[0], colour: "#222222", width: 1.6, label: "all requests"))

        // Legend.
        let lx = right + 18
        o.append(##"<g font-size="12" fill="#222">"##)
        for (i, item) in legend.enumerated() {
            let y = top0 + 10 + Double(i) * 20
            o.append(##"<line x1="\##(f1(lx))" y1="\##(f1(y))" x2="\##(f1(lx + 22))" y2="\##(f1(y))" stroke="\##(item.0)" stroke-width="\##(item.2 + 1)"/>"##)
            o.append(##"<text x="\##(f1(lx + 28))" y="\##(f1(y + 4))">\##(xmlEscape(item.1))</text>"##)
        }
        if s > 1, top.count < s {
            let y = top0 + 10 + Double(legend.count) * 20
            o.append(##"<text x="\##(f1(lx))" y="\##(f1(y + 4))" fill="#777">+ \##(s - top.count) more stream\##(s - top.count == 1 ? "" : "s") (in "all")</text>"##)
        }
        o.append("</g>")
        o.append("</svg>")
        return o.joined(separator: "\n") + "\n"
    }
}

/// Escapes `& < > " '` for XML text and attribute values.
func xmlEscape(_ s: String) -> String {
    var r = ""
    r.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": r += "&amp;"
        case "<": r += "&lt;"
        case ">": r += "&gt;"
        case "\"": r += "&quot;"
        case "'": r += "&apos;"
        default:
            // Drop control characters XML 1.0 forbids.
            if let a = c.asciiValue, a < 32, a != 9, a != 10, a != 13 { continue }
            r.append(c)
        }
    }
    return r
}

/// Ticks 0, step, 2·step, ... up to at least `maxValue`, with a 1-2-5 step giving about 5-8 ticks.
func niceTicks(upTo maxValue: Double) -> [Double] {
    guard maxValue > 0, maxValue.isFinite else { return [0, 1] }
    let raw = maxValue / 6
    let mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    var ticks: [Double] = []
    var i = 0.0
    while i * step <= maxValue * (1 + 1e-9) { ticks.append(i * step); i += 1 }
    return ticks
}

private func tickLabel(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e12 { return "\(Int(v))" }
    return String(format: "%g", v)
}

@inline(__always) private func f1(_ x: Double) -> String { String(format: "%.1f", x) }
