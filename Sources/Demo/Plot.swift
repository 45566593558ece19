import Datasets
import Foundation
import Training
import Models

/// A small line chart rendered as standalone SVG (for run reports): several series, axes with
/// round-number ticks, axis labels, a title and a legend. Non-finite points break a line.
public struct LinePlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// CSS colour; nil picks from the default palette.
        public var color: String?
        public init(name: String, points: [(x: Double, y: Double)], color: String? = nil) {
            self.name = name
            self.points = points
            self.color = color
        }
        /// Points at x = 0, 1, 2, …
        public init(name: String, values: [Double], color: String? = nil) {
            self.init(
                name: name, points: values.enumerated().map { (Double($0.offset), $0.element) }, color: color)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 640
    public var height = 400
    /// Logarithmic y axis (positive values only; others are dropped).
    public var logY = false

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    ]

    public func svg() -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
        let legendWidth = series.count > 1 ? 150.0 : 0
        let plotW = Double(width) - left - right - legendWidth, plotH = Double(height) - top - bottom
        func ty(_ y: Double) -> Double? { logY ? (y > 0 ? log10(y) : nil) : y }

        let finite = series.flatMap(\.points).compactMap { p -> (Double, Double)? in
            guard p.x.isFinite, let y = ty(p.y), y.isFinite else { return nil }
            return (p.x, y)
        }
        var (x0, x1) = Self.range(finite.map(\.0))
        var (y0, y1) = Self.range(finite.map(\.1))
        let xTicks = Self.ticks(x0, x1), yTicks = logY ? Self.logTicks(y0, y1) : Self.ticks(y0, y1)
        if let f = xTicks.first, let l = xTicks.last { x0 = min(x0, f); x1 = max(x1, l) }
        if !logY, let f = yTicks.first, let l = yTicks.last { y0 = min(y0, f); y1 = max(y1, l) }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - y0) / (y1 - y0) * plotH }

        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left + plotW / 2))" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(Self.escape(title))</text>

            """
        // Grid and tick labels.
        for t in xTicks where t >= x0 && t <= x1 {
            s +=
                "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            s +=
                "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in yTicks where t >= y0 - 1e-12 && t <= y1 + 1e-12 {
            s +=
                "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            s +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(Self.label(logY ? pow(10, t) : t))</text>\n"
        }
        // Axes and their labels.
        s +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        s +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        s +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(Double(height) - 12))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s +=
            "<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">\(Self.escape(yLabel))</text>\n"

        // Series: one polyline per run of finite points.
        for (i, series) in self.series.enumerated() {
            let color = series.color ?? Self.palette[i % Self.palette.count]
            var runs: [[String]] = [[]]
            for p in series.points {
                if p.x.isFinite, let y = ty(p.y), y.isFinite {
                    runs[runs.count - 1].append("\(f(px(p.x))),\(f(py(y)))")
                } else if !runs[runs.count - 1].isEmpty {
                    runs.append([])
                }
            }
            for run in runs where !run.isEmpty {
                if run.count == 1 {
                    let xy = run[0].split(separator: ",")
                    s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>\n"
                } else {
                    s +=
                        "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(run.joined(separator: " "))\"/>\n"
                }
            }
            if self.series.count > 1 {
                let lx = left + plotW + 15, ly = top + 10 + Double(i) * 18
                s +=
                    "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 20))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2.5\"/>\n"
                s += "<text x=\"\(f(lx + 26))\" y=\"\(f(ly + 4))\">\(Self.escape(series.name))</text>\n"
            }
        }
        s += "</svg>\n"
        return s
    }

    /// Writes the SVG atomically.
    public func write(to url: URL) throws(AtomicFileError) {
        try AtomicFileWriter.write(Data(svg().utf8), to: url)
    }

    // MARK: helpers

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func range(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 1) }
        if lo == hi { return (lo - max(1, abs(lo) * 0.1), hi + max(1, abs(hi) * 0.1)) }
        return (lo, hi)
    }

    /// About five round ticks (1, 2, 5 × 10^k) covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        return stride(from: first, through: last + step / 2, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
    }

    /// Integer powers of ten spanning [lo, hi] (in log10 units); falls back to linear ticks.
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let ticks = stride(from: ceil(lo), through: floor(hi), by: 1).map { $0 }
        return ticks.count >= 2 ? ticks : Self.ticks(lo, hi)
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e5 || abs(v) < 1e-3 { return String(format: "%.0e", v) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: "%g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
