import Foundation

/// Small, dependency-free SVG charts for reports: line charts (several series over a shared
/// x axis, optionally as steps) and horizontal bar charts. Output opens in any browser and in
/// Jupyter (`IPython.display.SVG`).
public enum SVGChart {
    /// One line of a line chart.
    public struct Series: Sendable {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        /// Draw as a step function (value holds until the next x).
        public var steps: Bool
        public var width: Double

        public init(label: String, x: [Double], y: [Double], steps: Bool = false, width: Double = 1.4) {
            precondition(x.count == y.count, "SVGChart.Series \(label): x and y must have the same length")
            self.label = label
            self.x = x
            self.y = y
            self.steps = steps
            self.width = width
        }
    }

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// A line chart. `yTickLabels` replaces numeric y ticks with names at 0, 1, 2, ...
    /// (for categorical series such as the variant held).
    public static func lines(title: String, subtitle: String = "", xLabel: String, yLabel: String,
                             series: [Series], yTickLabels: [String]? = nil, height: Double = 420) -> String {
        let width = 1040.0
        let left = yTickLabels == nil ? 78.0 : 170.0, right = width - 250, top0 = 64.0, bottom = height - 58
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y).filter(\.isFinite)
        let xMin = xs.min() ?? 0, xMaxRaw = xs.max() ?? 1
        let xMax = xMaxRaw > xMin ? xMaxRaw : xMin + 1
        var yMin = min(0, ys.min() ?? 0), yMax = max(ys.max() ?? 1, yMin + 1e-9)
        if let labels = yTickLabels { yMin = -0.5; yMax = Double(labels.count) - 0.5 } else { yMax *= 1.05 }
        func X(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * (right - left) }
        func Y(_ v: Double) -> Double { bottom - (v - yMin) / (yMax - yMin) * (bottom - top0) }
        var o = header(width: width, height: height, title: title, subtitle: subtitle, left: left)
        // Grid and ticks.
        let yTicks: [(Double, String)] = yTickLabels.map { l in l.indices.map { (Double($0), l[$0]) } }
            ?? ticks(from: yMin, to: yMax).map { ($0, label($0)) }
        let xTicks = ticks(from: xMin, to: xMax)
        o.append(##"<g stroke="#e3e3e3" stroke-width="1">"##)
        for (v, _) in yTicks { o.append(##"<line x1="\##(f1(left))" y1="\##(f1(Y(v)))" x2="\##(f1(right))" y2="\##(f1(Y(v)))"/>"##) }
        for v in xTicks { o.append(##"<line x1="\##(f1(X(v)))" y1="\##(f1(top0))" x2="\##(f1(X(v)))" y2="\##(f1(bottom))"/>"##) }
        o.append("</g>")
        o.append(##"<g fill="#333" font-size="11">"##)
        for (v, l) in yTicks { o.append(##"<text x="\##(f1(left - 6))" y="\##(f1(Y(v) + 4))" text-anchor="end">\##(xmlEscape(l))</text>"##) }
        for v in xTicks { o.append(##"<text x="\##(f1(X(v)))" y="\##(f1(bottom + 16))" text-anchor="middle">\##(label(v))</text>"##) }
        o.append("</g>")
        o.append(frame(left: left, right: right, top: top0, bottom: bottom, height: height, xLabel: xLabel, yLabel: yLabel))
        for (i, s) in series.enumerated() {
            var pts: [String] = []
            for k in s.x.indices where s.y[k].isFinite {
                if s.steps, k > 0, s.y[k - 1].isFinite { pts.append(f1(X(s.x[k])) + "," + f1(Y(s.y[k - 1]))) }
                pts.append(f1(X(s.x[k])) + "," + f1(Y(s.y[k])))
            }
            let colour = palette[i % palette.count]
            o.append(##"<polyline fill="none" stroke="\##(colour)" stroke-width="\##(s.width)" stroke-linejoin="round" points="\##(pts.joined(separator: " "))"><title>\##(xmlEscape(s.label))</title></polyline>"##)
        }
        o.append(legend(series.map(\.label), x: right + 18, top: top0))
        o.append("</svg>")
        return o.joined(separator: "\n") + "\n"
    }

    /// A horizontal bar chart, one bar per label, with the value printed at the bar's end.
    public static func bars(title: String, subtitle: String = "", valueLabel: String, labels: [String], values: [Double]) -> String {
        precondition(labels.count == values.count, "SVGChart.bars: one value per label")
        let rowH = 26.0
        let width = 1040.0, height = 120 + rowH * Double(labels.count)
        let left = 220.0, right = width - 120, top0 = 64.0, bottom = height - 44
        let finite = values.filter(\.isFinite)
        let lo = min(0, finite.min() ?? 0), hi = max(0, finite.max() ?? 1)
        let span = hi > lo ? hi - lo : 1
        func X(_ v: Double) -> Double { left + (v - lo) / span * (right - left) }
        var o = header(width: width, height: height, title: title, subtitle: subtitle, left: left)
        o.append(##"<line x1="\##(f1(X(0)))" y1="\##(f1(top0))" x2="\##(f1(X(0)))" y2="\##(f1(bottom))" stroke="#555"/>"##)
        for (i, (l, v)) in zip(labels, values).enumerated() {
            let y = top0 + Double(i) * rowH
            let x0 = X(min(0, v)), x1 = X(max(0, v))
            o.append(##"<text x="\##(f1(left - 8))" y="\##(f1(y + rowH * 0.65))" text-anchor="end" fill="#222">\##(xmlEscape(l))</text>"##)
            if v.isFinite {
                o.append(##"<rect x="\##(f1(x0))" y="\##(f1(y + 4))" width="\##(f1(max(1, x1 - x0)))" height="\##(f1(rowH - 8))" fill="\##(palette[i % palette.count])"><title>\##(xmlEscape("\(l): \(v)"))</title></rect>"##)
                o.append(##"<text x="\##(f1(x1 + 6))" y="\##(f1(y + rowH * 0.65))" fill="#222" font-size="11">\##(String(format: "%.4g", v))</text>"##)
            }
        }
        o.append(##"<text x="\##(f1((left + right) / 2))" y="\##(f1(height - 14))" text-anchor="middle" fill="#222">\##(xmlEscape(valueLabel))</text>"##)
        o.append("</svg>")
        return o.joined(separator: "\n") + "\n"
    }

    static func header(width: Double, height: Double, title: String, subtitle: String, left: Double) -> [String] {
        [##"<?xml version="1.0" encoding="UTF-8"?>"##,
         ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"##,
         "<title>\(xmlEscape(title))</title>",
         ##"<rect x="0" y="0" width="\##(Int(width))" height="\##(Int(height))" fill="#ffffff"/>"##,
         ##"<text x="\##(left)" y="26" font-size="17" font-weight="bold" fill="#111">\##(xmlEscape(title))</text>"##,
         ##"<text x="\##(left)" y="46" font-size="12" fill="#555">\##(xmlEscape(subtitle))</text>"##]
    }

    static func frame(left: Double, right: Double, top: Double, bottom: Double, height: Double, xLabel: String, yLabel: String) -> String {
        [##"<rect x="\##(f1(left))" y="\##(f1(top))" width="\##(f1(right - left))" height="\##(f1(bottom - top))" fill="none" stroke="#555" stroke-width="1"/>"##,
         ##"<text x="\##(f1((left + right) / 2))" y="\##(f1(height - 18))" text-anchor="middle" fill="#222">\##(xmlEscape(xLabel))</text>"##,
         ##"<text transform="translate(18 \##(f1((top + bottom) / 2))) rotate(-90)" text-anchor="middle" fill="#222">\##(xmlEscape(yLabel))</text>"##]
            .joined(separator: "\n")
    }

    static func legend(_ labels: [String], x: Double, top: Double) -> String {
        var o = [##"<g font-size="12" fill="#222">"##]
        for (i, l) in labels.enumerated() {
            let y = top + 10 + Double(i) * 20
            o.append(##"<line x1="\##(f1(x))" y1="\##(f1(y))" x2="\##(f1(x + 22))" y2="\##(f1(y))" stroke="\##(palette[i % palette.count])" stroke-width="2.5"/>"##)
            o.append(##"<text x="\##(f1(x + 28))" y="\##(f1(y + 4))">\##(xmlEscape(String(l.prefix(30))))</text>"##)
        }
        o.append("</g>")
        return o.joined(separator: "\n")
    }

    static func ticks(from lo: Double, to hi: Double) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / 6
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var v = (lo / step).rounded(.up) * step
        while v <= hi * (1 + 1e-12) + 1e-12 { out.append(v); v += step }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e9 { return "\(Int(v))" }
        return String(format: "%g", v)
    }

    @inline(__always) static func f1(_ x: Double) -> String { String(format: "%.1f", x) }
}
